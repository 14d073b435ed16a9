/**
 * What a person's mail does to tickets: a new ticket, a customer's reply, or an agent's
 * reply sent on to the contacts. Each writes its rows, stores the attachments, records
 * the Message-ID for threading and queues the notifications, in the caller's transaction.
 */
import type { Knex } from 'knex';
import { cached } from '../../cache';
import { now } from '../../clock';
import { Reply } from '../../models/Reply';
import type { Mailbox } from '../../models/Mailbox';
import type { Ticket } from '../../models/Ticket';
import { getSettings } from '../../services/config/settings';
import { queueTeamNotification, queueCustomerMail } from '../../services/outbox/notifications';
import { queueEmail } from '../../services/outbox/queueEmail';
import { createTicket } from '../../services/tickets/createTicket';
import { ticketContactIds } from '../../services/tickets/loadTicket';
import { autoStatusId } from '../../services/tickets/statuses';
import { finalBody, rawBody, storeAttachments } from './content';
import type { ParsedMessage } from './parse';

async function recordMessageId(trx: Knex, parsed: ParsedMessage, ticketId: number, replyId: number | null): Promise<void> {
  await trx('ticket_message_ids')
    .insert({ message_id: parsed.messageId, ticket_id: ticketId, reply_id: replyId, direction: 'in', created_at: now() })
    .onConflict(['message_id', 'ticket_id'])
    .ignore();
}

/** Where a mailbox files new tickets: its defaults, else the first sub-category. */
async function filing(trx: Knex, mailbox: Mailbox) {
  return cached(`filing:${mailbox.id}:${mailbox.ticket_category_id}:${mailbox.ticket_sub_category_id}:${mailbox.priority_id}`, () => loadFiling(trx, mailbox));
}

async function loadFiling(trx: Knex, mailbox: Mailbox) {
  const sub = mailbox.ticket_sub_category_id
    ? await trx('ticket_sub_categories').where({ id: mailbox.ticket_sub_category_id }).first()
    : await trx('ticket_sub_categories')
        .modify((q) => (mailbox.ticket_category_id ? q.where({ ticket_category_id: mailbox.ticket_category_id }) : q))
        .orderBy('id')
        .first();
  const priorityId = mailbox.priority_id ?? sub?.priority_id ?? (await trx('priorities').orderBy('level').first('id'))?.id;
  return { ticket_category_id: sub.ticket_category_id as number, ticket_sub_category_id: sub.id as number, priority_id: priorityId as number };
}

export interface NewTicketInput {
  mailbox: Mailbox;
  contact: { id: number; contactable_id: number };
  parsed: ParsedMessage;
  flags: string[];
  inboundEmailId: number;
  previousTicketId?: number;
}

export async function ticketFromMail(trx: Knex, input: NewTicketInput): Promise<Ticket> {
  const { parsed, mailbox } = input;
  const subject = parsed.subject.trim() || '(no subject)';
  const ticket = await createTicket(
    {
      ticketable_type: 'App\\Customer',
      ticketable_id: input.contact.contactable_id,
      subject,
      body: parsed.attachments.length ? '<p></p>' : finalBody(rawBody(parsed, false), new Map()),
      ...(await filing(trx, mailbox)),
      team_id: mailbox.team_id,
      contact_id: input.contact.id,
      author: { type: 'App\\Contact', id: input.contact.id },
      openerId: null,
      origin: 'email',
      opened_via: 'email',
      trustedReferences: true,
      flags: input.flags,
      mailbox_id: mailbox.id,
      previous_ticket_id: input.previousTicketId ?? null,
    },
    trx,
  );
  if (parsed.attachments.length) {
    const cids = await storeAttachments(trx, parsed, { ticketId: ticket.id });
    ticket.body = finalBody(rawBody(parsed, false), cids);
    await trx('tickets').where({ id: ticket.id }).update({ body: ticket.body });
  }
  await recordMessageId(trx, parsed, ticket.id, null);
  const fresh = ticket;
  await queueTeamNotification(trx, fresh, 'new_ticket_to_team');
  const settings = await getSettings(trx);
  if (settings.auto_acknowledge && !input.flags.includes('machine_generated') && parsed.from) {
    await queueEmail({
      trx,
      template: 'ticket_acknowledgement',
      to: [{ name: parsed.from.name, address: parsed.from.address }],
      ticketId: ticket.id,
      data: { ticket_id: ticket.id },
      automatic: true,
    });
  }
  return fresh;
}

export interface ReplyInput {
  ticket: Ticket;
  parsed: ParsedMessage;
  flags: string[];
  inboundEmailId: number;
}

async function insertReply(
  trx: Knex,
  input: ReplyInput,
  author: { type: 'App\\Contact' | 'App\\User'; id: number },
  contactId: number | null,
): Promise<Reply> {
  const hasAttachments = input.parsed.attachments.length > 0;
  const reply = await Reply.query(trx).insert({
    ticket_id: input.ticket.id,
    // with attachments the body waits for their content URLs (cid: references)
    body: hasAttachments ? '<p></p>' : finalBody(rawBody(input.parsed, true), new Map()),
    origin: 'email',
    author_type: author.type,
    author_id: author.id,
    contact_id: contactId,
    customer_visible: true,
    flags: input.flags,
    inbound_email_id: input.inboundEmailId,
  }).returning('*');
  if (hasAttachments) {
    const cids = await storeAttachments(trx, input.parsed, { replyId: reply.id });
    await reply.$query(trx).patch({ body: finalBody(rawBody(input.parsed, true), cids) });
  }
  await recordMessageId(trx, input.parsed, input.ticket.id, reply.id);
  return reply;
}

/**
 * A customer's reply. An auto-reply is stored, marked, and changes nothing else; any other
 * counts an exchange, moves the status to `on_customer_reply`, cancels a pending closure,
 * reopens the ticket, and tells the team.
 */
export async function customerReply(
  trx: Knex,
  input: ReplyInput & { contactId: number; autoReply: boolean },
): Promise<Reply> {
  const reply = await insertReply(trx, input, { type: 'App\\Contact', id: input.contactId }, input.contactId);
  if (input.autoReply) return reply;
  const statusId = await autoStatusId(trx, 'on_customer_reply');
  await trx('tickets')
    .where({ id: input.ticket.id })
    .update({
      exchanges: input.ticket.exchanges + 1,
      ...(statusId ? { status_id: statusId } : {}),
      closure: false,
      closure_requested_at: null,
      open: true,
      closed_at: null,
      updated_at: now(),
    });
  await queueTeamNotification(trx, input.ticket, 'customer_reply_to_team', { replyId: reply.id });
  return reply;
}

/** An agent's answer by mail: customer-visible, sent on to the contacts like an API reply. */
export async function agentReply(trx: Knex, input: ReplyInput & { agentId: number }): Promise<Reply> {
  const contactIds = await ticketContactIds(trx, input.ticket);
  const reply = await insertReply(trx, input, { type: 'App\\User', id: input.agentId }, contactIds[0] ?? null);
  const statusId = await autoStatusId(trx, 'on_admin_reply');
  await trx('tickets')
    .where({ id: input.ticket.id })
    .update({ exchanges: input.ticket.exchanges + 1, ...(statusId ? { status_id: statusId } : {}), updated_at: now() });
  await queueCustomerMail(trx, input.ticket, { template: 'agent_reply', replyId: reply.id, automatic: false });
  return reply;
}
