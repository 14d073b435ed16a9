/**
 * The `mailer` role: lanes that claim a batch of due messages, send it, record it, and
 * claim the next; an idle lane looks again every MAILER_POLL_SECONDS. Two lanes keep the
 * SMTP pool busy while the other one talks to the database. On stop it claims nothing
 * more, finishes the batches in flight and closes the pool.
 */
import { config } from '../../config';
import { db } from '../../db/knex';
import { logger } from '../../logger';
import { runBatch } from './outbox';
import { pruneAutoMailLog } from './recipients';
import { checkTemplates } from './templates';
import { type MailTransport, createMailTransport } from './transport';

export interface MailerRoleOptions {
  lanes?: number;
  pollMs?: number;
  transport?: MailTransport;
}

const PRUNE_EVERY_MS = 10 * 60_000;

export class MailerRole {
  private stopped = false;
  private readonly lanes: Promise<void>[] = [];
  private readonly wakers = new Set<() => void>();
  private readonly log = logger.child({ role: 'mailer' });
  private readonly transport: MailTransport;
  private readonly pollMs: number;
  private readonly laneCount: number;
  private lastPrune = 0;

  constructor(opts: MailerRoleOptions = {}) {
    this.transport = opts.transport ?? createMailTransport();
    this.pollMs = opts.pollMs ?? config().mailerPollSeconds * 1000;
    this.laneCount = opts.lanes ?? 2;
  }

  async start(): Promise<void> {
    checkTemplates();
    this.log.info({ transport: this.transport.kind }, 'mailer started');
    for (let i = 0; i < this.laneCount; i++) this.lanes.push(this.lane());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  private async lane(): Promise<void> {
    while (!this.stopped) {
      try {
        const result = await runBatch(db(), this.transport);
        if (result.claimed + result.suppressed > 0) this.log.debug(result, 'batch done');
        if (result.failed) this.log.warn({ failed: result.failed }, 'messages failed for good');
        if (result.stale) this.log.warn({ stale: result.stale }, 'sends outlasted their lease; another lane holds them now');
        if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
          this.lastPrune = Date.now();
          await pruneAutoMailLog(db());
        }
        if (result.claimed + result.suppressed === 0) await this.sleep(this.pollMs);
      } catch (error) {
        this.log.error({ err: error }, 'mailer batch failed; trying again');
        await this.sleep(Math.max(this.pollMs, 1000));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of [...this.wakers]) wake();
    await Promise.all(this.lanes);
    this.transport.close();
    this.log.info('mailer stopped');
  }
}
