/**
 * The inbound pipeline, shared by the IMAP poller and `helpdesk mail import`: store once,
 * classify, thread, identify the sender, then create the ticket or reply, in one
 * transaction with the stored raw message. Messages are read first, and their authenticity
 * checked, off the event loop in the CPU pool (`prepareMessage`, prepare.ts), then decided in batches
 * (`ingestBatch`, see mailWork.ts) whose rows are written together at the end. A broken
 * message is recorded and skipped; an error nobody expected is recorded as `failed`
 * (retryable) and never stops the caller.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { db } from '../../db/knex';
import { loopTurn } from '../../loopTurns';
import type { Logger } from '../../logger';
import { type AuthSummary, type Authenticity, type InboundOutcome } from '../../models/InboundEmail';
import type { Mailbox } from '../../models/Mailbox';
import type { Ticket } from '../../models/Ticket';
import { isConnectionError } from '../../db/errors';
import { blobOf, putBlobBuffers, registerBlobReference } from '../../services/blobs/blobStore';
import { getSettings } from '../../services/config/settings';
import { ourAddresses } from '../../services/mailboxes/mailboxes';
import { cleanText, fitText } from '../../text/cleanText';
import type { ReadMessage } from './analyze';
import { authBlocks, isSpoofed } from './authPolicy';
import { recordBounce } from './bounces';
import { agentReply, customerReply, foreignContactReply, ticketFromMail } from './effects';
import { RawHeaders } from './headers';
import { type LookupKeys, MailWork } from './mailWork';
import { type Decision, type PreparedMessage, prepareMessage } from './prepare';
import { noticeUnknownSender } from './notify';
import { messageIdOf } from './parse';
import { type Contact, agentIsProven, identifySender } from './sender';
import { type Thread, answeredIds, findThread, findToken, namedTicketNumbers } from './thread';

registerBlobReference('inbound_emails', 'raw_sha256');

export interface IngestResult {
  inboundEmailId: number | null;
  outcome: InboundOutcome;
  ticketId?: number | null;
  replyId?: number | null;
  reason?: string;
}

/** What every effect of a person's mail takes (see effects.ts). */
type MailInput = { parsed: ReadMessage; flags: string[]; inboundEmailId: number; authSummary: AuthSummary | null };

function lookupKeys(m: PreparedMessage): LookupKeys {
  return {
    messageId: m.facts.messageId,
    sender: m.message?.from?.address,
    answers: m.message ? answeredIds(m.message) : [],
    ticketNumbers: m.message ? namedTicketNumbers(m.message) : [],
  };
}

/** The columns every inbound row has, the failure path's minimal row included: cleaned and cut to size. */
function inboundRowFacts(mailbox: Mailbox, m: PreparedMessage) {
  return {
    mailbox_id: mailbox.id,
    message_id: fitText(m.facts.messageId, 998),
    from: m.facts.from === undefined ? null : fitText(m.facts.from, 320),
    subject: m.facts.subject === undefined ? null : fitText(m.facts.subject, 10_000),
    received_at: now(),
    size: m.size ?? m.raw.length,
    imap_uid: m.uid ?? null,
  };
}

/** Holds the message's row (or, for a retry, its new values); undefined when it is a duplicate. */
async function claimRow(work: MailWork, mailbox: Mailbox, m: PreparedMessage): Promise<number | undefined> {
  const { facts, raw } = m;
  const stored = work.stored(facts.messageId);
  if (stored === 'claimed' || (stored && stored.outcome !== 'failed')) return undefined;
  work.claim(facts.messageId);
  const row = {
    ...inboundRowFacts(mailbox, m),
    from_name: facts.fromName === undefined ? null : fitText(facts.fromName, 998),
    to: facts.to,
    cc: facts.cc,
    sent_at: facts.sentAt ?? null,
    attachments_count: facts.attachments,
    outcome: 'failed',
    raw_sha256: work.writes.putBlob(raw, m.sha256).sha256,
    auth: m.auth ?? null,
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
    error: d.error ? cleanText(d.error).slice(0, 4000) : null,
    updated_at: now(),
  });
}

