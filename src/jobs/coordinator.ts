/**
 * The run coordinator node-cron asks before each scheduled run: it claims the (job, slot)
 * by inserting a `job_runs` row with ON CONFLICT DO NOTHING, so across any number of
 * scheduler instances exactly one runs each slot, and an instance that wakes late (or
 * restarts) finds the slot taken instead of running it again. An advisory lock would only
 * stop runs that overlap in time.
 */
import os from 'node:os';
import type { RunCoordinator } from 'node-cron';
import { now } from '../clock';
import { db } from '../db/knex';
import type { JobSummary } from './job';

/** node-cron's key is `<task name>:<slot as ISO-8601>`; job names have no colon. */
export function parseRunKey(key: string): { job: string; slot: Date } {
  const at = key.indexOf(':');
  return { job: key.slice(0, at), slot: new Date(key.slice(at + 1)) };
}

export const INSTANCE = `${os.hostname()}:${process.pid}`;

export class PgRunCoordinator implements RunCoordinator {
  /** Outcome of the run in progress per key, recorded when node-cron reports completion. */
  private readonly outcomes = new Map<string, { summary?: JobSummary; error?: string }>();

  async shouldRun(key: string): Promise<boolean> {
    const { job, slot } = parseRunKey(key);
    const inserted = await db()('job_runs').insert({ job, slot, claimed_by: INSTANCE, started_at: now() }).onConflict(['job', 'slot']).ignore().returning('id');
    return inserted.length > 0;
  }

  /** The job's own wrapper reports what the run did. */
  report(key: string, outcome: { summary?: JobSummary; error?: string }): void {
    this.outcomes.set(key, outcome);
  }

  async onComplete(key: string): Promise<void> {
    const { job, slot } = parseRunKey(key);
    const outcome = this.outcomes.get(key) ?? {};
    this.outcomes.delete(key);
    await db()('job_runs')
      .where({ job, slot, claimed_by: INSTANCE })
      .update({ finished_at: now(), summary: outcome.summary ? JSON.stringify(outcome.summary) : null, error: outcome.error ?? null });
  }
}

/** Forgets claims older than `days`. */
export async function pruneJobRuns(days: number): Promise<number> {
  return db()('job_runs')
    .where('started_at', '<', new Date(now().getTime() - days * 86_400_000))
    .delete();
}
