import type { Reply } from '../../../models/Reply';
import { signContentUrls } from '../../../services/attachments/contentUrl';

const FIELDS = [
  'id',
  'ticket_id',
  'body',
  'origin',
  'author_type',
  'author_id',
  'contact_id',
  'seen_at',
  'customer_visible',
  'copy_to_sales',
  'auto_closure_message',
  'created_at',
  'updated_at',
] as const;

/** A reply, with its author when loaded. */
export function presentReply(r: Reply): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) out[f] = r[f];
  // inline images: content URLs signed now, so they load however old the reply is
  if (typeof r.body === 'string') out.body = signContentUrls(r.body);
  if ('author' in r) out.author = (r as Reply & { author: unknown }).author;
  return out;
}
