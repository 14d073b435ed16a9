/**
 * The inbound pipeline, shared by the IMAP poller and `helpdesk mail import`: store once,
 * classify, thread, identify the sender, then create the ticket or reply, all in one
 * transaction with the stored raw message. A broken message is recorded and skipped; an
 * error nobody expected is recorded as `failed` (retryable) and never stops the caller.
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
import { putBlobBuffer, registerBlobReference } from '../../services/blobs/blobStore';
import { getSettings } from '../../services/config/settings';
import { ourAddresses } from '../../services/mailboxes/mailboxes';
import { recordBounce } from './bounces';
import { type Classification, classify } from './classify';
import { agentReply, customerReply, ticketFromMail } from './effects';
import { addressOf, splitMessage } from './headers';
import { noticeUnknownSender } from './notify';
import { type ParsedMessage, messageIdOf, parseMessage, structureProblem } from './parse';
import { agentIsProven, identifySender } from './sender';
import { type Thread, findThread, findToken } from './thread';

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
}

/** Inserts (or, for a retry, updates) the message's row; undefined when it is a duplicate. */
async function claimRow(
  trx: Knex,
  mailbox: Mailbox,
  raw: Buffer,
  facts: { messageId: string; from?: string; fromName?: string; to: string[]; cc: string[]; subject?: string; sentAt?: Date; attachments: number },
  uid: number | undefined,
): Promise<number | undefined> {
  const blob = await putBlobBuffer(trx, raw);
  const row = {
    mailbox_id: mailbox.id,
    message_id: facts.messageId.slice(0, 998),
    from: facts.from?.slice(0, 320) ?? null,
    from_name: facts.fromName?.slice(0, 998) ?? null,
    to: JSON.stringify(facts.to),
    cc: JSON.stringify(facts.cc),
    subject: facts.subject ?? null,
    received_at: now(),
    sent_at: facts.sentAt && !Number.isNaN(facts.sentAt.getTime()) ? facts.sentAt : null,
    size: raw.length,
    attachments_count: facts.attachments,
    outcome: 'failed',
    raw_sha256: blob.sha256,
    imap_uid: uid ?? null,
    created_at: now(),
    updated_at: now(),
  };
  const [inserted] = await trx('inbound_emails').insert(row).onConflict().ignore().returning('id');
  if (inserted) return inserted.id;
  const existing = await trx('inbound_emails')
    .whereRaw('coalesce(mailbox_id, 0) = ? and message_id = ?', [mailbox.id, row.message_id])
    .forUpdate()
    .first('id', 'outcome');
  if (!existing || existing.outcome !== 'failed') return undefined;
  await trx('inbound_emails').where({ id: existing.id }).update({ ...row, created_at: undefined, error: null });
  return existing.id;
}

