/**
 * The ticket rollups (migration 20261204000000): per local day of opening and of closing,
 * and the current open and closed counts per assignee, appended as deltas by triggers in
 * the same transaction as every ticket write and summed into `ticket_rollups` by the
 * `ticket-rollups` job. Readers sum both tables, so an answer never waits for the job.
 */
import type { Knex } from 'knex';
import { conn } from '../../db/transaction';

const COLUMNS =
  'kind, day, dimension, value, tickets, open, closed, exchanges, points, reopened, responded, first_response_minutes, resolved, resolution_minutes, minutes';

/** Every rollup row: the summed ones and the deltas not yet summed (SQL, to select from). */
export const ROLLUP_ROWS = `select ${COLUMNS} from ticket_rollups union all select ${COLUMNS} from ticket_rollup_deltas`;

/** The zone the rollups' days are in; null while they are not built. */
export async function rollupZone(trx?: Knex): Promise<string | null> {
  const row = await conn(trx)('ticket_rollup_state').first('timezone');
  return (row?.timezone as string | null | undefined) ?? null;
}

/** Sums the deltas into the totals; the number of totals written. */
export async function compactRollups(trx?: Knex): Promise<number> {
  const { rows } = await conn(trx).raw('select ticket_rollups_compact() as moved');
  return Number(rows[0].moved);
}

/** Counts every ticket anew with the days of `timezone` (writes to tickets wait meanwhile). */
export async function rebuildRollups(timezone: string, trx?: Knex): Promise<void> {
  await conn(trx).raw('select ticket_rollups_rebuild(?)', [timezone]);
}