/** Whether a closed ticket may be reopened by a reply now, or needs a successor. */
async function reopenable(trx: Knex, ticket: Ticket): Promise<boolean> {
  if (ticket.open || !ticket.closed_at) return true;
  const { reopen_window_days } = await getSettings(trx);
  return now().getTime() - ticket.closed_at.getTime() <= reopen_window_days * 86400_000;
}

/** An agent's mail: a reply only when the reply token issued to that agent for that ticket proves it. */
async function decideAgentMail(
  work: MailWork,
  a: MailInput & { kind: string; thread?: Thread; token: ReturnType<typeof findToken>; agentId: number; agentActive: boolean; authBlock?: string },
): Promise<Decision> {
  const { thread, flags } = a;
  if (!thread) return { outcome: 'quarantined', reason: 'an agent wrote to the mailbox without answering a ticket', flags };
  if (!a.agentActive || !agentIsProven(a.agentId, thread.ticket, a.token)) {
    return {
      outcome: 'quarantined',
      reason: "an agent's address, but no reply token issued to that agent for this ticket proves it (From and Message-IDs are forgeable)",
      ticketId: thread.ticket.id,
      flags,
    };
  }
  if (a.authBlock) return { outcome: 'quarantined', reason: `an agent's reply with a valid token, but ${a.authBlock}`, ticketId: thread.ticket.id, flags };
  const reply = await agentReply(work, {
    parsed: a.parsed,
    flags,
    inboundEmailId: a.inboundEmailId,
    authSummary: a.authSummary,
    ticket: thread.ticket,
    agentId: a.agentId,
  });
  if (a.kind === 'auto_reply') {
    return {
      outcome: 'auto_reply',
      reason: `an agent's automatic reply (threaded by ${thread.via}), kept as the agent's note and sent to nobody`,
      ticketId: thread.ticket.id,
      replyId: reply.id,
      flags,
    };
  }
  return { outcome: 'reply_added', reason: `agent reply (threaded by ${thread.via})`, ticketId: thread.ticket.id, replyId: reply.id, flags };
}

/**
 * A person no contact or agent matches, per the mailbox's `unknown_sender`: a new contact
 * (`create_contact`, for a customer whose domain matches), or the decision to hold or
 * reject the message.
 */
async function contactForUnknownSender(
  work: MailWork,
  mailbox: Mailbox,
  message: ReadMessage,
  thread: Thread | undefined,
  flags: string[],
  authBlock?: string,
): Promise<Contact | Decision> {
  const fromAddress = message.from?.address;
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
    if (fromAddress) await noticeUnknownSender(work, fromAddress, mailbox.id);
    return { outcome: 'rejected', reason: `unknown sender ${fromAddress ?? '(none)'}; the mailbox rejects unknown senders`, flags };
  }
  const customer =
    policy === 'create_contact' && domain && !authBlock
      ? await work
          .trx('customers')
          .whereRaw('? = any(email_domains)', [domain])
          .modify((q) => (threadCustomer ? q.orderByRaw('id = ? desc', [threadCustomer]) : q))
          .orderBy('id')
          .first('id')
      : undefined;
  if (!customer || !fromAddress) {
    const why = policy === 'create_contact' && authBlock ? `; no contact is created: ${authBlock}` : '';
    return { outcome: 'quarantined', reason: `unknown sender ${fromAddress ?? '(none)'}${why}`, ticketId: thread?.ticket.id ?? null, flags };
  }
  return work.addContact({ contactable_id: customer.id, name: message.from?.name || fromAddress, email: fromAddress });
}

