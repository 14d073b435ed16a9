/**
 * PostgreSQL session advisory locks held on one dedicated connection per process, outside
 * the pool: a process holding many mailboxes uses one connection for all their locks, and
 * when that connection dies every lock is known lost at once (PostgreSQL has released them
 * too, so another process may take the work over).
 */
import pg from 'pg';
import { db, urlOf } from './knex';

export class SessionLocks {
  private client?: pg.Client;
  private connecting?: Promise<pg.Client>;
  private readonly held = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly connectionString: string) {}

  /** Locks for the process's database. */
  static forDatabase(): SessionLocks {
    return new SessionLocks(urlOf(db()));
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.connectionString });
      const lost = () => {
        if (this.client === client) this.client = undefined;
        this.held.clear();
      };
      client.on('error', lost);
      client.on('end', lost);
      await client.connect();
      this.client = client;
      return client;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** Runs statements on the lock connection one at a time (pg wants no overlap). */
  private serial<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => work(await this.connection()));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async tryLock(cls: number, id: number): Promise<boolean> {
    return this.serial(async (client) => {
      const { rows } = await client.query('select pg_try_advisory_lock($1, $2) as ok', [cls, id]);
      if (rows[0]?.ok) this.held.add(`${cls}:${id}`);
      return Boolean(rows[0]?.ok);
    });
  }

  /** Whether the lock is still ours (false once its connection is gone). */
  isHeld(cls: number, id: number): boolean {
    return this.held.has(`${cls}:${id}`);
  }

  async unlock(cls: number, id: number): Promise<void> {
    if (!this.held.delete(`${cls}:${id}`) || !this.client) return;
    await this.serial((client) => client.query('select pg_advisory_unlock($1, $2)', [cls, id])).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.held.clear();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
