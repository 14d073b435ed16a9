/**
 * Closing, opening, reopening, freeing and assigning a ticket. `setAssignee` and
 * `closeLocked` are the one place each rule lives: every route that assigns or closes
 * (`PUT /tickets/{id}` with `assignee_id` or `close`, the assign, free and close routes, a
 * reply that closes, the closing jobs) goes through them.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { inTransaction } from '../../db/transaction';
import { AppError, notFound } from '../../errors';
import type { Ticket } from '../../models/Ticket';
import { User } from '../../models/User';
import { ticketBlobs } from '../attachments/attachments';
import { releaseBlob } from '../blobs/blobStore';
import { refreshContractPoints } from '../contracts/points';
import { queueAgentMail } from '../outbox/notifications';
import { loadTicket } from './loadTicket';

/** Closes a ticket locked in `t` now; a pending closure request is settled by it. A closed ticket stays as it is. */
export async function closeLocked(t: Knex, ticket: Ticket): Promise<Ticket> {
  if (!ticket.open) return ticket;
  return ticket.$query(t).patchAndFetch({ open: false, closed_at: now(), closure: false, closure_requested_at: null });
}

/** Closes the ticket now; a pending closure request is settled by it. */
export async function closeTicket(id: number, trx?: Knex): Promise<Ticket> {
  return inTransaction(trx, async (t) => closeLocked(t, await loadTicket(t, id, { lock: true })));
}

/** `reopen_count` of an update that opens the ticket: one more when the row was closed (SQL reads the old `open`). */
function countReopen(t: Knex) {
  return t.raw('reopen_count + (case when open then 0 else 1 end)') as unknown as number;
}

/** Cancels a pending closure request and opens the ticket if it was closed. */
export async function reopenTicket(id: number, trx?: Knex): Promise<Ticket> {
  return inTransaction(trx, async (t) => {
    const ticket = await loadTicket(t, id, { lock: true });
    return ticket.$query(t).patchAndFetch({ open: true, closed_at: null, closure: false, closure_requested_at: null, reopen_count: countReopen(t) });
  });
}

/**
 * Opens the ticket; when a closure is pending this is a reopen (the closure is cancelled)
 * and the caller answers as `reopen` does.
 */
export async function openTicket(id: number, trx?: Knex): Promise<{ ticket: Ticket; wasPendingClosure: boolean }> {
  return inTransaction(trx, async (t) => {
    const ticket = await loadTicket(t, id, { lock: true });
    if (ticket.closure) return { ticket: await reopenTicket(id, t), wasPendingClosure: true };
    const opened = await ticket.$query(t).patchAndFetch({ open: true, closed_at: null, reopen_count: countReopen(t) });
    return { ticket: opened, wasPendingClosure: false };
  });
}

/**
 * Gives a ticket locked in `t` to `assignee` (an active user; 400 otherwise), or frees it
 * (null), on behalf of `actorId`. A new assignee hears of it by mail unless they assigned
 * themselves. Giving it to the one who has it already changes nothing and sends nothing.
 */
export async function setAssignee(t: Knex, ticket: Ticket, assignee: User | null, actorId: number | null): Promise<Ticket> {
  if (assignee && !assignee.active) {
    throw new AppError(400, 'validation_failed', 'the assignee is not an active user', {
      fields: { assignee_id: 'is not an active user' },
    });
  }
  if ((assignee?.id ?? null) === ticket.assignee_id) return ticket;
  if (!assignee) return ticket.$query(t).patchAndFetch({ assignee_id: null, assigned_by: null, assigned_at: null });
  const updated = await ticket.$query(t).patchAndFetch({ assignee_id: assignee.id, assigned_by: actorId, assigned_at: now() });
  await queueAgentMail(t, updated, new Map([[assignee.id, 'ticket_assigned']]), {
    exceptUserId: actorId ?? undefined,
    data: { assigned_by: actorId },
  });
  return updated;
}

/** Removes the assignee. */
export async function freeTicket(id: number, trx?: Knex): Promise<Ticket> {
  return inTransaction(trx, async (t) => setAssignee(t, await loadTicket(t, id, { lock: true }), null, null));
}

/** Assigns the ticket to `assigneeId` (404 when no such user, as the seed says); see setAssignee. */
export async function assignTicket(opts: { id: number; assigneeId: number; actorId: number }, trx?: Knex): Promise<User> {
  return inTransaction(trx, async (t) => {
    const ticket = await loadTicket(t, opts.id, { lock: true });
    const assignee = await User.query(t).findById(opts.assigneeId);
    if (!assignee) throw notFound('user', opts.assigneeId);
    await setAssignee(t, ticket, assignee, opts.actorId);
    return assignee;
  });
}

/**
 * Deletes the ticket; its replies, contact links, time, message ids and attachments go
 * with it, and the files nothing else uses. Its contract gets the points back.
 */
export async function deleteTicket(id: number, trx?: Knex): Promise<void> {
  await inTransaction(trx, async (t) => {
    const ticket = await loadTicket(t, id, { lock: true });
    const blobs = await ticketBlobs(t, ticket.id);
    await ticket.$query(t).delete();
    for (const sha of blobs) await releaseBlob(t, sha);
    if (ticket.contract_id) await refreshContractPoints(t, ticket.contract_id);
  });
}
