/**
 * The inbound pipeline, shared by the IMAP poller and `helpdesk mail import`: store once,
 * classify, thread, identify the sender, then create the ticket or reply, in one
 * transaction with the stored raw message. Messages are read and parsed first
 * (`prepareMessage`), then decided in batches (`ingestBatch`, see mailWork.ts) whose rows
 * are written together at the end. A broken message is recorded and skipped; an error
 * nobody expected is recorded as `failed` (retryable) and never stops the caller.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { config } from '../../config';
import { db } from '../../db/knex';
import type { Logger } from '../../logger';
import { logger } from '../../logger';
import { type InboundOutcome } from '../../models/InboundEmail';
import type { Mailbox } from '../../models/Mailbox';
import type { Ticket } from '../../models/Ticket';
import { registerBlobReference } from '../../services/blobs/blobStore';
import { getSettings } from '../../services/config/settings';
import { ourAddresses } from '../../services/mailboxes/mailboxes';
import { recordBounce } from './bounces';
import { type Classification, classify } from './classify';
import { agentReply, customerReply, ticketFromMail } from './effects';
import { addressOf, splitMessage } from './headers';
import { type LookupKeys, MailWork } from './mailWork';
import { noticeUnknownSender } from './notify';
import { type ParsedMessage, messageIdOf, parseMessage, structureProblem } from './parse';
import { agentIsProven, identifySender } from './sender';
import { type Thread, answeredIds, findThread, findToken, namedTicketNumbers } from './thread';

registerBlobReference('inbound_emails', 'raw_sha256');

export interface IngestResult {
  inboundEmailId: number | null;
  outcome: InboundOutcome;
  ticketId?: number | null;
  replyId?: number | null;
  reason?: string;
}

interface Decision {
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
interface InboundFacts {
  messageId: string;
  from?: string;
  fromName?: string;
  to: string[];
  cc: string[];
  subject?: string;
  sentAt?: Date;
  attachments: number;
}

/** A message read and parsed, ready for a batch. */
export interface PreparedMessage {
  raw: Buffer;
  uid?: number;
  facts: InboundFacts;
  parsed?: ParsedMessage;
  /** Decided before parsing: too big, too deeply nested, unparseable. */
  held?: Decision;
  log: Logger;
}

/** Checks the limits and parses; never throws for bad mail (it is held for a person). */
export async function prepareMessage(mailbox: Mailbox, raw: Buffer, uid?: number, log: Logger = logger): Promise<PreparedMessage> {
  const child = log.child({ mailbox_id: mailbox.id, uid });
  const unparsed = (held: Decision): PreparedMessage => {
    const { headers } = splitMessage(raw, 64 * 1024);
    const facts = { messageId: messageIdOf(headers, raw).slice(0, 998), from: addressOf(headers.get('from')), to: [], cc: [], subject: headers.get('subject'), attachments: 0 };
    return { raw, uid, facts, held, log: child };
  };
  const problem = structureProblem(raw, config().inboundMaxBytes);
  if (problem) {
    child.warn({ reason: problem }, 'message quarantined before parsing');
    return unparsed({ outcome: 'quarantined', reason: problem });
  }
  try {
    const parsed = await parseMessage(raw);
    const facts = {
      messageId: parsed.messageId.slice(0, 998),
      from: parsed.from?.address,
      fromName: parsed.from?.name,
      to: parsed.to.map((a) => a.address),
      cc: parsed.cc.map((a) => a.address),
      subject: parsed.subject,
      sentAt: parsed.date,
      attachments: parsed.attachments.length,
    };
    return { raw, uid, facts, parsed, log: child };
  } catch (e) {
    child.warn({ err: e }, 'message could not be parsed');
    return unparsed({ outcome: 'quarantined', reason: `unparseable: ${(e as Error).message}` });
  }
}

