/**
 * Time segments: manual entries, tracked timers, amendments and invoicing time. Any change
 * re-syncs the ticket's time and points (and its contract) in the same transaction.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { conn, inTransaction } from '../../db/transaction';
import { AppError, invalid } from '../../errors';
import { type Page, type PageRequest, fetchModelPage } from '../../db/pagination';
import { TimeSegment } from '../../models/TimeSegment';
import { syncTicketPoints } from '../contracts/points';
import { found, requireReference } from '../lookup';
import { loadTicket } from '../tickets/loadTicket';

export interface SegmentFields {
  ticket_id?: number;
  user_id?: number | null;
  started_at?: Date | null;
  ended_at?: Date | null;
  minutes?: number;
  billable?: boolean;
  note?: string | null;
}

/** Whole minutes between two instants, rounded up (a started minute counts). */
export function minutesBetween(start: Date, end: Date): number {
  return Math.max(0, Math.ceil((end.getTime() - start.getTime()) / 60_000));
}

function withMinutes(fields: SegmentFields, existing?: TimeSegment): SegmentFields {
  const start = fields.started_at !== undefined ? fields.started_at : existing?.started_at;
  const end = fields.ended_at !== undefined ? fields.ended_at : existing?.ended_at;
  if (start && end && end < start) throw invalid({ ended_at: 'must not be before started_at' });
  if (fields.minutes === undefined && start && end && (fields.started_at !== undefined || fields.ended_at !== undefined)) {
    return { ...fields, minutes: minutesBetween(start, end) };
  }
  return fields;
}

export async function listSegments(opts: { page: PageRequest; ticket_id?: number; user_id?: number }, trx?: Knex): Promise<Page<TimeSegment>> {
  const q = TimeSegment.query(conn(trx)).orderBy('id');
  if (opts.ticket_id) q.where({ ticket_id: opts.ticket_id });
  if (opts.user_id) q.where({ user_id: opts.user_id });
  return fetchModelPage(q, opts.page);
}

export async function showSegment(id: number, trx?: Knex): Promise<TimeSegment> {
  return found(await TimeSegment.query(conn(trx)).findById(id), 'time segment', id);
}

export async function createSegment(fields: SegmentFields & { ticket_id: number }, actorId: number, trx?: Knex) {
  return inTransaction(trx, async (t) => {
    await requireReference(t, 'tickets', fields.ticket_id, 'ticket_id');
    await requireReference(t, 'users', fields.user_id, 'user_id');
    const values = withMinutes(fields);
    const row = await TimeSegment.query(t).insertAndFetch({
      kind: 'manual',
      minutes: 0,
      ...values,
      user_id: fields.user_id === undefined ? actorId : fields.user_id,
    } as Partial<TimeSegment>);
    await syncTicketPoints(t, row.ticket_id);
    return row.$query(t);
  });
}

export async function updateSegment(id: number, fields: SegmentFields, trx?: Knex): Promise<TimeSegment> {
  return inTransaction(trx, async (t) => {
    const existing = found(await TimeSegment.query(t).findById(id).forUpdate(), 'time segment', id);
    await requireReference(t, 'tickets', fields.ticket_id, 'ticket_id');
    await requireReference(t, 'users', fields.user_id, 'user_id');
    const row = await existing.$query(t).patchAndFetch(withMinutes(fields, existing) as Partial<TimeSegment>);
    await syncTicketPoints(t, row.ticket_id);
    if (row.ticket_id !== existing.ticket_id) await syncTicketPoints(t, existing.ticket_id);
    return row.$query(t);
  });
}

export async function deleteSegment(id: number, trx?: Knex): Promise<void> {
  await inTransaction(trx, async (t) => {
    const existing = found(await TimeSegment.query(t).findById(id).forUpdate(), 'time segment', id);
    await existing.$query(t).delete();
    await syncTicketPoints(t, existing.ticket_id);
  });
}

/** Closes the user's running timer, if any (optionally only when it runs on `ticketId`). */
async function stopRunning(t: Knex, userId: number, ticketId?: number): Promise<TimeSegment | undefined> {
  const q = TimeSegment.query(t).where({ user_id: userId, kind: 'tracked' }).whereNull('ended_at').forUpdate();
  if (ticketId) q.where({ ticket_id: ticketId });
  const running = await q.first();
  if (!running) return undefined;
  const at = now();
  const stopped = await running.$query(t).patchAndFetch({ ended_at: at, minutes: minutesBetween(running.started_at!, at) });
  await syncTicketPoints(t, running.ticket_id);
  return stopped;
}

/**
 * Starts the user's timer on `ticketId`, closing the timer they had running (one timer per
 * user), which is usually the one on `previousTicketId`.
 */
export async function startTracking(
  opts: { userId: number; ticketId: number; previousTicketId?: number },
  trx?: Knex,
): Promise<{ started: TimeSegment; stopped?: TimeSegment }> {
  return inTransaction(trx, async (t) => {
    const ticket = await loadTicket(t, opts.ticketId);
    if (opts.previousTicketId) await loadTicket(t, opts.previousTicketId);
    await t.raw('select pg_advisory_xact_lock(?, ?)', [727_002, opts.userId]);
    const stopped = await stopRunning(t, opts.userId);
    const started = await TimeSegment.query(t).insertAndFetch({
      ticket_id: ticket.id,
      user_id: opts.userId,
      kind: 'tracked',
      started_at: now(),
      minutes: 0,
      billable: ticket.billable,
    });
    return { started, stopped };
  });
}

/** Stops the user's running timer (only if it runs on `ticketId`, when given). */
export async function endTracking(opts: { userId: number; ticketId?: number }, trx?: Knex): Promise<TimeSegment> {
  return inTransaction(trx, async (t) => {
    if (opts.ticketId) await loadTicket(t, opts.ticketId);
    await t.raw('select pg_advisory_xact_lock(?, ?)', [727_002, opts.userId]);
    const stopped = await stopRunning(t, opts.userId, opts.ticketId);
    if (!stopped) {
      throw new AppError(409, 'no_running_timer', opts.ticketId ? `no timer of yours runs on ticket ${opts.ticketId}` : 'no timer of yours is running');
    }
    return stopped;
  });
}
