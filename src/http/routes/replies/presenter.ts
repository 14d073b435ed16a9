import type { Reply } from '../../../models/Reply';

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
  if ('author' in r) out.author = (r as Reply & { author: unknown }).author;
  return out;
}
