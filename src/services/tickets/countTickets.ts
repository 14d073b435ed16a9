/**
 * `GET /v1/tickets/counts`: one scan, "today" and "this week" in the configured zone.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { startOfLocalDay, startOfLocalWeek } from '../../datetime';
import { conn } from '../../db/transaction';
import { getSettings } from '../config/settings';

export interface TicketCounts {
  total: number;
  open: number;
  unassigned: number;
  assigned_to_myself: number;
  daily: number;
  weekly: number;
  closed: number;
}

export async function countTickets(opts: { actorId: number }, trx?: Knex): Promise<TicketCounts> {
  const { timezone } = await getSettings(trx);
  const at = now();
  const row = await conn(trx)('tickets').first(
    conn(trx).raw('count(*)::int as total'),
    conn(trx).raw('count(*) filter (where open)::int as open'),
    conn(trx).raw('count(*) filter (where open and assignee_id is null)::int as unassigned'),
    conn(trx).raw('count(*) filter (where open and assignee_id = ?)::int as assigned_to_myself', [opts.actorId]),
    conn(trx).raw('count(*) filter (where created_at >= ?)::int as daily', [startOfLocalDay(at, timezone)]),
    conn(trx).raw('count(*) filter (where created_at >= ?)::int as weekly', [startOfLocalWeek(at, timezone)]),
    conn(trx).raw('count(*) filter (where not open)::int as closed'),
  );
  return row as TicketCounts;
}
