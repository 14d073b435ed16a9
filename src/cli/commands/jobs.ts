/**
 * `helpdesk jobs list` and `helpdesk jobs run NAME [--now ISO-8601]`: the scheduled jobs,
 * and one run of one of them by hand, with the clock set to NOW so everything it writes
 * carries that time. Prints what the run did.
 */
import { setNow } from '../../clock';
import { config } from '../../config';
import { db } from '../../db/knex';
import { migrateLatest } from '../../db/migrate';
import { openDatabase } from '../../db/open';
import { type JobContext, describeSummary } from '../../jobs/job';
import { JOBS, findJob, scheduleOf } from '../../jobs/registry';
import { logger } from '../../logger';
import { UsageError, parse } from '../args';

const USAGE = 'usage: helpdesk jobs list | helpdesk jobs run NAME [--now ISO-8601]';

function list(): number {
  const width = Math.max(...JOBS.map((j) => j.name.length));
  for (const job of JOBS) process.stdout.write(`${job.name.padEnd(width)}  ${scheduleOf(job).padEnd(14)}  ${job.description}\n`);
  return 0;
}

function parseNow(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? new Date(text) : new Date(NaN);
  if (Number.isNaN(at.getTime())) throw new UsageError(`--now must be an ISO-8601 time such as 2026-11-27T09:00:00Z, not ${text}`);
  return at;
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { now: { type: 'string' } });
  const name = positionals[0];
  const job = name ? findJob(name) : undefined;
  if (!job) throw new UsageError(name ? `no job ${name}; jobs are ${JOBS.map((j) => j.name).join(', ')}` : USAGE);
  const at = parseNow(values.now as string | undefined);
  const database = await openDatabase(config());
  try {
    await migrateLatest(db());
    setNow(at);
    const tty = process.stderr.isTTY;
    const ctx: JobContext = {
      log: logger.child({ job: job.name }),
      progress: (done, what) => process.stderr.write(tty ? `\r${job.name}: ${done} ${what}` : `${job.name}: ${done} ${what}\n`),
    };
    const started = Date.now();
    // what the job itself costs, beside the process's peak (which includes loading the code)
    const rssBefore = process.memoryUsage().rss;
    const summary = await job.run(ctx);
    if (tty) process.stderr.write('\n');
    const peak = process.resourceUsage().maxRSS * 1024;
    const mb = (bytes: number) => Math.round(bytes / 1048576);
    const cost = `${((Date.now() - started) / 1000).toFixed(1)} s, peak RSS ${mb(peak)} MB, +${mb(Math.max(0, peak - rssBefore))} MB during the job`;
    process.stdout.write(`${job.name} at ${(at ?? new Date()).toISOString()}: ${describeSummary(summary)} (${cost})\n`);
    return 0;
  } finally {
    setNow(undefined);
    await database.close();
  }
}

export async function jobsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') return list();
  if (sub === 'run') return run(rest);
  throw new UsageError(USAGE);
}
