/**
 * `ticket-rollups`, every minute: sums the deltas the ticket triggers appended into the
 * rollup totals (readers sum both, so this only keeps the deltas few), and rebuilds the
 * rollups in the config's time zone when it is not the one they were built in (the
 * insights are computed from the tickets meanwhile). Idempotent: a second run finds no
 * delta and the same zone.
 */
import { db } from '../db/knex';
import { getSettings } from '../services/config/settings';
import { compactRollups, rebuildRollups, rollupZone } from '../services/insights/rollups';
import type { Job, JobSummary } from './job';

export async function runTicketRollups(): Promise<JobSummary> {
  const { timezone } = await getSettings();
  if ((await rollupZone()) !== timezone) {
    await db().transaction((trx) => rebuildRollups(timezone, trx));
    return { rebuilt_in: timezone };
  }
  return { rollups_updated: await compactRollups() };
}

export const ticketRollupsJob: Job = {
  name: 'ticket-rollups',
  description: 'sum the ticket rollups kept for the insights and counts; rebuild them when the time zone changed',
  schedule: '* * * * *',
  run: runTicketRollups,
};
