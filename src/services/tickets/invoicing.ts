/**
 * `POST /v1/tickets/invoicing`: a ticket, already closed, that records time spent for a
 * customer (and, with contracts, the points it costs).
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { inTransaction } from '../../db/transaction';
import { AppError } from '../../errors';
import type { Ticket } from '../../models/Ticket';
import { TimeSegment } from '../../models/TimeSegment';
import { syncTicketPoints } from '../contracts/points';
import { createTicket } from './createTicket';
import { CUSTOMER_TYPE, requireTicketable } from './ticketRules';

export interface InvoicingInput {
  ticketable_type: string;
  ticketable_id: number;
  time: number;
  reference?: string;
  ticket_date?: Date;
  contact_id?: number;
  actorId: number;
}

/** Where an invoicing ticket is filed: the first sub-category, at its default priority. */
async function invoicingDefaults(trx: Knex) {
  const sub = await trx('ticket_sub_categories').orderBy('id').first('id', 'ticket_category_id', 'priority_id');
  const priorityId = sub?.priority_id ?? (await trx('priorities').orderBy('level').first('id'))?.id;
  if (!sub || !priorityId) {
    throw new AppError(409, 'conflict', 'invoicing needs at least one priority and one sub-category');
  }
  return {
    priority_id: priorityId as number,
    ticket_category_id: sub.ticket_category_id as number,
    ticket_sub_category_id: sub.id as number,
  };
}

export async function createInvoicingTicket(input: InvoicingInput, trx?: Knex): Promise<Ticket> {
  return inTransaction(trx, async (t) => {
    await requireTicketable(t, input.ticketable_type, input.ticketable_id);
    const day = input.ticket_date ?? now();
    const subject = input.reference ? `Invoicing: ${input.reference}` : 'Invoicing';
    const ticket = await createTicket(
      {
        ticketable_type: CUSTOMER_TYPE,
        ticketable_id: input.ticketable_id,
        subject,
        body: `<p>${subject}</p>`,
        ...(await invoicingDefaults(t)),
        contact_id: input.contact_id ?? null,
        close: true,
        author: { type: 'App\\User', id: input.actorId },
        openerId: input.actorId,
        origin: 'admin',
        opened_via: 'invoicing',
        openedAt: day,
      },
      t,
    );
    await TimeSegment.query(t).insert({
      ticket_id: ticket.id,
      user_id: input.actorId,
      kind: 'invoicing',
      started_at: day,
      ended_at: day,
      minutes: input.time,
      billable: true,
    });
    await syncTicketPoints(t, ticket.id);
    return ticket.$query(t);
  });
}