/** A person's (or a known contact's machine's) mail. */
async function decidePersonMail(work: MailWork, mailbox: Mailbox, message: ReadMessage, rowId: number, auth: Authenticity | null): Promise<Decision> {
  const kind = message.classification.kind;
  const fromAddress = message.from?.address;
  const ours = await ourAddresses(work.trx);
  if (fromAddress && ours.has(fromAddress)) return { outcome: 'loop', reason: 'sent from one of our own mailboxes' };
  const sender = identifySender(work, fromAddress);
  const token = findToken(message);
  const thread: Thread | undefined = findThread(work, message, sender, token);
  const flags = kind === 'machine' ? ['machine_generated'] : kind === 'auto_reply' ? ['auto_reply'] : [];
  // a known sender's mail that fails authenticity under enforce: held, threaded nowhere
  if (isSpoofed(mailbox, auth, sender)) return { outcome: 'quarantined', reason: 'spoofed', flags: [...flags, 'spoofed'] };
  const authBlock = authBlocks(mailbox, auth);
  const input: MailInput = { parsed: message, flags, inboundEmailId: rowId, authSummary: auth?.summary ?? null };

  if (sender.agentId !== undefined)
    return decideAgentMail(work, { ...input, kind, thread, token, agentId: sender.agentId, agentActive: sender.agentActive === true, authBlock });

  let contact = sender.contact;
  // recorded only (no reply: it has no contact to be from), but linked to the ticket it answers
  const threadTicketId = thread?.ticket.id ?? null;
  if (!contact && kind === 'machine')
    return { outcome: 'auto_reply', reason: 'machine-generated mail from an unknown sender', ticketId: threadTicketId, flags };
  if (!contact && kind === 'auto_reply') return { outcome: 'auto_reply', reason: 'an automatic reply', ticketId: threadTicketId, flags };
  if (!contact) {
    const known = await contactForUnknownSender(work, mailbox, message, thread, flags, authBlock);
    if ('outcome' in known) return known;
    contact = known;
  }

  if (thread) {
    const ticket = thread.ticket;
    if (contact.contactable_id !== ticket.ticketable_id) {
      // a contact of another customer: the agents see the answer, the contact never joins the ticket
      const reply = await foreignContactReply(work, { ...input, ticket, contactId: contact.id, notifyTeam: kind !== 'auto_reply' });
      const outcome = kind === 'auto_reply' ? 'auto_reply' : 'reply_added';
      return {
        outcome,
        reason: `threaded by ${thread.via}; the sender is a contact of another customer, kept from the customer and not added to the ticket`,
        ticketId: ticket.id,
        replyId: reply.id,
        flags: [...flags, 'other_customer'],
      };
    }
    if (kind === 'auto_reply') {
      const reply = await customerReply(work, { ...input, ticket, contactId: contact.id });
      return { outcome: 'auto_reply', reason: 'an automatic reply, stored on its ticket', ticketId: ticket.id, replyId: reply.id, flags };
    }
    if (await reopenable(work.trx, ticket)) {
      work.writes.insert('ticket_contacts', { ticket_id: ticket.id, contact_id: contact.id });
      const reply = await customerReply(work, { ...input, ticket, contactId: contact.id });
      return { outcome: 'reply_added', reason: `threaded by ${thread.via}`, ticketId: ticket.id, replyId: reply.id, flags };
    }
    const successor = await ticketFromMail(work, { ...input, mailbox, contact, previousTicketId: ticket.id });
    return { outcome: 'ticket_created', reason: `reply to ticket ${ticket.number}, closed beyond the reopen window`, ticketId: successor.id, flags };
  }
  if (kind === 'auto_reply') return { outcome: 'auto_reply', reason: 'an automatic reply to no ticket', flags };
  const ticket = await ticketFromMail(work, { ...input, mailbox, contact });
  return { outcome: 'ticket_created', ticketId: ticket.id, flags };
}

async function decide(work: MailWork, mailbox: Mailbox, message: ReadMessage, rowId: number, auth: Authenticity | null): Promise<Decision> {
  const c = message.classification;
  switch (c.kind) {
    case 'loop':
      return { outcome: 'loop', reason: c.reason };
    case 'bounce':
    case 'complaint': {
      const b = await recordBounce(await work.direct(), c.bounce!, {
        inboundEmailId: rowId,
        complaint: c.kind === 'complaint',
        deliveredTo: message.deliveredTo,
      });
      return { outcome: 'bounce', reason: b.reason, outboundEmailId: b.outboundEmailId, ticketId: b.ticketId, flags: [c.kind] };
    }
    default:
      return decidePersonMail(work, mailbox, message, rowId, auth);
  }
}

