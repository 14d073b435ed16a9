/**
 * What the templates of a batch of claimed messages need, loaded in a handful of queries
 * for the whole batch: tickets with their names, replies with their authors, the people
 * involved, the sending mailbox, the attachments, and the thread's Message-IDs.
 */
import type { Knex } from 'knex';
import { config } from '../../config';
import type { OutboundEmail } from '../../models/OutboundEmail';
import { resolveVariables } from '../../services/templates/variables';
import { ticketTemplateValuesFrom } from '../../services/tickets/templateValues';
import { htmlToText } from './htmlToText';
import { type ThreadHeaders, threadHeaders } from './threadHeaders';

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

/** A body for the templates: an agent's with its variables resolved, and a text version beside. */
function bodyValues(html: string, writtenByAgent: boolean, values: Record<string, string | null | undefined>) {
  const body = writtenByAgent ? resolveVariables(html, values) : html;
  return { body, body_text: htmlToText(body) };
}

type Mailboxes = { byId: Map<number, Person & { active: boolean }>; fallback: { name: string; email: string } };
type BatchAttachment = MailAttachment & { reply_id: number | null; ticket_id: number | null };

/** Everything a batch's messages refer to, a query per table. */
interface BatchData {
  tickets: Map<number, TicketRow>;
  replies: Map<number, ReplyRow>;
  users: Map<number, Person>;
  contacts: Map<number, Person>;
  contactsByEmail: Map<string, Person>;
  mailboxes: Mailboxes;
  attachments: BatchAttachment[];
  threads: Map<number, ThreadHeaders>;
}

async function loadBatchData(knex: Knex, rows: OutboundEmail[]): Promise<BatchData> {
  const tickets: TicketRow[] = await knex('tickets as t')
    .leftJoin('ticket_statuses as s', 's.id', 't.status_id')
    .leftJoin('priorities as p', 'p.id', 't.priority_id')
    .leftJoin('customers as c', 'c.id', 't.ticketable_id')
    .whereIn('t.id', ids(rows.map((r) => r.ticket_id)))
    .select(
      't.id',
      't.number',
      't.subject',
      't.body',
      't.author_type',
      't.author_id',
      't.contact_id',
      't.mailbox_id',
      's.name as status',
      'p.name as priority',
      'c.name as customer',
    );
  const replies: ReplyRow[] = await knex('replies')
    .whereIn('id', ids(rows.map((r) => r.reply_id)))
    .select('id', 'ticket_id', 'body', 'origin', 'author_type', 'author_id', 'customer_visible', 'created_at');
  const authorIds = (type: string) => ids([...replies, ...tickets].filter((x) => x.author_type === type).map((x) => x.author_id));
  const userIds = ids([...rows.map((r) => r.recipient_user_id), ...rows.map((r) => r.data?.assigned_by as number | undefined), ...authorIds('App\\User')]);
  const contactIds = ids([...authorIds('App\\Contact'), ...tickets.map((t) => t.contact_id)]);
  const customerAddresses = rows.filter((r) => !r.recipient_user_id && r.ticket_id).map((r) => r.to_addresses[0]?.address.toLowerCase() ?? '');
  const newTicketIds = ids(rows.filter((r) => r.template === 'new_ticket_to_team').map((r) => r.ticket_id));
  const [users, contacts, contactsByEmail, mailboxes, attachments] = await Promise.all([
    knex('users').whereIn('id', userIds).select('id', 'name', 'email') as Promise<Person[]>,
    knex('contacts').whereIn('id', contactIds).select('id', 'name', 'email') as Promise<Person[]>,
    (customerAddresses.length ? knex('contacts').whereRaw('lower(email) = any(?)', [customerAddresses]).select('id', 'name', 'email') : []) as Promise<
      Person[]
    >,
    knex('mailboxes').orderBy('id').select('id', 'name', 'email', 'active') as Promise<(Person & { active: boolean })[]>,
    knex('attachments')
      .where((q) => q.whereIn('reply_id', ids(rows.map((r) => r.reply_id))).orWhere((w) => w.whereIn('ticket_id', newTicketIds).whereNull('reply_id')))
      .orderBy('id')
      .select(
        'id',
        'blob_sha256',
        'filename',
        'content_id',
        'inline',
        'reply_id',
        'ticket_id',
        knex.raw(`coalesce(sniffed_type, declared_type, 'application/octet-stream') as content_type`),
      ) as Promise<BatchAttachment[]>,
  ]);
  return {
    tickets: byId(tickets),
    replies: byId(replies),
    users: byId(users),
    contacts: byId(contacts),
    contactsByEmail: new Map(contactsByEmail.map((c) => [c.email.toLowerCase(), c])),
    mailboxes: { byId: byId(mailboxes), fallback: mailboxes.find((m) => m.active) ?? { name: 'Helpdesk', email: config().mailFrom } },
    attachments,
    threads: await threadHeaders(knex, rows),
  };
}

