/**
 * Attachments: files on a ticket or a reply. The bytes go to the blob store once per
 * content; the row keeps the (sanitized) name, the declared and the sniffed type. Deleting
 * the last reference removes the bytes. An upload is staged first, with no transaction
 * open while the client sends, then linked in one short transaction.
 */
import path from 'node:path';
import type { Knex } from 'knex';
import { db } from '../../db/knex';
import { conn, inTransaction } from '../../db/transaction';
import { invalid } from '../../errors';
import { type Page, type PageRequest, fetchModelPage } from '../../db/pagination';
import { Attachment } from '../../models/Attachment';
import { type StagedBlob, type StoredBlob, commitStagedBlob, discardStagedBlob, readBlob, releaseBlob, stageBlob } from '../blobs/blobStore';
import { cleanFilename, fitText } from '../../text/cleanText';
import { sniffMimeType } from '../blobs/sniff';
import { found } from '../lookup';

/** A file name with no path, no control or bidirectional characters, at most 255 characters. */
export function sanitizeFilename(name: string | undefined): string {
  const base = path.posix.basename(cleanFilename(String(name ?? '')).replace(/\\/g, '/'));
  const clean = base
    // eslint-disable-next-line no-control-regex -- control characters are what a file name must lose
    .replace(/[\u0000-\u001f\u007f<>:"|?*]/g, '')
    .replace(/^\.+/, '')
    .trim();
  // 255 characters as PostgreSQL counts them (code points), never half an emoji
  return Array.from(clean).slice(0, 255).join('') || 'attachment';
}

/**
 * How long one upload may take in all: 60 s, plus 1 s per 128 KiB of the largest allowed
 * file (25 MiB: 260 s, so a client needs about 100 KB/s for the largest file). It stays
 * under Node's own 300 s request timeout at the default limit; the idle timeout
 * (UPLOAD_IDLE_SECONDS) ends a stalled client long before.
 */
export function uploadTimeLimitSeconds(maxBytes: number): number {
  return 60 + Math.ceil(maxBytes / (128 * 1024));
}

/** Checks the ticket or reply an attachment belongs to; a reply implies its ticket. */
async function resolveTarget(t: Knex, ticketId?: number | null, replyId?: number | null) {
  if (!ticketId && !replyId) throw invalid({ ticket_id: 'give ticket_id or reply_id' });
  let ticket = ticketId ?? null;
  if (replyId) {
    const reply = await t('replies').where({ id: replyId }).first('ticket_id');
    if (!reply) throw invalid({ reply_id: `no reply with id ${replyId}` });
    if (ticket && ticket !== reply.ticket_id) throw invalid({ reply_id: 'belongs to another ticket' });
    ticket = reply.ticket_id;
  }
  if (ticket && !(await t('tickets').where({ id: ticket }).first('id'))) {
    throw invalid({ ticket_id: `no ticket with id ${ticket}` });
  }
  return { ticket_id: ticket, reply_id: replyId ?? null };
}

export interface NewAttachment {
  ticketId?: number | null;
  replyId?: number | null;
  filename?: string;
  declaredType?: string;
  contentId?: string | null;
  inline?: boolean;
  uploadedBy?: number | null;
  content: AsyncIterable<Buffer>;
  maxBytes: number;
}

/** The attachment row for stored content (without its target). */
export function attachmentRow(blob: StoredBlob, input: Omit<NewAttachment, 'content' | 'maxBytes' | 'ticketId' | 'replyId'>) {
  return {
    blob_sha256: blob.sha256,
    filename: sanitizeFilename(input.filename),
    declared_type: input.declaredType === undefined ? null : fitText(input.declaredType, 255),
    sniffed_type: sniffMimeType(blob.head) ?? null,
    size: blob.size,
    content_id: input.contentId ? fitText(input.contentId, 255) : null,
    inline: input.inline ?? false,
    uploaded_by: input.uploadedBy ?? null,
  };
}

/** A 400 naming the target before any byte is read, when the target is known up front. */
export async function checkAttachmentTarget(ticketId?: number | null, replyId?: number | null): Promise<void> {
  await resolveTarget(db(), ticketId, replyId);
}

/** Streams an upload's bytes into the blob store, holding no transaction (see stageBlob). */
export function stageAttachment(content: AsyncIterable<Buffer>, maxBytes: number): Promise<StagedBlob> {
  return stageBlob(db(), content, maxBytes);
}

/** Removes staged bytes that will not be linked. */
export function discardAttachment(staged: StagedBlob): Promise<void> {
  return discardStagedBlob(db(), staged);
}

/**
 * Links staged bytes to their ticket or reply in one short transaction: the target is
 * checked, the blob named by its sha256, the row written. On failure the caller discards
 * the staged bytes.
 */
export async function linkAttachment(staged: StagedBlob, input: Omit<NewAttachment, 'content' | 'maxBytes'>): Promise<Attachment> {
  return db().transaction(async (t) => {
    const target = await resolveTarget(t, input.ticketId, input.replyId);
    const blob = await commitStagedBlob(t, staged);
    return Attachment.query(t)
      .insert({ ...attachmentRow(blob, input), ...target } as Partial<Attachment>)
      .returning('*');
  });
}

/** Stores the content and links it: staged, then linked (no transaction held while it streams). */
export async function addAttachment(input: NewAttachment): Promise<Attachment> {
  const staged = await stageAttachment(input.content, input.maxBytes);
  try {
    return await linkAttachment(staged, input);
  } catch (e) {
    await discardAttachment(staged).catch(() => undefined);
    throw e;
  }
}

export async function listAttachments(opts: { page: PageRequest; ticket_id?: number; reply_id?: number }, trx?: Knex): Promise<Page<Attachment>> {
  const q = Attachment.query(conn(trx)).orderBy('id');
  if (opts.ticket_id) q.where({ ticket_id: opts.ticket_id });
  if (opts.reply_id) q.where({ reply_id: opts.reply_id });
  return fetchModelPage(q, opts.page);
}

export async function showAttachment(id: number, trx?: Knex): Promise<Attachment> {
  return found(await Attachment.query(conn(trx)).findById(id), 'attachment', id);
}

/** The attachment's bytes, chunk by chunk. */
export function attachmentContent(a: Attachment): AsyncGenerator<Buffer> {
  return readBlob(db(), a.blob_sha256);
}

/** Renames or moves an attachment to another ticket or reply. */
export async function updateAttachment(
  id: number,
  fields: { filename?: string; ticket_id?: number | null; reply_id?: number | null },
  trx?: Knex,
): Promise<Attachment> {
  return inTransaction(trx, async (t) => {
    const row = found(await Attachment.query(t).findById(id).forUpdate(), 'attachment', id);
    const patch: Partial<Attachment> = {};
    if (fields.filename !== undefined) patch.filename = sanitizeFilename(fields.filename);
    if (fields.ticket_id !== undefined || fields.reply_id !== undefined) {
      Object.assign(patch, await resolveTarget(t, fields.ticket_id ?? (fields.reply_id ? null : row.ticket_id), fields.reply_id));
    }
    return row.$query(t).patchAndFetch(patch);
  });
}

/** Deletes the attachment, and its bytes when nothing else uses them. */
export async function deleteAttachment(id: number, trx?: Knex): Promise<void> {
  await inTransaction(trx, async (t) => {
    const row = found(await Attachment.query(t).findById(id).forUpdate(), 'attachment', id);
    await row.$query(t).delete();
    await releaseBlob(t, row.blob_sha256);
  });
}

/** The blobs a ticket's attachments (its own and its replies') use, for release after deleting it. */
export async function ticketBlobs(t: Knex, ticketId: number): Promise<string[]> {
  const rows = await t('attachments')
    .where({ ticket_id: ticketId })
    .orWhereIn('reply_id', t('replies').where({ ticket_id: ticketId }).select('id'))
    .distinct('blob_sha256');
  return rows.map((r: { blob_sha256: string }) => r.blob_sha256);
}