async function ingestPrepared(work: MailWork, mailbox: Mailbox, m: PreparedMessage): Promise<IngestResult> {
  const id = await claimRow(work, mailbox, m);
  if (id === undefined) return { inboundEmailId: null, outcome: 'duplicate' };
  const decision = m.held ?? (await decide(work, mailbox, m.message!, id, m.auth ?? null));
  finish(work, id, decision);
  m.log.info({ inbound_email_id: id, outcome: decision.outcome, ticket_id: decision.ticketId }, 'message processed');
  return { inboundEmailId: id, outcome: decision.outcome, ticketId: decision.ticketId ?? null, replyId: decision.replyId ?? null, reason: decision.reason };
}

export interface IngestOptions {
  /** Ends the batch early; the results say how far it got. */
  stop?: () => boolean;
  /** False: no mail is queued for these messages (no acknowledgement, no team notice). */
  notify?: boolean;
}

/**
 * Runs messages of one mailbox through the pipeline in `trx`: their lookups first, then
 * each decided in order, then every row written. Throws on any error (the caller redoes
 * the messages one by one). `stop` ends the batch early; the results say how far it got.
 */
export async function ingestBatch(trx: Knex.Transaction, mailbox: Mailbox, messages: PreparedMessage[], opts: IngestOptions = {}): Promise<IngestResult[]> {
  const work = new MailWork(trx, mailbox.id, opts.notify ?? true);
  await work.prefetch(messages.map(lookupKeys));
  const results: IngestResult[] = [];
  // most messages are decided in memory (their lookups are done, their rows held), so
  // without turns a lane of a hundred would hold the event loop in one go
  for (const m of messages) {
    results.push(await ingestPrepared(work, mailbox, m));
    if (opts.stop?.()) break;
    await loopTurn();
  }
  await work.writes.flush();
  return results;
}

/** Attempts that throw, in a row, before a message is recorded `failed` and the mailbox moves on. */
export const MAX_ATTEMPTS = 2;

/** What is kept of an error: its class and message, no stack (that goes to the log). */
function errorSummary(e: unknown): string {
  const err = e as { name?: string; code?: string; message?: string };
  const what = cleanText(`${err?.name ?? 'Error'}${err?.code ? ` ${err.code}` : ''}: ${err?.message ?? String(e)}`);
  // a database error's message starts with the whole statement: keep its end, where the reason is
  return what.length <= 1000 ? what : `${what.slice(0, 300)} … ${what.slice(-600)}`;
}

/** Where an attempt at a message failed: the server did not send it, or reading or deciding it threw. */
export type AttemptStage = 'fetch' | 'pipeline';

/** Counts a failed attempt at a message of the IMAP poller, in a transaction of its own; returns the count. */
export async function countFailure(outer: Knex, mailboxId: number, uid: number, e: unknown, stage: AttemptStage = 'pipeline'): Promise<number> {
  const { rows } = await outer.raw(
    `insert into inbound_attempts (mailbox_id, imap_uid, failures, last_error, stage, updated_at) values (?, ?, 1, ?, ?, ?)
     on conflict (mailbox_id, imap_uid) do update
       set failures = inbound_attempts.failures + 1, last_error = excluded.last_error, stage = excluded.stage, updated_at = excluded.updated_at
     returning failures`,
    [mailboxId, uid, errorSummary(e), stage, now()],
  );
  return Number(rows[0].failures);
}

/**
 * The failed attempts counted for the mailbox's messages, by UID: few (only messages that
 * failed and that the cursor has not passed yet; saving the cursor deletes the others).
 */
export async function failuresOf(mailboxId: number): Promise<Map<number, { failures: number; lastError: string; stage: AttemptStage }>> {
  const rows: { imap_uid: string | number; failures: number; last_error: string | null; stage: AttemptStage }[] = await db()('inbound_attempts')
    .where({ mailbox_id: mailboxId })
    .select('imap_uid', 'failures', 'last_error', 'stage');
  return new Map(rows.map((r) => [Number(r.imap_uid), { failures: Number(r.failures), lastError: r.last_error ?? '', stage: r.stage }]));
}

/**
 * The failure path: the message's minimal row (mailbox, UID, raw bytes, error class), in
 * a transaction of its own, recorded `failed` for an agent to retry. It writes only
 * cleaned, bounded facts, so it cannot fail the way the pipeline did; if even that is
 * refused, a row with nothing taken from the message but its bytes and their hash.
 */
