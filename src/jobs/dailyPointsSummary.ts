/**
 * `daily-points-summary`: one row per contract per local day (the config's time zone) with
 * its points total, current and consumed. Running it again the same day brings the row up
 * to date; a run that finds nothing changed writes nothing.
 */
import { now } from '../clock';
import { localDate } from '../datetime';
import { db } from '../db/knex';
import { getSettings } from '../services/config/settings';
import type { Job, JobSummary } from './job';

export async function runDailyPointsSummary(): Promise<JobSummary> {
  const settings = await getSettings();
  const at = now();
  const day = localDate(at, settings.timezone);
  const { rows } = await db().raw(
    `insert into daily_points_summaries as d (support_contract_id, day, points_total, points_current, points_consumed, created_at)
     select c.id, ?::date, c.points_total, c.points_current, c.points_total - c.points_current, ?
       from support_contracts c
      where c.expired_at is null
     on conflict (support_contract_id, day) do update
        set points_total = excluded.points_total, points_current = excluded.points_current, points_consumed = excluded.points_consumed
      where (d.points_total, d.points_current) is distinct from (excluded.points_total, excluded.points_current)
     returning (xmax = 0) as inserted`,
    [day, at],
  );
  const inserted = rows.filter((r: { inserted: boolean }) => r.inserted).length;
  return { day, rows_added: inserted, rows_updated: rows.length - inserted };
}

export const dailyPointsSummaryJob: Job = {
  name: 'daily-points-summary',
  description: "record each contract's points for the day",
  schedule: '55 23 * * *',
  run: runDailyPointsSummary,
};
