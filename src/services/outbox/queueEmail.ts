/**
 * The transactional outbox: a message to send is a row written in the caller's
 * transaction, with its Message-ID fixed now so retries keep it. The mailer role renders
 * and sends queued rows.
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { now } from '../../clock';
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

/** Queues one message; returns its outbox row. */
export async function queueEmail(input: QueueEmailInput): Promise<OutboundEmail> {
  const at = now();
  const row = await OutboundEmail.query(conn(input.trx)).insert({
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
    state: 'queued',
    attempts: 0,
    next_attempt_at: at,
    queued_at: at,
  }).returning('*');
  if (input.ticketId) {
    await TicketMessageId.query(conn(input.trx)).insert({
      message_id: row.message_id,
      ticket_id: input.ticketId,
      reply_id: input.replyId ?? null,
      outbound_email_id: row.id,
      direction: 'out',
      created_at: at,
    });
  }
  return row;
}
