/**
 * The body a ticket or reply shows: the HTML part, else the text part turned into HTML;
 * for replies the quoted history and device signature cut; sanitized, with inline `cid:`
 * images pointing at their stored attachments. Attachments are stored once by hash.
 */
import { now } from '../../clock';
import { attachmentRow } from '../../services/attachments/attachments';
import { contentUrl } from '../../services/attachments/contentUrl';
import { sanitizeBody, textToHtml } from '../../services/html/sanitize';
import { visibleReplyHtml } from './htmlQuotes';
import type { MailWork } from './mailWork';
import type { ParsedMessage } from './parse';
import { visibleReplyText } from './quotes';

/** The body before sanitizing; `isReply` cuts the history. */
export function rawBody(parsed: ParsedMessage, isReply: boolean): string {
  if (parsed.html && parsed.html.trim()) {
    if (!isReply) return parsed.html;
    const cut = visibleReplyHtml(parsed.html);
    return cut.replace(/<[^>]*>|&nbsp;|\s/g, '').length > 0 ? cut : parsed.html;
  }
  const text = parsed.text ?? '';
  if (!isReply) return textToHtml(text);
  return textToHtml(visibleReplyText(text) || text);
}

/** Holds the message's attachments for the ticket or reply; returns content-id -> URL. */
export async function storeAttachments(
  work: MailWork,
  parsed: ParsedMessage,
  target: { ticketId?: number; replyId?: number },
): Promise<Map<string, string>> {
  const cids = new Map<string, string>();
  for (const a of parsed.attachments) {
    const blob = work.writes.putBlob(a.content as Buffer);
    const row = {
      id: await work.writes.id('attachments'),
      ...attachmentRow(blob, {
        filename: a.filename ?? (a.contentType.startsWith('image/') ? 'image' : 'attachment'),
        declaredType: a.contentType,
        contentId: a.contentId ? a.contentId.replace(/^<|>$/g, '') : null,
        inline: a.contentDisposition === 'inline' || a.related === true,
      }),
      ticket_id: target.ticketId ?? null,
      reply_id: target.replyId ?? null,
      created_at: now(),
      updated_at: now(),
    };
    work.writes.insert('attachments', row);
    if (row.content_id) cids.set(row.content_id, contentUrl(row.id));
  }
  return cids;
}

/** The sanitized body, with `cid:` images resolved through `cids`. */
export function finalBody(html: string, cids: Map<string, string>): string {
  const body = sanitizeBody(html, { resolveCid: (cid) => cids.get(cid) }).trim();
  return body || '<p>(no text)</p>';
}
