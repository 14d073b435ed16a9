/**
 * The transactional outbox: a message to send is a row written in the caller's
 * transaction, with its Message-ID fixed now so retries keep it. The mailer role renders
 * and sends queued rows.
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { now, wallClock } from '../../clock';
import { config } from '../../config';
import { conn } from '../../db/transaction';
import { type Address, OutboundEmail } from '../../models/OutboundEmail';
import { TicketMessageId } from '../../models/TicketMessageId';

export interface QueueEmailInput {
  trx?: Knex;
  /** Template name under templates/ (e.g. `agent_reply`). */
  template: string;
  to: Address[];
  cc?: Address[];
  ticketId?: number | null;
  replyId?: number | null;
  /** The agent this message goes to, when it goes to one (its reply token names them). */
  recipientUserId?: number | null;
  /** Values for the template; ids rather than copies where the mailer can load them. */
  data?: Record<string, unknown>;
  /** Automatic mail (notifications, reminders) is marked so and rate-limited. */
  automatic: boolean;
  subject?: string;
  /** The mailbox it is sent from, when not the ticket's. */
  mailboxId?: number | null;
}

/** A new Message-ID on our domain. */
export function newMessageId(): string {
  return `<${crypto.randomBytes(16).toString('hex')}@${config().mailDomain}>`;
}

const normalized = (a: Address): Address => (a.name ? { name: a.name, address: a.address.trim().toLowerCase() } : { address: a.address.trim().toLowerCase() });

/** The outbox row of a message to queue (its Message-ID drawn now), without an id. */
export function outboundRow(input: Omit<QueueEmailInput, 'trx'>) {
  // due at once, by the wall clock (see clock.ts)
  const due = wallClock();
  return {
    message_id: newMessageId(),
    ticket_id: input.ticketId ?? null,
    reply_id: input.replyId ?? null,
    recipient_user_id: input.recipientUserId ?? null,
    template: input.template,
    data: input.data ?? {},
    to_addresses: input.to.map(normalized),
    cc_addresses: (input.cc ?? []).map(normalized),
    mailbox_id: input.mailboxId ?? null,
    subject: input.subject ?? null,
    automatic: input.automatic,
    state: 'queued' as const,
    attempts: 0,
    next_attempt_at: due,
    queued_at: due,
  };
}

/** The row recording a queued message's Message-ID on its ticket, for threading replies. */
export function outboundMessageIdRow(row: { id: number; message_id: string; ticket_id: number | null; reply_id: number | null }, at = now()) {
  return {
    message_id: row.message_id,
    ticket_id: row.ticket_id!,
    reply_id: row.reply_id,
    outbound_email_id: row.id,
    direction: 'out' as const,
    created_at: at,
  };
}

/** Queues one message; returns its outbox row. */
export async function queueEmail(input: QueueEmailInput): Promise<OutboundEmail> {
  const at = now();
  const row = await OutboundEmail.query(conn(input.trx)).insert(outboundRow(input)).returning('*');
  if (input.ticketId) await TicketMessageId.query(conn(input.trx)).insert(outboundMessageIdRow(row, at));
  return row;
}

/**
 * Where queued mail is written: straight into a transaction, or into a batch of the
 * inbound pipeline that writes its rows later (see mail/inbound/mailWork.ts). `trx` is for
 * reading what the batch does not write (users, teams).
 */
export interface Outbox {
  readonly trx: Knex;
  queue(input: Omit<QueueEmailInput, 'trx'>): Promise<void>;
}

/** `target` as an Outbox: a Knex (or transaction) queues straight into it. */
export function outboxOf(target: Knex | Outbox): Outbox {
  if (typeof target !== 'function') return target;
  return { trx: target, queue: async (input) => void (await queueEmail({ ...input, trx: target })) };
}
