/**
 * Reading a message before the pipeline decides it (ingest.ts): in the CPU pool, off the
 * event loop, with its authenticity checked when its mailbox asks for it. A message that
 * cannot be read (too big, too deep, unparseable, over the CPU deadline) is held for a
 * person with its raw bytes; one over INBOUND_MAX_BYTES is held with only its start.
 */
import { config } from '../../config';
import type { Logger } from '../../logger';
import { logger } from '../../logger';
import type { Authenticity, InboundOutcome } from '../../models/InboundEmail';
import type { Mailbox } from '../../models/Mailbox';
import { sha256Of } from '../../services/blobs/blobStore';
import { cleanOptional, fitText } from '../../text/cleanText';
import type { ReadMessage } from './analyze';
import { authCheckOf } from './authenticity';
import { readInPool } from './cpuPool';
import { readableHeader } from './headerCharset';
import { addressOf, splitMessage } from './headers';
import { messageIdOf } from './parse';

/** What becomes of a message: its outcome and what it made. */
export interface Decision {
  outcome: InboundOutcome;
  reason?: string;
  ticketId?: number | null;
  replyId?: number | null;
  outboundEmailId?: number | null;
  flags?: string[];
  /** What went wrong, for a `failed` message. */
  error?: string;
}

/** What the stored row says of a message. */
export interface InboundFacts {
  messageId: string;
  from?: string;
  fromName?: string;
  to: string[];
  cc: string[];
  subject?: string;
  sentAt?: Date;
  attachments: number;
}

/** A message read (in the CPU pool), ready for a batch. */
export interface PreparedMessage {
  raw: Buffer;
  /** Of `raw`, when the CPU pool computed it. */
  sha256?: string;
  uid?: number;
  facts: InboundFacts;
  message?: ReadMessage;
  /** Decided before the batch: too big, too deeply nested, unparseable, too complex. */
  held?: Decision;
  /** The authenticity verdict (authenticity.ts); null when the mailbox's authenticity is off or the message is held. */
  auth?: Authenticity | null;
  /** The whole message's size, when `raw` is only its start (oversizeMessage). */
  size?: number;
  log: Logger;
}

/** The facts of a message that could not be read, from its raw header block. */
function rawFacts(raw: Buffer, sha256?: string): InboundFacts {
  const { headers } = splitMessage(raw, 0, 320 * 1024);
  const subject = cleanOptional(readableHeader(headers.get('subject'), raw));
  return { messageId: messageIdOf(headers, raw, sha256), from: addressOf(headers.get('from')), to: [], cc: [], subject, attachments: 0 };
}

/**
 * Reads the message in the CPU pool; never throws for bad mail: a message too big, too
 * deep, unparseable, or over the CPU deadline is held for a person with its raw bytes.
 */
export async function prepareMessage(mailbox: Mailbox, raw: Buffer, uid?: number, log: Logger = logger): Promise<PreparedMessage> {
  const child = log.child({ mailbox_id: mailbox.id, uid });
  // any failure of the pool itself is ours, and throws (the poller backs off, nothing recorded);
  // the pool checks authenticity too, when the mailbox asks for it
  const analysis = await readInPool(raw, authCheckOf(mailbox));
  if (!analysis.ok) {
    child.warn({ reason: analysis.reason }, 'message held before the pipeline');
    return { raw, sha256: analysis.sha256, uid, facts: rawFacts(raw, analysis.sha256), held: { outcome: 'quarantined', reason: analysis.reason }, log: child };
  }
  const m = analysis.message;
  const facts = {
    messageId: m.messageId,
    from: m.from?.address,
    fromName: m.from?.name,
    to: m.to.map((a) => a.address),
    cc: m.cc.map((a) => a.address),
    subject: m.subject,
    sentAt: m.date,
    attachments: m.attachments.length,
  };
  if (analysis.authError) child.warn({ error: analysis.authError }, 'authenticity check failed');
  return { raw, sha256: analysis.sha256, uid, facts, message: m, auth: analysis.auth ?? null, log: child };
}

/** What is fetched of a message over INBOUND_MAX_BYTES: its first bytes, at most this many (and at most the limit). */
const OVERSIZE_PREFIX_BYTES = 1024 * 1024;

/** How much of a message is read: all of it up to `maxBytes`; past that only its first `keepBytes`. */
export interface OversizeLimits {
  maxBytes: number;
  keepBytes: number;
}

/**
 * The one rule for every way mail comes in (IMAP, `mail import`, mbox, maildir): a message
 * over `maxBytes` (INBOUND_MAX_BYTES) is read only by its first `keepBytes`.
 */
export function oversizeLimits(): OversizeLimits {
  const maxBytes = config().inboundMaxBytes;
  return { maxBytes, keepBytes: Math.min(OVERSIZE_PREFIX_BYTES, maxBytes) };
}

/**
 * A message over INBOUND_MAX_BYTES, known by the size the server gave before it was
 * fetched: only its start (`prefix`) was fetched, so no such message is ever held in
 * memory whole. It is held for a person with that start, its row giving the real size.
 */
export function oversizeMessage(mailbox: Mailbox, start: Buffer, size: number, uid?: number, log: Logger = logger): PreparedMessage {
  const child = log.child({ mailbox_id: mailbox.id, uid });
  // more than the start when a server ignores a partial FETCH, or sends more than the size it gave:
  // cut (a copy, so the rest can go)
  const { keepBytes } = oversizeLimits();
  const prefix = start.length > keepBytes ? Buffer.from(start.subarray(0, keepBytes)) : start;
  const sha256 = sha256Of(prefix);
  const reason = `the message is ${size} bytes, over the ${config().inboundMaxBytes} byte limit; only its first ${prefix.length} bytes were fetched and kept`;
  child.warn({ size, kept: prefix.length }, 'message over INBOUND_MAX_BYTES held; only its start was fetched');
  return { raw: prefix, sha256, uid, size, facts: rawFacts(prefix, sha256), held: { outcome: 'quarantined', reason }, log: child };
}

/**
 * A message the server would not send: fetching it failed `attempts` times in a row
 * (counted per UID, as a failure in the pipeline is), the last time with `error`. Held for
 * a person with none of its bytes (its row gives the UID and the size the server reported),
 * so the mailbox moves on past it; nothing is done to it on the server (it is not marked
 * read, moved or deleted), where an admin can look at it.
 */
export function unfetchableMessage(
  mailbox: Mailbox,
  at: { uid: number; uidValidity: number; size: number },
  attempts: number,
  error: string,
  log: Logger = logger,
): PreparedMessage {
  const child = log.child({ mailbox_id: mailbox.id, uid: at.uid });
  const raw = Buffer.alloc(0);
  const reason = fitText(
    `the server could not send this message (UID ${at.uid}) in ${attempts} attempts in a row; it is left on the server as it is. The last error: ${error}`,
    2000,
  );
  child.error({ error }, 'the server could not send a message; held without its bytes');
  const facts = { messageId: `<unfetchable.${at.uidValidity}.${at.uid}@mailbox-${mailbox.id}.invalid>`, to: [], cc: [], attachments: 0 };
  return { raw, sha256: sha256Of(raw), uid: at.uid, size: at.size, facts, held: { outcome: 'quarantined', reason }, log: child };
}
