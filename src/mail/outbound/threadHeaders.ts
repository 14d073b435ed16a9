/**
 * In-Reply-To and References of a ticket message, from the Message-IDs recorded on the
 * ticket before it: In-Reply-To the customer's last message (or, when the customer never
 * wrote, our last one), References the first id and then as many of the latest as fit in
 * 2,000 characters, oldest first.
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
  const recorded: IdRow[] = (
    await knex.raw(
      `select id, ticket_id, message_id, direction, from_customer from (
         select m.id, m.ticket_id, m.message_id, m.direction,
                m.direction = 'in' and coalesce(r.author_type, 'App\\Contact') = 'App\\Contact' as from_customer,
                row_number() over (partition by m.ticket_id order by m.id desc) as recent,
                row_number() over (partition by m.ticket_id order by m.id) as oldest
         from ticket_message_ids m left join replies r on r.id = m.reply_id
         where m.ticket_id = any(?)
       ) t where recent <= ? or oldest = 1 order by id`,
      [ticketIds, RECENT_IDS],
    )
  ).rows;
  const byTicket = new Map<number, IdRow[]>();
  for (const r of recorded) byTicket.set(r.ticket_id, [...(byTicket.get(r.ticket_id) ?? []), r]);
  for (const row of rows) {
    const all = row.ticket_id ? (byTicket.get(row.ticket_id) ?? []) : [];
    const own = all.find((r) => r.message_id === row.message_id);
    const before = all.filter((r) => r.message_id !== row.message_id && (!own || r.id < own.id));
    if (before.length === 0) continue;
    const lastIn = [...before].reverse().find((r) => r.from_customer);
    const inReplyTo = (lastIn ?? before[before.length - 1]!).message_id;
    result.set(row.id, { inReplyTo, references: referencesOf(before.map((r) => r.message_id)) });
  }
  return result;
}
