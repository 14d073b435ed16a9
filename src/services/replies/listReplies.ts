import type { Knex } from 'knex';
import { now } from '../../clock';
import { conn } from '../../db/transaction';
import { type Page, type PageRequest, fetchModelPage } from '../../db/pagination';
import { Reply } from '../../models/Reply';
import { loadTicket } from '../tickets/loadTicket';
import { type DetailedReply, attachAuthors } from '../tickets/ticketDetail';

/** A ticket's replies, oldest first, with their authors; 404 for an unknown ticket. */
export async function listReplies(opts: { ticketId: number; page: PageRequest }, trx?: Knex): Promise<Page<DetailedReply>> {
  await loadTicket(trx, opts.ticketId);
  const page = await fetchModelPage(Reply.query(conn(trx)).where({ ticket_id: opts.ticketId }).orderBy('id'), opts.page);
  return { ...page, rows: await attachAuthors(trx, page.rows) };
}

/** Marks every unseen reply of the ticket as seen now; returns how many. */
export async function markRepliesRead(ticketId: number, trx?: Knex): Promise<number> {
  await loadTicket(trx, ticketId);
  return conn(trx)('replies').where({ ticket_id: ticketId }).whereNull('seen_at').update({ seen_at: now() });
}
