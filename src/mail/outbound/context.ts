/**
 * What the templates of a batch of claimed messages need, loaded in a handful of queries
 * for the whole batch: tickets with their names, replies with their authors, the people
 * involved, the sending mailbox, the attachments, and the thread's Message-IDs.
 */
import type { Knex } from 'knex';
import type { OutboundEmail } from '../../models/OutboundEmail';
import { ticketTemplateValuesFrom } from '../../services/tickets/templateValues';
import { resolveVariables } from '../../services/templates/variables';
import { config } from '../../config';
import { type ThreadHeaders, threadHeaders } from './threadHeaders';
import { htmlToText } from './htmlToText';

export interface Person {
  id: number;
  name: string;
  email: string;
}

export interface MailAttachment {
  id: number;
  blob_sha256: string;
  filename: string;
  content_type: string;
  content_id: string | null;
  inline: boolean;
}

export interface MailContext {
  /** Values the templates see. */
  values: Record<string, unknown>;
  mailbox: { name: string; email: string };
  ticketNumber?: string;
  /** Whom the reply address names: the agent it goes to, or the customer's primary contact. */
  tokenRecipient?: { kind: 'contact' | 'user'; id: number };
  attachments: MailAttachment[];
  thread: ThreadHeaders;
}

interface TicketRow {
  id: number;
  number: string;
  subject: string;
  body: string;
  author_type: string;
  author_id: number | null;
  contact_id: number | null;
  mailbox_id: number | null;
  status: string | null;
  priority: string | null;
  customer: string | null;
}

interface ReplyRow {
  id: number;
  ticket_id: number;
  body: string;
  origin: string;
  author_type: string;
  author_id: number | null;
  customer_visible: boolean;
  created_at: Date;
}

const byId = <T extends { id: number }>(rows: T[]) => new Map(rows.map((r) => [r.id, r]));
const ids = (values: (number | null | undefined)[]) => [...new Set(values.filter((v): v is number => typeof v === 'number'))];

/** The templates' view of an agent-written body: variables resolved, text version beside. */
function agentBody(html: string, values: Record<string, string | null | undefined>) {
  const body = resolveVariables(html, values);
  return { body, body_text: htmlToText(body) };
}

