/**
 * Lists of tickets: the open list of `GET /v1/tickets` and the filtered search of
 * `GET /v1/tickets/search`, one page at a time, each row with its replies count and the
 * seen_at of its latest reply.
 */
import type { Knex } from 'knex';
import { type QueryBuilder, raw } from 'objection';
import { conn } from '../../db/transaction';
import { type Page, type PageRequest, fetchModelPage } from '../../db/pagination';
import { Ticket } from '../../models/Ticket';
import { normalizeTicketNumber } from './ticketNumber';

export type ListedTicket = Ticket & { replies_count: number; last_reply_seen_at: Date | null };

/** `%text%` for ILIKE, with the user's own wildcards taken literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function withListColumns(q: QueryBuilder<Ticket>): QueryBuilder<Ticket> {
  return q.select(
    'tickets.*',
    raw('(select count(*) from replies r where r.ticket_id = tickets.id)::int as replies_count'),
    raw('(select r.seen_at from replies r where r.ticket_id = tickets.id order by r.id desc limit 1) as last_reply_seen_at'),
  );
}

/** Open tickets, newest first; all of one customer's when both ticketable params are given. */
export async function listTickets(opts: { ticketable_type?: string; ticketable_id?: number; page: PageRequest }, trx?: Knex): Promise<Page<ListedTicket>> {
  const q = Ticket.query(conn(trx)).orderBy('tickets.id', 'desc');
  if (opts.ticketable_type !== undefined && opts.ticketable_id !== undefined) {
    q.where({ 'tickets.ticketable_type': opts.ticketable_type, 'tickets.ticketable_id': opts.ticketable_id });
  } else {
    q.where('tickets.open', true);
    if (opts.ticketable_type !== undefined) q.where('tickets.ticketable_type', opts.ticketable_type);
    if (opts.ticketable_id !== undefined) q.where('tickets.ticketable_id', opts.ticketable_id);
  }
  withListColumns(q).withGraphFetched('[ticketable, assignee]');
  return (await fetchModelPage(q, opts.page)) as Page<ListedTicket>;
}

export interface TicketFilters {
  number?: string;
  email?: string;
  body?: string;
  ticketable_type?: string;
  ticketable_id?: number;
  assignee_id?: number;
  status_id?: number;
  priority_id?: number;
  team_id?: number;
  open?: boolean;
  closed?: boolean;
  my_tickets?: boolean;
  my_teams_tickets?: boolean;
}

/** What `include` may ask for on the search, mapped to the relations loaded. */
export const SEARCH_INCLUDES = {
  assigner: 'assigner',
  contract: 'contract',
  customer: 'customer',
  documents: 'attachments',
  replies: 'replies',
  team: 'team',
  ticketable: 'ticketable',
} as const;

export type SearchInclude = keyof typeof SEARCH_INCLUDES;

/** Whether the body is the search's only filter (false values filter nothing). */
const onlyBody = (f: TicketFilters) => Boolean(f.body) && Object.entries(f).every(([key, value]) => key === 'body' || value === undefined || value === false);

/**
 * The search by body alone: `ticket_search` has one row per ticket, so the page's ids and
 * the exact total are read from its narrow rows alone, and only the page's tickets are
 * loaded (joining every match back to the tickets took a second for a common term).
 */
async function searchBodyOnly(body: string, relations: string[], page: PageRequest, trx?: Knex): Promise<Page<ListedTicket>> {
  const matches = () => conn(trx)('ticket_search').whereRaw('body like lower(?)', [containsPattern(body)]);
  const [ids, [{ total }]] = await Promise.all([
    matches()
      .orderBy('ticket_id', 'desc')
      .limit(page.per_page)
      .offset((page.page - 1) * page.per_page)
      .pluck('ticket_id') as Promise<number[]>,
    matches().count({ total: '*' }) as unknown as Promise<[{ total: string }]>,
  ]);
  const q = withListColumns(Ticket.query(conn(trx)).whereIn('tickets.id', ids).orderBy('tickets.id', 'desc'));
  if (relations.length) q.withGraphFetched(`[${relations.join(', ')}]`);
  return { rows: (ids.length ? await q : []) as ListedTicket[], total: Number(total), page: page.page, per_page: page.per_page };
}

/** The search: every filter and scope of the seed, newest first. */
export async function searchTickets(
  opts: { filters: TicketFilters; include: SearchInclude[]; actorId: number; page: PageRequest },
  trx?: Knex,
): Promise<Page<ListedTicket>> {
  const f = opts.filters;
  const relations = [...new Set(opts.include.map((i) => SEARCH_INCLUDES[i]))];
  if (onlyBody(f)) return searchBodyOnly(f.body!, relations, opts.page, trx);
  const q = Ticket.query(conn(trx)).orderBy('tickets.id', 'desc');
  if (f.number) q.where('tickets.number', 'ilike', containsPattern(normalizeTicketNumber(f.number)));
  // the body, lower-cased, kept beside the ticket (migration 20261204200000): narrow rows, one trigram index
  if (f.body) q.whereRaw('tickets.id in (select s.ticket_id from ticket_search s where s.body like lower(?))', [containsPattern(f.body)]);
  if (f.email) {
    const pattern = containsPattern(f.email.trim());
    q.whereRaw('tickets.id in (select tc.ticket_id from ticket_contacts tc join contacts c on c.id = tc.contact_id where c.email ilike ?)', [pattern]);
  }
  for (const key of ['ticketable_type', 'ticketable_id', 'assignee_id', 'status_id', 'priority_id', 'team_id'] as const) {
    if (f[key] !== undefined) q.where(`tickets.${key}`, f[key]);
  }
  if (f.open) q.where('tickets.open', true);
  if (f.closed) q.where('tickets.open', false);
  if (f.my_tickets) q.where('tickets.assignee_id', opts.actorId);
  if (f.my_teams_tickets) {
    q.whereRaw('tickets.team_id in (select support_team_id from support_team_members where user_id = ?)', [opts.actorId]);
  }
  withListColumns(q);
  if (relations.length) q.withGraphFetched(`[${relations.join(', ')}]`);
  return (await fetchModelPage(q, opts.page)) as Page<ListedTicket>;
}
