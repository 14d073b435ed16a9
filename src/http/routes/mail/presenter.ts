import type { InboundEmail } from '../../../models/InboundEmail';
import type { Mailbox } from '../../../models/Mailbox';
import { presenter } from '../../present';

/**
 * The fields SPEC §2 lists for inbound_emails, with the row's id, sent date and times,
 * when RAW_MAIL_KEEP_DAYS removed the original (null while `GET .../raw` still has it), and
 * the authenticity verdict (`auth`, null when the mailbox does not check).
 */
const FIELDS = [
  'id',
  'mailbox_id',
  'message_id',
  'from',
  'from_name',
  'to',
  'cc',
  'subject',
  'sent_at',
  'received_at',
  'size',
  'attachments_count',
  'outcome',
  'reason',
  'flags',
  'auth',
  'ticket_id',
  'reply_id',
  'outbound_email_id',
  'raw_removed_at',
  'created_at',
  'updated_at',
] as const;

/** The longest `error` message shown; the log has the rest. */
const MAX_ERROR_CHARS = 300;

/** A path on disk or a file URL (`/srv/app/src/x.ts:12:5`, `file:///…`, `C:\…`), as a stack frame or an fs error names it. */
const PATH = /(?:file:\/\/)?(?:\/[^\s/'"():,]+){2,}(?::\d+)*|[A-Za-z]:\\[^\s'"():,]+(?::\d+)*/g;
/** The statement a database error's message starts with (knex writes "<sql> - <reason>"). */
const SQL_START = /^\s*(?:select|insert|update|delete|with|create|alter|drop)\s/i;

/**
 * A recorded error as the API shows it: its class and the first line of its message, no
 * stack, no file paths, no SQL statement (only the database's reason), at most
 * MAX_ERROR_CHARS. The whole error went to the log when it happened.
 */
export function publicError(error: string | null | undefined): string | null {
  if (!error) return null;
  const firstLine = error.split(/\r\n|\r|\n/, 1)[0]!.trim();
  const colon = firstLine.indexOf(': ');
  const [klass, message] = colon > 0 && colon <= 80 ? [firstLine.slice(0, colon), firstLine.slice(colon + 2)] : ['Error', firstLine];
  let text = message;
  if (SQL_START.test(text)) {
    const reason = text.lastIndexOf(' - ');
    text = reason >= 0 ? text.slice(reason + 3) : 'a database statement failed';
  }
  text = text.replace(PATH, '…').trim();
  const cut = text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text;
  return `${klass.replace(PATH, '…')}: ${cut || '(no message)'}`;
}

/** An inbound email as the API shows it: no storage hash or IMAP UID, and the error cut to its class and first line. */
export function presentInboundEmail(row: InboundEmail): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) out[f] = row[f];
  out.error = publicError(row.error);
  return out;
}

/**
 * A mailbox as admins see it: its settings, whether a password is stored (never the
 * password, which is write-only), and its health (`last_polled_at`, `last_error`). The IMAP
 * cursor (`uid_validity`, `last_uid`, `import_until`) is the poller's bookkeeping and stays in.
 */
export const MAILBOX_FIELDS = [
  'id',
  'name',
  'email',
  'imap_host',
  'imap_port',
  'imap_secure',
  'imap_username',
  'has_password',
  'imap_folder',
  'after_import',
  'move_to',
  'team_id',
  'priority_id',
  'ticket_category_id',
  'ticket_sub_category_id',
  'unknown_sender',
  'import_existing',
  'authenticity',
  'auth_source',
  'authserv_id',
  'active',
  'last_polled_at',
  'last_error',
  'created_at',
  'updated_at',
] as const;

export const presentMailbox = presenter<Mailbox, typeof MAILBOX_FIELDS>(MAILBOX_FIELDS, { has_password: (m) => Boolean(m.imap_password_encrypted) });
