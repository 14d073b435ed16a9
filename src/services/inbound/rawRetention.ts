/**
 * Raw mail retention (RAW_MAIL_KEEP_DAYS): removes the stored originals of old messages
 * that no longer need them, and releases their blobs (a blob another row still uses
 * stays). The `inbound_emails` row stays, with `raw_sha256` cleared and `raw_removed_at` /
 * `raw_kept_days` set: the record of what became of the message, and its Message-ID, which
 * keeps a late copy from becoming a new ticket.
 *
 * A raw message is removed when it was received more than `keepDays` ago and
 * - its ticket is closed, or it has no ticket (never had one, or the ticket was deleted);
 * - it is not `quarantined` or `failed`: that mail still needs a person, and assigning or
 *   retrying it reads the original;
 * - it is not the evidence of an address on the suppression list (the bounce or complaint
 *   that put it there), which an admin may want to read before clearing the address.
 * A reopened ticket keeps what is left; a closed ticket's content is in its replies.
 *
 * Works in batches of at most BATCH messages and BATCH_BYTES of raw mail, each its own
 * short transaction (rows taken with SKIP LOCKED), so a run never holds a long one.
 */
import type { Knex } from 'knex';
import { registerBlobReference, releaseBlob } from '../blobs/blobStore';

// the pipeline registers it too; this module may run without it (`helpdesk jobs run`)
registerBlobReference('inbound_emails', 'raw_sha256');

const BATCH = 100;
const BATCH_BYTES = 64 * 1024 * 1024;
const DAY_MS = 86_400_000;

/** Outcomes whose raw message is never removed. */
export const KEPT_OUTCOMES = ['quarantined', 'failed'] as const;

export interface RetentionResult {
  /** Messages whose raw original was removed. */
  raw_removed: number;
  /** Blobs released (a blob shared with a row that keeps it is not). */
  blobs_released: number;
}

/** The messages whose raw may go, oldest id first, after `afterId`. */
function removable(trx: Knex, cutoff: Date, afterId: number): Knex.QueryBuilder {
  return trx('inbound_emails as ie')
    .whereNotNull('ie.raw_sha256')
    .where('ie.received_at', '<', cutoff)
    .where('ie.id', '>', afterId)
    .whereNotIn('ie.outcome', KEPT_OUTCOMES)
    .where((q) =>
      q
        .whereNull('ie.ticket_id')
        .orWhereExists((t) => t.select(trx.raw('1')).from('tickets').whereRaw('tickets.id = ie.ticket_id').where('tickets.open', false)),
    )
    .whereNotExists((u) => u.select(trx.raw('1')).from('undeliverable_addresses').whereRaw('undeliverable_addresses.inbound_email_id = ie.id'));
}

/**
 * Removes the raw originals older than `keepDays` before `at` (see the module comment);
 * `progress` hears after each batch.
 */
export async function removeOldRawMail(knex: Knex, opts: { keepDays: number; at: Date; progress?: (done: number) => void }): Promise<RetentionResult> {
  const cutoff = new Date(opts.at.getTime() - opts.keepDays * DAY_MS);
  const result: RetentionResult = { raw_removed: 0, blobs_released: 0 };
  let afterId = 0;
  for (;;) {
    const batch = await knex.transaction(async (trx) => {
      const found: { id: number; raw_sha256: string; size: string | number }[] = await removable(trx, cutoff, afterId)
        .orderBy('ie.id')
        .limit(BATCH)
        .forUpdate()
        .skipLocked()
        .select('ie.id', 'ie.raw_sha256', 'ie.size');
      // at least one, then as many as fit in BATCH_BYTES: the rest is the next batch's
      const taken: typeof found = [];
      let bytes = 0;
      for (const r of found) {
        bytes += Number(r.size);
        if (taken.length && bytes > BATCH_BYTES) break;
        taken.push(r);
      }
      if (taken.length === 0) return { last: undefined, removed: 0, released: 0 };
      await trx('inbound_emails')
        .whereIn(
          'id',
          taken.map((r) => r.id),
        )
        .update({ raw_sha256: null, raw_removed_at: opts.at, raw_kept_days: opts.keepDays, updated_at: opts.at });
      let released = 0;
      // in a fixed order: two runs at once lock blobs in the same order
      for (const sha256 of [...new Set(taken.map((r) => r.raw_sha256))].sort()) {
        if (await releaseBlob(trx, sha256)) released++;
      }
      return { last: taken[taken.length - 1]!.id, removed: taken.length, released };
    });
    if (batch.last === undefined) break;
    afterId = batch.last;
    result.raw_removed += batch.removed;
    result.blobs_released += batch.released;
    opts.progress?.(result.raw_removed);
  }
  return result;
}
