/**
 * A ticket as `GET /v1/tickets/{id}` shows it: replies with their authors (agent reply
 * bodies with their template variables resolved), customer, contacts, catalogue entries,
 * people, attachments, and whether the latest reply is unseen.
 */
import type { Knex } from 'knex';
import { conn } from '../../db/transaction';
import type { Contact } from '../../models/Contact';
import type { Customer } from '../../models/Customer';
import type { Reply } from '../../models/Reply';
import { Ticket } from '../../models/Ticket';
import { found } from '../lookup';
import { resolveVariables } from '../templates/variables';
import { ticketTemplateValues } from './templateValues';

export interface ReplyAuthor {
  type: string;
  id: number;
  name: string;
  email: string;
}

export type DetailedReply = Reply & { author: ReplyAuthor | null };

export type TicketDetail = Ticket & {
  replies: DetailedReply[];
  ticketable: Customer;
  contacts: Contact[];
  has_unread_replies: boolean;
};

/** Loads the authors of replies (agents and contacts) in two queries. */
export async function attachAuthors(trx: Knex | undefined, replies: Reply[]): Promise<DetailedReply[]> {
  const ids = (type: string) => [...new Set(replies.filter((r) => r.author_type === type).map((r) => r.author_id!))];
  const [users, contacts] = await Promise.all([
    conn(trx)('users').whereIn('id', ids('App\\User')).select('id', 'name', 'email'),
    conn(trx)('contacts').whereIn('id', ids('App\\Contact')).select('id', 'name', 'email'),
  ]);
  const byKey = new Map<string, ReplyAuthor>();
  for (const u of users) byKey.set(`App\\User:${u.id}`, { type: 'App\\User', ...u });
  for (const c of contacts) byKey.set(`App\\Contact:${c.id}`, { type: 'App\\Contact', ...c });
  return replies.map((r) => Object.assign(r, { author: byKey.get(`${r.author_type}:${r.author_id}`) ?? null }));
}

export async function ticketDetail(id: number, trx?: Knex): Promise<TicketDetail> {
  const ticket = found(
    await Ticket.query(conn(trx)).findById(id).withGraphFetched('[replies, ticketable, contacts, category, sub_category, assignee, opener, attachments]'),
    'ticket',
    id,
  ) as TicketDetail;
  const replies = await attachAuthors(trx, ticket.replies);
  const agentIds = replies.filter((r) => r.author_type === 'App\\User').length > 0;
  if (agentIds) {
    const base = await ticketTemplateValues(trx, ticket);
    for (const r of replies) {
      if (r.author_type !== 'App\\User') continue;
      r.body = resolveVariables(r.body, { ...base, 'agent.name': r.author?.name, 'agent.email': r.author?.email });
    }
  }
  const latest = replies[replies.length - 1];
  ticket.replies = replies;
  ticket.has_unread_replies = latest ? latest.seen_at === null : false;
  return ticket;
}
