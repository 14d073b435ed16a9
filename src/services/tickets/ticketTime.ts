/**
 * Amending the time on a ticket: `ticket.time` is the sum of its segments, corrections
 * included, and its points follow.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { inTransaction } from '../../db/transaction';
import { TimeSegment } from '../../models/TimeSegment';
import { syncTicketPoints } from '../contracts/points';
import { loadTicket } from './loadTicket';

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
    await syncTicketPoints(t, ticket.id);
  });
}