export async function loadContexts(knex: Knex, rows: OutboundEmail[]): Promise<Map<number, MailContext>> {
  const tickets: TicketRow[] = await knex('tickets as t')
    .leftJoin('ticket_statuses as s', 's.id', 't.status_id')
    .leftJoin('priorities as p', 'p.id', 't.priority_id')
    .leftJoin('customers as c', 'c.id', 't.ticketable_id')
    .whereIn('t.id', ids(rows.map((r) => r.ticket_id)))
    .select('t.id', 't.number', 't.subject', 't.body', 't.author_type', 't.author_id', 't.contact_id', 't.mailbox_id', 's.name as status', 'p.name as priority', 'c.name as customer');
  const ticketById = byId(tickets);
  const replies: ReplyRow[] = await knex('replies')
    .whereIn('id', ids(rows.map((r) => r.reply_id)))
    .select('id', 'ticket_id', 'body', 'origin', 'author_type', 'author_id', 'customer_visible', 'created_at');
  const replyById = byId(replies);

  const userIds = ids([
    ...rows.map((r) => r.recipient_user_id),
    ...rows.map((r) => r.data?.assigned_by as number | undefined),
    ...replies.filter((r) => r.author_type === 'App\\User').map((r) => r.author_id),
    ...tickets.filter((t) => t.author_type === 'App\\User').map((t) => t.author_id),
  ]);
  const contactIds = ids([
    ...replies.filter((r) => r.author_type === 'App\\Contact').map((r) => r.author_id),
    ...tickets.filter((t) => t.author_type === 'App\\Contact').map((t) => t.author_id),
    ...tickets.map((t) => t.contact_id),
  ]);
  const customerAddresses = rows.filter((r) => !r.recipient_user_id && r.ticket_id).map((r) => r.to_addresses[0]?.address.toLowerCase() ?? '');
  const [users, contacts, contactsByEmail, mailboxes, attachments]: [Person[], Person[], Person[], (Person & { active: boolean })[], (MailAttachment & { reply_id: number | null; ticket_id: number | null })[]] =
    await Promise.all([
      knex('users').whereIn('id', userIds).select('id', 'name', 'email'),
      knex('contacts').whereIn('id', contactIds).select('id', 'name', 'email'),
      customerAddresses.length ? knex('contacts').whereRaw('lower(email) = any(?)', [customerAddresses]).select('id', 'name', 'email') : [],
      knex('mailboxes').orderBy('id').select('id', 'name', 'email', 'active'),
      knex('attachments')
        .where((q) => q.whereIn('reply_id', ids(rows.map((r) => r.reply_id))).orWhere((w) => w.whereIn('ticket_id', ids(rows.filter((r) => r.template === 'new_ticket_to_team').map((r) => r.ticket_id))).whereNull('reply_id')))
        .orderBy('id')
        .select('id', 'blob_sha256', 'filename', 'content_id', 'inline', 'reply_id', 'ticket_id', knex.raw(`coalesce(sniffed_type, declared_type, 'application/octet-stream') as content_type`)),
    ]);
  const userById = byId(users);
  const contactById = byId(contacts);
  const contactByEmail = new Map(contactsByEmail.map((c) => [c.email.toLowerCase(), c]));
  const mailboxById = byId(mailboxes);
  const fallbackMailbox = mailboxes.find((m) => m.active) ?? { name: 'Helpdesk', email: config().mailFrom };
  const threads = await threadHeaders(knex, rows);

  const person = (type: string, id: number | null) => (id === null ? undefined : type === 'App\\User' ? userById.get(id) : contactById.get(id));

  const result = new Map<number, MailContext>();
  for (const row of rows) {
    const ticket = row.ticket_id ? ticketById.get(row.ticket_id) : undefined;
    const reply = row.reply_id ? replyById.get(row.reply_id) : undefined;
    const mailboxId = (row.mailbox_id ?? ticket?.mailbox_id ?? (row.data?.mailbox_id as number | undefined)) || undefined;
    const mailbox = (mailboxId && mailboxById.get(mailboxId)) || fallbackMailbox;
    const primaryContact = ticket?.contact_id ? contactById.get(ticket.contact_id) : undefined;
    const replyAuthor = reply ? person(reply.author_type, reply.author_id) : undefined;
    const ticketAuthor = ticket ? person(ticket.author_type, ticket.author_id) : undefined;
    const recipientContact = !row.recipient_user_id ? contactByEmail.get(row.to_addresses[0]?.address.toLowerCase() ?? '') : undefined;
    const contact = recipientContact ?? primaryContact;
    const agent = reply?.author_type === 'App\\User' ? replyAuthor : row.data?.assigned_by ? userById.get(row.data.assigned_by as number) : undefined;

    const variables = ticket
      ? {
          ...ticketTemplateValuesFrom(ticket, { contact, customer: ticket.customer, status: ticket.status, priority: ticket.priority }),
          'agent.name': agent?.name,
          'agent.email': agent?.email,
        }
      : {};
    const replyValues = reply
      ? {
          ...(reply.author_type === 'App\\User' ? agentBody(reply.body, variables) : { body: reply.body, body_text: htmlToText(reply.body) }),
          customer_visible: reply.customer_visible,
          created_at: reply.created_at,
        }
      : undefined;
    const ticketValues = ticket
      ? {
          number: ticket.number,
          subject: ticket.subject,
          status: ticket.status,
          priority: ticket.priority,
          ...(ticket.author_type === 'App\\User' ? agentBody(ticket.body, variables) : { body: ticket.body, body_text: htmlToText(ticket.body) }),
        }
      : undefined;

    const attachmentsOf = attachments.filter((a) =>
      reply ? a.reply_id === reply.id : row.template === 'new_ticket_to_team' && a.ticket_id === ticket?.id && a.reply_id === null,
    );
    result.set(row.id, {
      values: {
        ticket: ticketValues,
        reply: replyValues,
        author: replyAuthor ?? ticketAuthor,
        agent,
        contact,
        customer: ticket ? { name: ticket.customer } : undefined,
        recipient: row.to_addresses[0],
        mailbox: { name: mailbox.name, email: mailbox.email },
        data: row.data ?? {},
      },
      mailbox: { name: mailbox.name, email: mailbox.email },
      ticketNumber: ticket?.number,
      tokenRecipient: !ticket
        ? undefined
        : row.recipient_user_id
          ? { kind: 'user', id: row.recipient_user_id }
          : contact
            ? { kind: 'contact', id: contact.id }
            : undefined,
      attachments: attachmentsOf,
      thread: threads.get(row.id) ?? {},
    });
  }
  return result;
}
