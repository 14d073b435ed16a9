/**
 * The `scheduler` role: every job on its node-cron schedule, in the config's time zone,
 * with `noOverlap` (a run still going skips the next tick) and `distributed` through the
 * PostgreSQL run coordinator (each slot runs once across all instances). Old claims are
 * pruned hourly. On stop it starts nothing more and waits for the runs in flight.
 */
import cron, { type ScheduledTask, type TaskContext } from 'node-cron';
import { config } from '../config';
import { logger } from '../logger';
import { getSettings } from '../services/config/settings';
import { PgRunCoordinator, pruneJobRuns } from './coordinator';
import { type Job, type JobContext, describeSummary, scheduleVariable } from './job';
import { JOBS, scheduleOf } from './registry';

const PRUNE_EVERY_MS = 3_600_000;

export class SchedulerRole {
  private readonly tasks: ScheduledTask[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly coordinator = new PgRunCoordinator();
  private readonly log = logger.child({ role: 'scheduler' });
  private pruneTimer?: NodeJS.Timeout;

  constructor(private readonly jobs: readonly Job[] = JOBS) {}

  async start(): Promise<void> {
    const { timezone } = await getSettings();
    const known = new Set(this.jobs.map((j) => scheduleVariable(j.name)));
    for (const variable of Object.keys(config().schedules)) {
      if (!known.has(variable)) this.log.warn({ variable }, 'a SCHEDULE_ variable names no job; it is ignored');
    }
    for (const job of this.jobs) {
      const task = cron.schedule(scheduleOf(job), (ctx) => this.track(this.runJob(job, ctx)), {
        name: job.name,
        timezone,
        noOverlap: true,
        distributed: true,
        runCoordinator: this.coordinator,
        suppressMissedWarning: true,
        // A tick that comes late (a busy or paused process) still runs its slot within a
        // minute; the coordinator makes sure no other instance ran it already.
        missedExecutionTolerance: 60_000,
      });
      this.tasks.push(task);
    }
    this.pruneTimer = setInterval(() => {
      pruneJobRuns(config().jobRunsKeepDays).catch((e) => this.log.warn({ err: e }, 'could not prune job runs'));
    }, PRUNE_EVERY_MS);
    this.log.info({ jobs: this.jobs.map((j) => `${j.name} (${scheduleOf(j)})`), timezone }, 'scheduler started');
  }

  private track(run: Promise<void>): Promise<void> {
    this.inFlight.add(run);
    return run.finally(() => this.inFlight.delete(run));
  }

  private async runJob(job: Job, ctx: TaskContext): Promise<void> {
    const key = `${job.name}:${ctx.date.toISOString()}`;
    const log = this.log.child({ job: job.name, slot: ctx.date.toISOString() });
    const jobCtx: JobContext = { log, progress: (done, what) => log.debug({ done }, what) };
    try {
      const summary = await job.run(jobCtx);
      this.coordinator.report(key, { summary });
      log.info({ summary }, `job run: ${describeSummary(summary)}`);
    } catch (error) {
      this.coordinator.report(key, { error: (error as Error).message });
      log.error({ err: error }, 'job failed');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    for (const task of this.tasks) await task.stop();
    await Promise.all([...this.inFlight]);
    for (const task of this.tasks) await task.destroy();
    this.tasks.length = 0;
    this.log.info('scheduler stopped');
  }
}
