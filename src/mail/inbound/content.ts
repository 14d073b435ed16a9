/**
 * The attachments of a message, held for its ticket or reply: stored once by hash, each
 * with a row, and the content URLs its body's inline images point at. The bodies
 * themselves were read and sanitized in the CPU pool (see analyze.ts).
 */
import { now } from '../../clock';
import { attachmentRow } from '../../services/attachments/attachments';
import { contentPath } from '../../services/attachments/contentUrl';
import type { ReadMessage } from './analyze';
import type { MailWork } from './mailWork';

export { finalBody } from './analyze';

/** Holds the message's attachments for the ticket or reply; returns the content path of each, by index (signed when a body is served). */
export async function storeAttachments(work: MailWork, message: ReadMessage, target: { ticketId?: number; replyId?: number }): Promise<string[]> {
  const urls: string[] = [];
  for (const a of message.attachments) {
    const blob = work.writes.putBlob(a.content, a.sha256);
    const row = {
      id: await work.writes.id('attachments'),
      ...attachmentRow(blob, {
        filename: a.filename ?? (a.contentType.startsWith('image/') ? 'image' : 'attachment'),
        declaredType: a.contentType,
        contentId: a.contentId ?? null,
        inline: a.inline,
      }),
      ticket_id: target.ticketId ?? null,
      reply_id: target.replyId ?? null,
      created_at: now(),
      updated_at: now(),
    };
    work.writes.insert('attachments', row);
    urls.push(contentPath(row.id));
  }
  return urls;
}