function lookupKeys(m: PreparedMessage): LookupKeys {
  return {
    messageId: m.facts.messageId,
    sender: m.parsed?.from?.address,
    answers: m.parsed ? answeredIds(m.parsed) : [],
    ticketNumbers: m.parsed ? namedTicketNumbers(m.parsed) : [],
  };
}

/** Holds the message's row (or, for a retry, its new values); undefined when it is a duplicate. */
async function claimRow(work: MailWork, mailbox: Mailbox, m: PreparedMessage): Promise<number | undefined> {
  const { facts, raw } = m;
  const stored = work.stored(facts.messageId);
  if (stored === 'claimed' || (stored && stored.outcome !== 'failed')) return undefined;
  work.claim(facts.messageId);
  const row = {
    mailbox_id: mailbox.id,
    message_id: facts.messageId,
    from: facts.from?.slice(0, 320) ?? null,
    from_name: facts.fromName?.slice(0, 998) ?? null,
    to: facts.to,
    cc: facts.cc,
    subject: facts.subject ?? null,
    received_at: now(),
    sent_at: facts.sentAt && !Number.isNaN(facts.sentAt.getTime()) ? facts.sentAt : null,
    size: raw.length,
    attachments_count: facts.attachments,
    outcome: 'failed',
    raw_sha256: work.writes.putBlob(raw).sha256,
    imap_uid: m.uid ?? null,
    updated_at: now(),
  };
  if (stored) {
    work.writes.update('inbound_emails', stored.id, { ...row, error: null });
    return stored.id;
  }
  const id = await work.writes.id('inbound_emails');
  work.writes.insert('inbound_emails', { ...row, id, created_at: now() });
  return id;
}

function finish(work: MailWork, id: number, d: Decision): void {
  work.writes.update('inbound_emails', id, {
    outcome: d.outcome,
    reason: d.reason ?? null,
    ticket_id: d.ticketId ?? null,
    reply_id: d.replyId ?? null,
    outbound_email_id: d.outboundEmailId ?? null,
    flags: d.flags ?? [],
    error: d.error?.slice(0, 4000) ?? null,
    updated_at: now(),
  });
}

/** Whether a closed ticket may be reopened by a reply now, or needs a successor. */
async function reopenable(trx: Knex, ticket: Ticket): Promise<boolean> {
  if (ticket.open || !ticket.closed_at) return true;
  const { reopen_window_days } = await getSettings(trx);
  return now().getTime() - ticket.closed_at.getTime() <= reopen_window_days * 86400_000;
}

