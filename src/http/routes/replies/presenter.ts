/**
 * A reply as the API shows it: the seed's fields in its order (`notify_*` are not
 * persisted), the authenticity verdict of the mail it came from (`auth_summary`: pass,
 * fail, none; null when not from a checking mailbox), and its author where loaded (lists
 * and the ticket's show).
 */
import type { Reply } from '../../../models/Reply';
import { signContentUrls } from '../../../services/attachments/contentUrl';
import type { ReplyAuthor } from '../../../services/tickets/ticketDetail';
import { type Presenter, presenter } from '../../present';

export const REPLY_FIELDS = [
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
  'auth_summary',
  'created_at',
  'updated_at',
  'author',
] as const;

export const REPLY_AUTHOR_FIELDS = ['type', 'id', 'name', 'email'] as const;
const presentAuthor: Presenter<ReplyAuthor> = presenter(REPLY_AUTHOR_FIELDS);

/** A reply, with its author when loaded. */
export const presentReply: Presenter<Reply & { author?: ReplyAuthor | null }> = presenter(REPLY_FIELDS, {
  // inline images: content URLs signed now, so they load however old the reply is
  body: (r) => (typeof r.body === 'string' ? signContentUrls(r.body) : r.body),
  author: (r) => (r.author ? presentAuthor(r.author) : r.author),
});
