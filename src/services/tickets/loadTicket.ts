import type { Knex } from 'knex';
import { notFound } from '../../errors';
import { conn } from '../../db/transaction';
import { Ticket } from '../../models/Ticket';

/** The ticket with that id, locked for update when inside a transaction; 404 otherwise. */
export async function loadTicket(trx: Knex | undefined, id: number, opts: { lock?: boolean } = {}): Promise<Ticket> {
  const q = Ticket.query(conn(trx)).findById(id);
  if (opts.lock) q.forUpdate();
  const ticket = await q;
  if (!ticket) throw notFound('ticket', id);
  return ticket;
}

/** The ids of a ticket's contacts, primary first. */
export async function ticketContactIds(trx: Knex | undefined, ticket: Pick<Ticket, 'id' | 'contact_id'>): Promise<number[]> {
  const rows: { contact_id: number }[] = await conn(trx)('ticket_contacts').where({ ticket_id: ticket.id }).orderBy('contact_id').select('contact_id');
  const ids = rows.map((r) => r.contact_id);
  if (ticket.contact_id && ids.includes(ticket.contact_id)) {
    return [ticket.contact_id, ...ids.filter((i) => i !== ticket.contact_id)];
  }
  return ids;
}