/** A person's (or a known contact's machine's) mail. */
async function decidePersonMail(
  work: MailWork,
  mailbox: Mailbox,
  parsed: ParsedMessage,
  rowId: number,
  kind: Classification['kind'],
): Promise<Decision> {
  const fromAddress = parsed.from?.address;
  const ours = await ourAddresses(work.trx);
  if (fromAddress && ours.has(fromAddress)) return { outcome: 'loop', reason: 'sent from one of our own mailboxes' };
  const sender = identifySender(work, fromAddress);
  const token = findToken(parsed);
  const thread: Thread | undefined = findThread(work, parsed, sender, token);
  const flags = kind === 'machine' ? ['machine_generated'] : kind === 'auto_reply' ? ['auto_reply'] : [];

  if (sender.agentId !== undefined) {
    if (!thread) return { outcome: 'quarantined', reason: 'an agent wrote to the mailbox without answering a ticket', flags };
    const proven = sender.agentActive && (await agentIsProven(work, sender.agentId, token, parsed.inReplyTo));
    if (!proven) {
      return {
        outcome: 'quarantined',
        reason: "an agent's address, but no reply token or notification of that agent proves it (From alone is forgeable)",
        ticketId: thread.ticket.id,
        flags,
      };
    }
    const reply = await agentReply(work, { ticket: thread.ticket, parsed, flags, inboundEmailId: rowId, agentId: sender.agentId });
    return { outcome: 'reply_added', reason: `agent reply (threaded by ${thread.via})`, ticketId: thread.ticket.id, replyId: reply.id, flags };
  }

  let contact = sender.contact;
  // recorded only (no reply: it has no contact to be from), but linked to the ticket it answers
  const threadTicketId = thread?.ticket.id ?? null;
  if (!contact && kind === 'machine') return { outcome: 'auto_reply', reason: 'machine-generated mail from an unknown sender', ticketId: threadTicketId, flags };
  if (!contact && kind === 'auto_reply') return { outcome: 'auto_reply', reason: 'an automatic reply', ticketId: threadTicketId, flags };
  if (!contact) {
    const policy = mailbox.unknown_sender;
    const domain = fromAddress?.split('@')[1];
    const threadCustomer = thread?.ticket.ticketable_id;
    if (policy === 'reject' && thread) {
      // someone copied into a conversation answering it: held for an agent, not bounced
      return {
        outcome: 'quarantined',
        reason: `unknown sender ${fromAddress ?? '(none)'} answering ticket ${thread.ticket.number}; held for an agent`,
        ticketId: thread.ticket.id,
        flags,
      };
    }
    if (policy === 'reject') {
      if (fromAddress) await noticeUnknownSender(work, fromAddress, mailbox.id, parsed.subject);
      return { outcome: 'rejected', reason: `unknown sender ${fromAddress ?? '(none)'}; the mailbox rejects unknown senders`, flags };
    }
    const customer =
      policy === 'create_contact' && domain
        ? await work.trx('customers')
            .whereRaw('? = any(email_domains)', [domain])
            .modify((q) => (threadCustomer ? q.orderByRaw('id = ? desc', [threadCustomer]) : q))
            .orderBy('id')
            .first('id')
        : undefined;
    if (!customer || !fromAddress) {
      return { outcome: 'quarantined', reason: `unknown sender ${fromAddress ?? '(none)'}`, ticketId: thread?.ticket.id ?? null, flags };
    }
    contact = await work.addContact({ contactable_id: customer.id, name: parsed.from?.name || fromAddress, email: fromAddress });
  }

  if (thread) {
    const ticket = thread.ticket;
    if (kind === 'auto_reply') {
      const reply = await customerReply(work, { ticket, parsed, flags, inboundEmailId: rowId, contactId: contact!.id, autoReply: true });
      return { outcome: 'auto_reply', reason: 'an automatic reply, stored on its ticket', ticketId: ticket.id, replyId: reply.id, flags };
    }
    if (await reopenable(work.trx, ticket)) {
      work.writes.insert('ticket_contacts', { ticket_id: ticket.id, contact_id: contact!.id });
      const reply = await customerReply(work, { ticket, parsed, flags, inboundEmailId: rowId, contactId: contact!.id, autoReply: false });
      return { outcome: 'reply_added', reason: `threaded by ${thread.via}`, ticketId: ticket.id, replyId: reply.id, flags };
    }
    const successor = await ticketFromMail(work, { mailbox, contact: contact!, parsed, flags, inboundEmailId: rowId, previousTicketId: ticket.id });
    return { outcome: 'ticket_created', reason: `reply to ticket ${ticket.number}, closed beyond the reopen window`, ticketId: successor.id, flags };
  }
  if (kind === 'auto_reply') return { outcome: 'auto_reply', reason: 'an automatic reply to no ticket', flags };
  const ticket = await ticketFromMail(work, { mailbox, contact: contact!, parsed, flags, inboundEmailId: rowId });
  return { outcome: 'ticket_created', ticketId: ticket.id, flags };
}

