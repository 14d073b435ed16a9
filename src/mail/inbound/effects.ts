/**
 * What a person's mail does to tickets: a new ticket, a customer's reply, an agent's
 * reply sent on to the contacts, or (assigned by hand) an agent's internal note. Each
 * holds its rows, attachments, the Message-ID for threading and the notifications in the
 * batch (see mailWork.ts).
 */
import type { Knex } from 'knex';
import { cached } from '../../cache';
import { now } from '../../clock';
import type { AuthSummary } from '../../models/InboundEmail';
import type { Mailbox } from '../../models/Mailbox';
import type { Ticket } from '../../models/Ticket';
import { getSettings } from '../../services/config/settings';
import { type ReplyPlan, type ReplyRowInput, replyRow, ticketChange } from '../../services/replies/replyRow';
import { queueCustomerMail, queueTeamNotification } from '../../services/outbox/notifications';
import { newTicketRow } from '../../services/tickets/createTicket';
import { ticketContactIds } from '../../services/tickets/loadTicket';
import type { ReadMessage } from './analyze';
import { finalBody, storeAttachments } from './content';
import type { MailWork } from './mailWork';

function recordMessageId(work: MailWork, parsed: ReadMessage, ticketId: number, replyId: number | null): void {
  work.recordMessageId({ message_id: parsed.messageId, ticket_id: ticketId, reply_id: replyId, direction: 'in', created_at: now() });
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

type Author = { type: 'App\\Contact' | 'App\\User'; id: number };

export interface NewTicketInput {
  mailbox: Mailbox;
  /** The ticket's contact; null for a ticket with none (then `customerId` and `author` are given). */
  contact: { id: number; contactable_id: number } | null;
  /** The customer it is filed under: the contact's, unless a person chose another (assign). */
  customerId?: number;
  /** Who wrote the mail, when not the ticket's contact: an agent's forward, another customer's contact. */
  author?: Author;
  parsed: ReadMessage;
  flags: string[];
  inboundEmailId: number;
  /** The message's authenticity verdict (auth.summary); null when its mailbox does not check. */
  authSummary?: AuthSummary | null;
  previousTicketId?: number;
}

export async function ticketFromMail(work: MailWork, input: NewTicketInput): Promise<Ticket> {
  const { parsed, mailbox, contact } = input;
  const customerId = input.customerId ?? contact?.contactable_id;
  const author = input.author ?? (contact ? { type: 'App\\Contact' as const, id: contact.id } : undefined);
  if (customerId === undefined || !author) throw new Error('a ticket from mail needs a customer and an author');
  const subject = parsed.subject.trim() || '(no subject)';
  const row = await newTicketRow(
    {
      ticketable_type: 'App\\Customer',
      ticketable_id: customerId,
      subject,
      body: '', // set below: finalBody sanitizes it, with its cid: images resolved
      ...(await filing(work.trx, mailbox)),
      team_id: mailbox.team_id,
      contact_id: contact?.id ?? null,
      author,
      openerId: null,
      origin: 'email',
      opened_via: 'email',
      flags: input.flags,
      mailbox_id: mailbox.id,
      previous_ticket_id: input.previousTicketId ?? null,
    },
    work.trx,
  );
  const body = parsed.attachments.length ? '<p></p>' : finalBody(parsed.bodies.full, []);
  const ticket = await work.insertTicket({ ...row, body, auth_summary: input.authSummary ?? null });
  if (parsed.attachments.length) {
    // the body's cid: images point at the attachments' content URLs
    const urls = await storeAttachments(work, parsed, { ticketId: ticket.id });
    work.updateTicket(ticket, { body: finalBody(parsed.bodies.full, urls) });
  }
  recordMessageId(work, parsed, ticket.id, null);
  await queueTeamNotification(work, ticket, 'new_ticket_to_team', author.type === 'App\\User' ? { exceptUserId: author.id } : {});
  // acknowledged only to a writer who is the ticket's own contact: an agent needs none, and
  // another customer's contact is told nothing of a ticket filed elsewhere
  const writerIsContact = contact !== null && author.type === 'App\\Contact' && author.id === contact.id;
  const settings = await getSettings(work.trx);
  if (writerIsContact && settings.auto_acknowledge && !input.flags.includes('machine_generated') && parsed.from) {
    await work.queue({
      template: 'ticket_acknowledgement',
      to: [{ name: parsed.from.name, address: parsed.from.address }],
      ticketId: ticket.id,
      data: { ticket_id: ticket.id },
      automatic: true,
    });
  }
  return ticket;
}

export interface ReplyInput {
  ticket: Ticket;
  parsed: ReadMessage;
  flags: string[];
  inboundEmailId: number;
  authSummary?: AuthSummary | null;
}

/**
 * Holds the reply's row as replyRow.ts builds it (its id drawn ahead, so its attachments
 * and Message-ID can point at it), with the message's attachments and Message-ID.
 */
async function insertReply(
  work: MailWork,
  input: ReplyInput,
  rowInput: Omit<ReplyRowInput, 'ticketId' | 'body' | 'flags' | 'inboundEmailId' | 'authSummary'>,
): Promise<{ id: number; plan: ReplyPlan }> {
  const id = await work.writes.id('replies');
  const hasAttachments = input.parsed.attachments.length > 0;
  const urls = hasAttachments ? await storeAttachments(work, input.parsed, { replyId: id }) : [];
  const plan = replyRow({
    ...rowInput,
    ticketId: input.ticket.id,
    body: finalBody(input.parsed.bodies.reply, urls),
    flags: input.flags,
    inboundEmailId: input.inboundEmailId,
    authSummary: input.authSummary ?? null,
  });
  work.writes.insert('replies', { id, ...plan.row });
  recordMessageId(work, input.parsed, input.ticket.id, id);
  return { id, plan };
}

/**
 * A customer's reply. An auto-reply (flags hold `auto_reply`) is stored, marked, and changes
 * nothing else; any other counts an exchange, moves the status to `on_customer_reply`
 * (replyRow.ts decides both), cancels a pending closure, reopens the ticket, and tells the
 * team.
 */
export async function customerReply(work: MailWork, input: ReplyInput & { contactId: number }): Promise<{ id: number }> {
  const { id, plan } = await insertReply(work, input, { author: { kind: 'contact', contactId: input.contactId, ofTicketCustomer: true } });
  if (plan.ticket.exchanges === 0) return { id }; // an auto-reply
  work.updateTicket(input.ticket, {
    ...(await ticketChange(work.trx, input.ticket, plan)),
    closure: false,
    closure_requested_at: null,
    open: true,
    closed_at: null,
    updated_at: now(),
  });
  await queueTeamNotification(work, input.ticket, 'customer_reply_to_team', { replyId: id });
  return { id };
}

/**
 * An answer in a ticket's thread from a contact of another customer (someone copied in
 * across companies): recorded on the ticket for the agents, hidden from the customer, and
 * the team is told. The contact never joins the ticket, so it gets none of its mail, and
 * the answer changes no status and counts no exchange. Its auto-reply tells nobody.
 */
export async function foreignContactReply(work: MailWork, input: ReplyInput & { contactId: number; notifyTeam: boolean }): Promise<{ id: number }> {
  const { id } = await insertReply(work, input, { author: { kind: 'contact', contactId: input.contactId, ofTicketCustomer: false } });
  if (input.notifyTeam) await queueTeamNotification(work, input.ticket, 'customer_reply_to_team', { replyId: id });
  return { id };
}

/**
 * An agent's answer by mail (proven by the agent's reply token): customer-visible, sent on
 * to the contacts like an API reply. An agent's auto-reply (an out-of-office answering a
 * notification) is kept as the agent's note and sent to nobody, as any auto-reply
 * notifies nobody.
 */
export async function agentReply(work: MailWork, input: ReplyInput & { agentId: number }): Promise<{ id: number }> {
  // reads the ticket's contacts, some perhaps added earlier in the batch
  const contactIds = await ticketContactIds(await work.direct(), input.ticket);
  const { id, plan } = await insertReply(work, input, { author: { kind: 'agent', userId: input.agentId, via: 'email' }, toContacts: true, contactIds });
  if (!plan.row.customer_visible) return { id };
  work.updateTicket(input.ticket, { ...(await ticketChange(work.trx, input.ticket, plan)), updated_at: now() });
  await queueCustomerMail(work, input.ticket, { template: 'agent_reply', replyId: id, automatic: false });
  return { id };
}

/**
 * An agent's mail that no reply token proves, put on a ticket by a person (assign): an
 * internal note by that agent. Never sent to the contacts, no status change, no exchange,
 * nobody told; the whole body is kept (a forward's point is what it quotes).
 */
export async function agentNote(work: MailWork, input: ReplyInput & { agentId: number }): Promise<{ id: number }> {
  const parsed = { ...input.parsed, bodies: { ...input.parsed.bodies, reply: input.parsed.bodies.full } };
  const { id } = await insertReply(work, { ...input, parsed }, { author: { kind: 'agent', userId: input.agentId, via: 'email' }, toContacts: false });
  return { id };
}
