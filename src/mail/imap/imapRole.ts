/**
 * The `imap` role: a worker for every active mailbox with an IMAP account, kept in step
 * with the mailboxes table. Every process runs a worker for every mailbox; the advisory
 * lock decides which one works it, so any number of processes may run this role.
 */
import { config } from '../../config';
import { db } from '../../db/knex';
import { SessionLocks } from '../../db/sessionLocks';
import { logger } from '../../logger';
import { holdCpuPoolWarm } from '../inbound/cpuPool';
import { MailboxWorker } from './mailboxWorker';

export interface ImapRoleOptions {
  pollMs?: number;
  backoffMaxMs?: number;
}

export class ImapRole {
  private readonly workers = new Map<number, MailboxWorker>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly log = logger.child({ role: 'imap' });
  private readonly pollMs: number;
  private readonly backoffMaxMs: number;
  private locks?: SessionLocks;
  private releasePool?: () => void;

  constructor(opts: ImapRoleOptions = {}) {
    this.pollMs = opts.pollMs ?? config().imapPollSeconds * 1000;
    this.backoffMaxMs = opts.backoffMaxMs ?? config().imapBackoffMaxSeconds * 1000;
  }

  async start(): Promise<void> {
    this.locks = SessionLocks.forDatabase();
    // the threads that read mail start with the role, not with its first message
    this.releasePool = holdCpuPoolWarm();
    await this.sync();
    const tick = () => {
      this.timer = setTimeout(() => {
        this.sync()
          .catch((e) => this.log.warn({ err: e }, 'could not refresh the mailbox list'))
          .finally(() => !this.stopped && tick());
      }, this.pollMs);
    };
    tick();
  }

  /** Starts workers for new mailboxes and stops those of removed or deactivated ones. */
  async sync(): Promise<void> {
    const rows: { id: number }[] = await db()('mailboxes').where({ active: true }).whereNotNull('imap_host').select('id');
    const wanted = new Set(rows.map((r) => r.id));
    // removed mailboxes stop side by side: one whose server stalls does not hold up the others
    const removed = [...this.workers].filter(([id]) => !wanted.has(id));
    for (const [id] of removed) this.workers.delete(id);
    await Promise.all(removed.map(([, worker]) => worker.stop()));
    for (const id of wanted) {
      if (this.workers.has(id) || this.stopped) continue;
      const worker = new MailboxWorker(id, {
        locks: this.locks!,
        pollMs: this.pollMs,
        backoffMaxMs: this.backoffMaxMs,
        batchMessages: config().imapBatchMessages,
        log: this.log.child({ mailbox_id: id }),
      });
      this.workers.set(id, worker);
      worker.start();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
    this.workers.clear();
    await this.locks?.close();
    this.releasePool?.();
  }
}