async function recordFailed(outer: Knex, mailbox: Mailbox, m: PreparedMessage, e: unknown): Promise<IngestResult> {
  const write = (facts: ReturnType<typeof inboundRowFacts>) =>
    outer.transaction(async (trx) => {
      const blob = blobOf(m.raw, m.sha256);
      await putBlobBuffers(trx, new Map([[blob.sha256, m.raw]]));
      const { rows } = await trx.raw(
        `insert into inbound_emails (mailbox_id, message_id, "from", subject, received_at, size, imap_uid, raw_sha256, outcome, reason, error, created_at, updated_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, 'failed', 'the pipeline hit an unexpected error', ?, ?, ?)
         on conflict (coalesce(mailbox_id, 0), message_id) do update
           set outcome = 'failed', reason = excluded.reason, error = excluded.error, updated_at = excluded.updated_at
           where inbound_emails.outcome = 'failed'
         returning id`,
        [
          facts.mailbox_id,
          facts.message_id,
          facts.from,
          facts.subject,
          facts.received_at,
          facts.size,
          facts.imap_uid,
          blob.sha256,
          errorSummary(e),
          now(),
          now(),
        ],
      );
      return rows[0]?.id as number | undefined;
    });
  let id: number | undefined;
  try {
    id = await write(inboundRowFacts(mailbox, m));
  } catch (again) {
    if (isConnectionError(again)) throw again;
    m.log.error({ err: again }, 'could not record the failed message; recording it by its hash alone');
    const bare = { ...inboundRowFacts(mailbox, m), message_id: messageIdOf(new RawHeaders(''), m.raw, m.sha256), from: null, subject: null };
    id = await write(bare);
  }
  // no id: a stored copy of the message that did not fail already exists (a duplicate)
  return id === undefined
    ? { inboundEmailId: null, outcome: 'duplicate' }
    : { inboundEmailId: id, outcome: 'failed', reason: 'the pipeline hit an unexpected error' };
}

/**
 * Each message in a transaction of its own (a savepoint when `outer` is a transaction).
 * One that throws is tried again at once; a message of the IMAP poller that throws
 * MAX_ATTEMPTS times in a row (counted in the database per mailbox and UID, so a crash
 * in between counts too) is recorded `failed`, and so is any other message after one
 * throw: either way the next message goes on. Only an unreachable database throws: then
 * nothing is recorded and the caller backs off.
 */
export async function ingestOneByOne(outer: Knex, mailbox: Mailbox, messages: PreparedMessage[], opts: IngestOptions = {}): Promise<IngestResult[]> {
  const results: IngestResult[] = [];
  for (const m of messages) {
    for (;;) {
      try {
        results.push(...(await outer.transaction((trx) => ingestBatch(trx, mailbox, [m], { notify: opts.notify }))));
        break;
      } catch (e) {
        if (isConnectionError(e)) throw e;
        m.log.error({ err: e }, 'message failed in the pipeline');
        const failures = m.uid === undefined ? MAX_ATTEMPTS : await countFailure(outer, mailbox.id, m.uid, e);
        if (failures < MAX_ATTEMPTS) continue;
        results.push(await recordFailed(outer, mailbox, m, e));
        break;
      }
    }
    if (opts.stop?.()) break;
  }
  return results;
}

/** Runs one raw message through the pipeline for `mailbox`. Never throws for bad mail. */
export async function ingestMessage(opts: { mailbox: Mailbox; raw: Buffer; uid?: number; log?: Logger; trx?: Knex }): Promise<IngestResult> {
  return ingestOnePrepared(opts.mailbox, await prepareMessage(opts.mailbox, opts.raw, opts.uid, opts.log), opts.trx);
}

/** Ingests one message already prepared (prepareMessage, oversizeMessage). */
export async function ingestOnePrepared(mailbox: Mailbox, m: PreparedMessage, trx?: Knex): Promise<IngestResult> {
  const [result] = await ingestOneByOne(trx ?? db(), mailbox, [m]);
  return result!;
}
