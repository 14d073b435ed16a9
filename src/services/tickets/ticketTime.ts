/**
 * Time on a ticket: `ticket.time` is the sum of its segments, amendments included.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { inTransaction } from '../../db/transaction';
import { TimeSegment } from '../../models/TimeSegment';
import { loadTicket } from './loadTicket';

/** Recomputes `ticket.time` from its segments. */
export async function refreshTicketTime(trx: Knex, ticketId: number): Promise<number> {
  const [{ total }] = await trx('time_segments').where({ ticket_id: ticketId }).sum({ total: 'minutes' });
  const minutes = Number(total ?? 0);
  await trx('tickets').where({ id: ticketId }).update({ time: minutes, updated_at: now() });
  return minutes;
}

/** Adds a signed correction of `minutes` to the ticket's time. */
export async function amendTime(opts: { id: number; minutes: number; actorId: number }, trx?: Knex): Promise<void> {
  await inTransaction(trx, async (t) => {
    const ticket = await loadTicket(t, opts.id, { lock: true });
    const at = now();
    await TimeSegment.query(t).insert({
      ticket_id: ticket.id,
      user_id: opts.actorId,
      kind: 'amend',
      started_at: at,
      ended_at: at,
      minutes: opts.minutes,
      billable: ticket.billable,
    });
    await refreshTicketTime(t, ticket.id);
  });
}
