/**
 * `GET /v1/tickets/counts`. The open and closed counts (per assignee) come from the
 * rollups' `now` rows, kept by triggers with every ticket write (rollups.ts); "today" and
 * "this week" (in the configured zone) from the creation index. While the rollups are not
 * built, one scan of the tickets answers. A test proves both equal.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { startOfLocalDay, startOfLocalWeek } from '../../datetime';
import { conn } from '../../db/transaction';
import { getSettings } from '../config/settings';
import { ROLLUP_ROWS, rollupZone } from '../insights/rollups';

export interface TicketCounts {
  total: number;
  open: number;
  unassigned: number;
  assigned_to_myself: number;
  daily: number;
  weekly: number;
  closed: number;
}

export async function countTickets(opts: { actorId: number; fromTickets?: boolean }, trx?: Knex): Promise<TicketCounts> {
  const { timezone } = await getSettings(trx);
  const at = now();
  const k = conn(trx);
  const since = async (start: Date) => Number((await k('tickets').where('created_at', '>=', start).count({ n: '*' }))[0]!.n);
  if (!opts.fromTickets && (await rollupZone(trx)) !== null) {
    const { rows } = await k.raw(
      `select coalesce(sum(r.tickets), 0)::int as total,
              coalesce(sum(r.tickets) filter (where r.dimension = 'open'), 0)::int as open,
              coalesce(sum(r.tickets) filter (where r.dimension = 'open' and r.value is null), 0)::int as unassigned,
              coalesce(sum(r.tickets) filter (where r.dimension = 'open' and r.value = cast(? as text)), 0)::int as assigned_to_myself,
              coalesce(sum(r.tickets) filter (where r.dimension = 'closed'), 0)::int as closed
       from (${ROLLUP_ROWS}) r where r.kind = 'now'`,
      [opts.actorId],
    );
    const [daily, weekly] = [await since(startOfLocalDay(at, timezone)), await since(startOfLocalWeek(at, timezone))];
    const c = rows[0];
    return { total: c.total, open: c.open, unassigned: c.unassigned, assigned_to_myself: c.assigned_to_myself, daily, weekly, closed: c.closed };
  }
  const row = await k('tickets').first(
    k.raw('count(*)::int as total'),
    k.raw('count(*) filter (where open)::int as open'),
    k.raw('count(*) filter (where open and assignee_id is null)::int as unassigned'),
    k.raw('count(*) filter (where open and assignee_id = ?)::int as assigned_to_myself', [opts.actorId]),
    k.raw('count(*) filter (where created_at >= ?)::int as daily', [startOfLocalDay(at, timezone)]),
    k.raw('count(*) filter (where created_at >= ?)::int as weekly', [startOfLocalWeek(at, timezone)]),
    k.raw('count(*) filter (where not open)::int as closed'),
  );
  return row as TicketCounts;
}