/** One message's context from the batch's data. */
function contextFor(row: OutboundEmail, d: BatchData): MailContext {
  const ticket = row.ticket_id ? d.tickets.get(row.ticket_id) : undefined;
  const reply = row.reply_id ? d.replies.get(row.reply_id) : undefined;
  const person = (type: string, id: number | null) => (id === null ? undefined : type === 'App\\User' ? d.users.get(id) : d.contacts.get(id));
  const mailboxId = row.mailbox_id ?? ticket?.mailbox_id ?? (row.data?.mailbox_id as number | undefined);
  const box = (mailboxId && d.mailboxes.byId.get(mailboxId)) || d.mailboxes.fallback;
  const mailbox = { name: box.name, email: box.email };
  const replyAuthor = reply ? person(reply.author_type, reply.author_id) : undefined;
  // Customer mail speaks to the contact it goes to; agent mail about the ticket's contact.
  const recipientContact = row.recipient_user_id ? undefined : d.contactsByEmail.get(row.to_addresses[0]?.address.toLowerCase() ?? '');
  const contact = recipientContact ?? (ticket?.contact_id ? d.contacts.get(ticket.contact_id) : undefined);
  const agent = reply?.author_type === 'App\\User' ? replyAuthor : row.data?.assigned_by ? d.users.get(row.data.assigned_by as number) : undefined;
  const variables = ticket
    ? {
        ...ticketTemplateValuesFrom(ticket, { contact, customer: ticket.customer, status: ticket.status, priority: ticket.priority }),
        'agent.name': agent?.name,
        'agent.email': agent?.email,
      }
    : {};
  const values = {
    ticket: ticket && {
      number: ticket.number,
      subject: ticket.subject,
      status: ticket.status,
      priority: ticket.priority,
      ...bodyValues(ticket.body, ticket.author_type === 'App\\User', variables),
    },
    reply: reply && {
      ...bodyValues(reply.body, reply.author_type === 'App\\User', variables),
      customer_visible: reply.customer_visible,
      created_at: reply.created_at,
    },
    author: replyAuthor ?? (ticket ? person(ticket.author_type, ticket.author_id) : undefined),
    agent,
    contact,
    customer: ticket ? { name: ticket.customer } : undefined,
    recipient: row.to_addresses[0],
    mailbox,
    data: row.data ?? {},
  };
  const tokenRecipient: MailContext['tokenRecipient'] = !ticket
    ? undefined
    : row.recipient_user_id
      ? { kind: 'user', id: row.recipient_user_id }
      : contact && { kind: 'contact', id: contact.id };
  return {
    values,
    mailbox,
    ticketNumber: ticket?.number,
    tokenRecipient,
    attachments: d.attachments.filter((a) =>
      reply ? a.reply_id === reply.id : row.template === 'new_ticket_to_team' && a.ticket_id === ticket?.id && a.reply_id === null,
    ),
    thread: d.threads.get(row.id) ?? {},
  };
}

export async function loadContexts(knex: Knex, rows: OutboundEmail[]): Promise<Map<number, MailContext>> {
  const data = await loadBatchData(knex, rows);
  return new Map(rows.map((row) => [row.id, contextFor(row, data)]));
}
