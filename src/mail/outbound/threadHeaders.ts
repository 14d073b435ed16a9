/**
 * In-Reply-To and References of a ticket message, from the Message-IDs recorded on the
 * ticket before it: In-Reply-To the customer's last message (or, when the customer never
 * wrote, our last one), References the first id and then as many of the latest as fit in
 * 2,000 characters, oldest first.
 *
 * Mail to customers names only messages the customers saw: their own mail and ours to
 * them. The Message-ID of mail sent to an agent (a notification) is known only to that
 * agent, and must stay so: a customer holding one could pass it off as an agent's answer
 * (and an agent's own mail to the mailbox is none of the customer's business either).
 * Mail to agents may name anything on the ticket.
 */
import type { Knex } from 'knex';
import type { OutboundEmail } from '../../models/OutboundEmail';

export interface ThreadHeaders {
  inReplyTo?: string;
  references?: string;
}

export const REFERENCES_MAX_CHARS = 2000;
/** The latest ids looked at per ticket; more would not fit in References anyway. */
const RECENT_IDS = 60;

interface IdRow {
  id: number;
  ticket_id: number;
  message_id: string;
  direction: 'in' | 'out';
  /** Inbound from the customer (not an agent answering by mail). */
  from_customer: boolean;
  /** Seen by the customers: their own mail, or ours to them (not to an agent). */
  customer_saw: boolean;
}

/** References from ids oldest first: the first one, then the latest that fit. */
export function referencesOf(ids: string[]): string | undefined {
  if (ids.length === 0) return undefined;
  const [first, ...rest] = ids;
  const tail: string[] = [];
  let length = first!.length;
  for (let i = rest.length - 1; i >= 0; i--) {
    const next = rest[i]!;
    if (length + 1 + next.length > REFERENCES_MAX_CHARS) break;
    tail.unshift(next);
    length += 1 + next.length;
  }
  return [first, ...tail].join(' ');
}

export async function threadHeaders(knex: Knex, rows: OutboundEmail[]): Promise<Map<number, ThreadHeaders>> {
  const ticketIds = [...new Set(rows.map((r) => r.ticket_id).filter((id): id is number => id !== null))];
  const result = new Map<number, ThreadHeaders>();
  if (ticketIds.length === 0) return result;
  // The latest ids of each ticket, and (apart, so notifications cannot crowd them out) the
  // latest the customers saw; each with the first of its kind.
  const recorded: IdRow[] = (
    await knex.raw(
      `select id, ticket_id, message_id, direction, from_customer, customer_saw from (
         select s.*,
                row_number() over (partition by s.ticket_id order by s.id desc) as recent,
                row_number() over (partition by s.ticket_id order by s.id) as oldest,
                row_number() over (partition by s.ticket_id, s.customer_saw order by s.id desc) as recent_of_kind,
                row_number() over (partition by s.ticket_id, s.customer_saw order by s.id) as oldest_of_kind
         from (
           select m.id, m.ticket_id, m.message_id, m.direction,
                  m.direction = 'in' and coalesce(r.author_type, 'App\\Contact') = 'App\\Contact' as from_customer,
                  case when m.direction = 'in' then coalesce(r.author_type, 'App\\Contact') = 'App\\Contact'
                       else o.recipient_user_id is null end as customer_saw
           from ticket_message_ids m
           left join replies r on r.id = m.reply_id
           left join outbound_emails o on o.id = m.outbound_email_id
           where m.ticket_id = any(?)
         ) s
       ) t where recent <= ? or oldest = 1 or (customer_saw and (recent_of_kind <= ? or oldest_of_kind = 1)) order by id`,
      [ticketIds, RECENT_IDS, RECENT_IDS],
    )
  ).rows;
  const byTicket = new Map<number, IdRow[]>();
  for (const r of recorded) byTicket.set(r.ticket_id, [...(byTicket.get(r.ticket_id) ?? []), r]);
  for (const row of rows) {
    const all = row.ticket_id ? (byTicket.get(row.ticket_id) ?? []) : [];
    const own = all.find((r) => r.message_id === row.message_id);
    const toCustomers = row.recipient_user_id === null;
    const before = all.filter((r) => r.message_id !== row.message_id && (!own || r.id < own.id) && (!toCustomers || r.customer_saw));
    if (before.length === 0) continue;
    const lastIn = [...before].reverse().find((r) => r.from_customer);
    const inReplyTo = (lastIn ?? before[before.length - 1]!).message_id;
    result.set(row.id, { inReplyTo, references: referencesOf(before.map((r) => r.message_id)) });
  }
  return result;
}