async function decide(work: MailWork, mailbox: Mailbox, parsed: ParsedMessage, rowId: number): Promise<Decision> {
  const c = classify(parsed.headers, parsed.rawBody(), config().mailDomain);
  switch (c.kind) {
    case 'loop':
      return { outcome: 'loop', reason: c.reason };
    case 'bounce':
    case 'complaint': {
      const b = await recordBounce(await work.direct(), c.bounce!, { inboundEmailId: rowId, complaint: c.kind === 'complaint' });
      const what = b.outboundEmailId ? `reports on outbound message ${b.outboundEmailId}` : 'names no message of ours';
      const bad = b.undeliverable.length ? `; marked undeliverable: ${b.undeliverable.join(', ')}` : '';
      return { outcome: 'bounce', reason: `${c.reason}, ${what}${bad}`, outboundEmailId: b.outboundEmailId, ticketId: b.ticketId, flags: [c.kind] };
    }
    default:
      return decidePersonMail(work, mailbox, parsed, rowId, c.kind);
  }
}

async function ingestPrepared(work: MailWork, mailbox: Mailbox, m: PreparedMessage): Promise<IngestResult> {
  const id = await claimRow(work, mailbox, m);
  if (id === undefined) return { inboundEmailId: null, outcome: 'duplicate' };
  const decision = m.held ?? (await decide(work, mailbox, m.parsed!, id));
  finish(work, id, decision);
  m.log.info({ inbound_email_id: id, outcome: decision.outcome, ticket_id: decision.ticketId }, 'message processed');
  return { inboundEmailId: id, outcome: decision.outcome, ticketId: decision.ticketId ?? null, replyId: decision.replyId ?? null, reason: decision.reason };
}

/**
 * Runs messages of one mailbox through the pipeline in `trx`: their lookups first, then
 * each decided in order, then every row written. Throws on any error (the caller redoes
 * the messages one by one). `stop` ends the batch early; the results say how far it got.
 */
export async function ingestBatch(
  trx: Knex.Transaction,
  mailbox: Mailbox,
  messages: PreparedMessage[],
  opts: { stop?: () => boolean } = {},
): Promise<IngestResult[]> {
  const work = new MailWork(trx, mailbox.id);
  await work.prefetch(messages.map(lookupKeys));
  const results: IngestResult[] = [];
  for (const m of messages) {
    results.push(await ingestPrepared(work, mailbox, m));
    if (opts.stop?.()) break;
  }
  await work.writes.flush();
  return results;
}

const connectionLost = (e: unknown) =>
  (e as { code?: string }).code === 'ECONNREFUSED' || /terminating connection|connect ECONN/i.test(String(e));

/**
 * Each message in a transaction of its own (a savepoint when `outer` is a transaction):
 * one that fails unexpectedly is recorded as `failed` with its error, and the next goes
 * on. Only a lost database connection throws.
 */
export async function ingestOneByOne(
  outer: Knex,
  mailbox: Mailbox,
  messages: PreparedMessage[],
  opts: { stop?: () => boolean } = {},
): Promise<IngestResult[]> {
  const results: IngestResult[] = [];
  for (const m of messages) {
    try {
      results.push(...(await outer.transaction((trx) => ingestBatch(trx, mailbox, [m]))));
    } catch (e) {
      if (connectionLost(e)) throw e;
      m.log.error({ err: e }, 'message failed in the pipeline; recorded for retry');
      const failed: PreparedMessage = {
        ...m,
        parsed: undefined,
        held: { outcome: 'failed', reason: 'the pipeline hit an unexpected error', error: String((e as Error).stack ?? e) },
      };
      results.push(...(await outer.transaction((trx) => ingestBatch(trx, mailbox, [failed]))));
    }
    if (opts.stop?.()) break;
  }
  return results;
}

/** Runs one raw message through the pipeline for `mailbox`. Never throws for bad mail. */
export async function ingestMessage(opts: { mailbox: Mailbox; raw: Buffer; uid?: number; log?: Logger; trx?: Knex }): Promise<IngestResult> {
  const m = await prepareMessage(opts.mailbox, opts.raw, opts.uid, opts.log);
  const [result] = await ingestOneByOne(opts.trx ?? db(), opts.mailbox, [m]);
  return result!;
}
