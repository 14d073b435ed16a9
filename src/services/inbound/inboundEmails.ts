/**
 * The record of every message received: listing, the raw original, and what an agent does
 * with what the pipeline held back (assign a quarantined message to a customer or a
 * ticket) or could not process (retry a failed one).
 */
import type { Knex } from 'knex';
import { db } from '../../db/knex';
import { conn } from '../../db/transaction';
import { formatDateTime } from '../../datetime';
import { AppError } from '../../errors';
import { type Page, type PageRequest, fetchModelPage } from '../../db/pagination';
import { InboundEmail } from '../../models/InboundEmail';
import { readBlobBuffer } from '../blobs/blobStore';
import { found } from '../lookup';

export async function listInboundEmails(
  opts: { page: PageRequest; outcome?: string; mailbox_id?: number; message_id?: string },
  trx?: Knex,
): Promise<Page<InboundEmail>> {
  const q = InboundEmail.query(conn(trx)).orderBy('id', 'desc');
  if (opts.outcome) q.where({ outcome: opts.outcome });
  if (opts.mailbox_id) q.where({ mailbox_id: opts.mailbox_id });
  if (opts.message_id) q.where({ message_id: opts.message_id });
  return fetchModelPage(q, opts.page);
}

export async function showInboundEmail(id: number, trx?: Knex): Promise<InboundEmail> {
  return found(await InboundEmail.query(conn(trx)).findById(id), 'inbound email', id);
}

/**
 * 410 for a message whose original RAW_MAIL_KEEP_DAYS removed (its row stays): Gone rather
 * than 404, since the message exists and only its bytes were removed, on purpose.
 */
export function rawRemoved(row: InboundEmail): AppError {
  const removedAt = row.raw_removed_at ? formatDateTime(new Date(row.raw_removed_at)) : null;
  return new AppError(
    410,
    'gone',
    `the original message was removed after ${row.raw_kept_days ?? '?'} days (RAW_MAIL_KEEP_DAYS)${removedAt ? `, on ${removedAt} UTC` : ''}; its record stays`,
    { removed_at: removedAt, keep_days: row.raw_kept_days },
  );
}

/** The stored original of `row`; 410 when retention removed it. */
export async function rawOf(row: InboundEmail): Promise<Buffer> {
  if (!row.raw_sha256) throw rawRemoved(row);
  return readBlobBuffer(db(), row.raw_sha256);
}

export async function rawInboundEmail(id: number): Promise<Buffer> {
  return rawOf(await showInboundEmail(id));
}