async function finish(trx: Knex, id: number, d: Decision): Promise<void> {
  await trx('inbound_emails')
    .where({ id })
    .update({
      outcome: d.outcome,
      reason: d.reason ?? null,
      ticket_id: d.ticketId ?? null,
      reply_id: d.replyId ?? null,
      outbound_email_id: d.outboundEmailId ?? null,
      flags: d.flags ?? [],
      error: null,
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
  trx: Knex,
  mailbox: Mailbox,
  parsed: ParsedMessage,
  rowId: number,
  kind: Classification['kind'],
): Promise<Decision> {
  const fromAddress = parsed.from?.address;
  const ours = await ourAddresses(trx);
  if (fromAddress && ours.has(fromAddress)) return { outcome: 'loop', reason: 'sent from one of our own mailboxes' };
  const sender = await identifySender(trx, fromAddress);
  const token = findToken(parsed);
  const thread: Thread | undefined = await findThread(trx, parsed, sender, token);
  const flags = kind === 'machine' ? ['machine_generated'] : kind === 'auto_reply' ? ['auto_reply'] : [];

  if (sender.agentId !== undefined) {
    if (!thread) return { outcome: 'quarantined', reason: 'an agent wrote to the mailbox without answering a ticket', flags };
    const proven = sender.agentActive && (await agentIsProven(trx, sender.agentId, token, parsed.inReplyTo));
    if (!proven) {
      return {
        outcome: 'quarantined',
        reason: "an agent's address, but no reply token or notification of that agent proves it (From alone is forgeable)",
        ticketId: thread.ticket.id,
        flags,
      };
    }
    const reply = await agentReply(trx, { ticket: thread.ticket, parsed, flags, inboundEmailId: rowId, agentId: sender.agentId });
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
      if (fromAddress) await noticeUnknownSender(trx, fromAddress, mailbox.id, parsed.subject);
      return { outcome: 'rejected', reason: `unknown sender ${fromAddress ?? '(none)'}; the mailbox rejects unknown senders`, flags };
    }
    const customer =
      policy === 'create_contact' && domain
        ? await trx('customers')
            .whereRaw('? = any(email_domains)', [domain])
            .modify((q) => (threadCustomer ? q.orderByRaw('id = ? desc', [threadCustomer]) : q))
            .orderBy('id')
            .first('id')
        : undefined;
    if (!customer || !fromAddress) {
      return { outcome: 'quarantined', reason: `unknown sender ${fromAddress ?? '(none)'}`, ticketId: thread?.ticket.id ?? null, flags };
    }
    const [created] = await trx('contacts')
      .insert({ contactable_id: customer.id, name: parsed.from?.name || fromAddress, email: fromAddress, created_at: now(), updated_at: now() })
      .returning(['id', 'contactable_id']);
    contact = created as { id: number; contactable_id: number };
  }

  if (thread) {
    const ticket = thread.ticket;
    if (kind === 'auto_reply') {
      const reply = await customerReply(trx, { ticket, parsed, flags, inboundEmailId: rowId, contactId: contact!.id, autoReply: true });
      return { outcome: 'auto_reply', reason: 'an automatic reply, stored on its ticket', ticketId: ticket.id, replyId: reply.id, flags };
    }
    if (await reopenable(trx, ticket)) {
      await trx('ticket_contacts').insert({ ticket_id: ticket.id, contact_id: contact!.id }).onConflict().ignore();
      const reply = await customerReply(trx, { ticket, parsed, flags, inboundEmailId: rowId, contactId: contact!.id, autoReply: false });
      return { outcome: 'reply_added', reason: `threaded by ${thread.via}`, ticketId: ticket.id, replyId: reply.id, flags };
    }
    const successor = await ticketFromMail(trx, { mailbox, contact: contact!, parsed, flags, inboundEmailId: rowId, previousTicketId: ticket.id });
    return { outcome: 'ticket_created', reason: `reply to ticket ${ticket.number}, closed beyond the reopen window`, ticketId: successor.id, flags };
  }
  if (kind === 'auto_reply') return { outcome: 'auto_reply', reason: 'an automatic reply to no ticket', flags };
  const ticket = await ticketFromMail(trx, { mailbox, contact: contact!, parsed, flags, inboundEmailId: rowId });
  return { outcome: 'ticket_created', ticketId: ticket.id, flags };
}

async function decide(trx: Knex, mailbox: Mailbox, parsed: ParsedMessage, rowId: number): Promise<Decision> {
  const c = classify(parsed.headers, parsed.rawBody, config().mailDomain);
  switch (c.kind) {
    case 'loop':
      return { outcome: 'loop', reason: c.reason };
    case 'bounce':
    case 'complaint': {
      const b = await recordBounce(trx, c.bounce!, { inboundEmailId: rowId, complaint: c.kind === 'complaint' });
      const what = b.outboundEmailId ? `reports on outbound message ${b.outboundEmailId}` : 'names no message of ours';
      const bad = b.undeliverable.length ? `; marked undeliverable: ${b.undeliverable.join(', ')}` : '';
      return { outcome: 'bounce', reason: `${c.reason}, ${what}${bad}`, outboundEmailId: b.outboundEmailId, ticketId: b.ticketId, flags: [c.kind] };
    }
    default:
      return decidePersonMail(trx, mailbox, parsed, rowId, c.kind);
  }
}

/** Records a message that could not be processed normally (too big, unparseable, a bug). */
async function recordWithoutParsing(
  outer: Knex,
  mailbox: Mailbox,
  raw: Buffer,
  uid: number | undefined,
  decision: Decision & { error?: string },
): Promise<IngestResult> {
  const { headers } = splitMessage(raw, 64 * 1024);
  return outer.transaction(async (trx) => {
    const id = await claimRow(
      trx,
      mailbox,
      raw,
      { messageId: messageIdOf(headers, raw), from: addressOf(headers.get('from')), to: [], cc: [], subject: headers.get('subject'), attachments: 0 },
      uid,
    );
    if (id === undefined) return { inboundEmailId: null, outcome: 'duplicate' as const };
    await finish(trx, id, decision);
    if (decision.error) await trx('inbound_emails').where({ id }).update({ error: decision.error.slice(0, 4000) });
    return { inboundEmailId: id, outcome: decision.outcome, reason: decision.reason };
  });
}

/** Runs one raw message through the pipeline for `mailbox`. Never throws for bad mail. */
export async function ingestMessage(opts: {
  mailbox: Mailbox;
  raw: Buffer;
  uid?: number;
  log?: Logger;
  /** A batch transaction to work in (each message then gets its own savepoint). */
  trx?: Knex.Transaction;
  /**
   * false: work straight in `trx`, without a savepoint, and throw on an unexpected error
   * instead of recording it (the caller redoes the batch with savepoints).
   */
  isolate?: boolean;
}): Promise<IngestResult> {
  const { mailbox, raw, uid } = opts;
  const log = (opts.log ?? logger).child({ mailbox_id: mailbox.id, uid });
  const problem = structureProblem(raw, config().inboundMaxBytes);
  if (problem) {
    log.warn({ reason: problem }, 'message quarantined before parsing');
    return recordWithoutParsing(opts.trx ?? db(), mailbox, raw, uid, { outcome: 'quarantined', reason: problem });
  }
  let parsed: ParsedMessage;
  try {
    parsed = await parseMessage(raw);
  } catch (e) {
    log.warn({ err: e }, 'message could not be parsed');
    return recordWithoutParsing(opts.trx ?? db(), mailbox, raw, uid, { outcome: 'quarantined', reason: `unparseable: ${(e as Error).message}` });
  }
  const work = async (trx: Knex.Transaction): Promise<IngestResult> => {
    const id = await claimRow(
      trx,
      mailbox,
      raw,
      {
        messageId: parsed.messageId,
        from: parsed.from?.address,
        fromName: parsed.from?.name,
        to: parsed.to.map((a) => a.address),
        cc: parsed.cc.map((a) => a.address),
        subject: parsed.subject,
        sentAt: parsed.date,
        attachments: parsed.attachments.length,
      },
      uid,
    );
    if (id === undefined) return { inboundEmailId: null, outcome: 'duplicate' as const };
    const decision = await decide(trx, mailbox, parsed, id);
    await finish(trx, id, decision);
    log.info({ inbound_email_id: id, outcome: decision.outcome, ticket_id: decision.ticketId }, 'message processed');
    return { inboundEmailId: id, outcome: decision.outcome, ticketId: decision.ticketId ?? null, replyId: decision.replyId ?? null, reason: decision.reason };
  };
  if (opts.trx && opts.isolate === false) return work(opts.trx);
  try {
    return await (opts.trx ?? db()).transaction(work);
  } catch (e) {
    if ((e as { code?: string }).code === 'ECONNREFUSED' || /terminating connection|connect ECONN/i.test(String(e))) throw e;
    log.error({ err: e }, 'message failed in the pipeline; recorded for retry');
    return recordWithoutParsing(opts.trx ?? db(), mailbox, raw, uid, { outcome: 'failed', reason: 'the pipeline hit an unexpected error', error: String((e as Error).stack ?? e) });
  }
}
