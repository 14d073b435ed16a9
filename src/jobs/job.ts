/**
 * What a scheduled job is: a name, a default schedule, and a run that works in bounded
 * batches and is idempotent (run twice at the same clock, the second run does nothing).
 * Every time a job writes comes from the clock module, which `helpdesk jobs run --now`
 * sets.
 */
import type { Logger } from 'pino';

export interface JobContext {
  log: Logger;
  /** Reports progress through many rows (the CLI prints it; the scheduler logs it at debug). */
  progress(done: number, what: string): void;
}

/** What a run did, e.g. `{ reminded: 3, closed: 1 }`. */
export type JobSummary = Record<string, number | string>;

export interface Job {
  name: string;
  description: string;
  /** node-cron expression, in the config's time zone; SCHEDULE_<NAME> overrides it. */
  schedule: string;
  run(ctx: JobContext): Promise<JobSummary>;
}

/** `auto-closure` -> `SCHEDULE_AUTO_CLOSURE`. */
export const scheduleVariable = (name: string) => `SCHEDULE_${name.toUpperCase().replace(/-/g, '_')}`;

/** `{ reminded: 3, closed: 1 }` -> `3 reminded, 1 closed`. */
export function describeSummary(summary: JobSummary): string {
  const parts = Object.entries(summary).map(([k, v]) => `${v} ${k.replace(/_/g, ' ')}`);
  return parts.length ? parts.join(', ') : 'nothing to do';
}
