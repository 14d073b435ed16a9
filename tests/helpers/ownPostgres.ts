/**
 * A PostgreSQL cluster of a test's own, for tests that stop the database: 5432 serves every
 * other test database, so an outage there would break the other test files running at the
 * same time. `initdb` in a temporary directory owned by `postgres` (PostgreSQL refuses to
 * run as root), trust auth, a free port of 127.0.0.1, no fsync (the data is thrown away).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const BIN_DIR = process.env.PG_BIN_DIR ?? '/usr/lib/postgresql/15/bin';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a PostgreSQL program as the `postgres` user when we are root (as the tests run here). */
function asPostgres(program: string, args: string[], timeout = 60_000): void {
  const bin = path.join(BIN_DIR, program);
  // stdio ignored: the server inherits pipes and keeps them open, which would block execFileSync
  if (process.getuid?.() === 0) execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], { stdio: 'ignore', timeout });
  else execFileSync(bin, args, { stdio: 'ignore', timeout });
}

export class OwnPostgres {
  private constructor(
    /** The temporary directory: `data/` and `postgres.log`. */
    readonly dir: string,
    readonly port: number,
  ) {}

  private get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  /** The server's log, for failure messages. */
  get logFile(): string {
    return path.join(this.dir, 'postgres.log');
  }

  /** The URL of database `name` (superuser `postgres`, no password). */
  url(name = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${name}`;
  }

  /** A new cluster, initialised and started. */
  static async start(): Promise<OwnPostgres> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'own-pg-'));
    if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', dir]);
    const server = new OwnPostgres(dir, await freePort());
    try {
      asPostgres('initdb', ['-D', server.dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
      server.resume();
    } catch (e) {
      await server.destroy();
      throw e;
    }
    return server;
  }

  /** Starts (again) the server on the same port and data, and waits until it accepts connections. */
  resume(): void {
    const options = [
      'listen_addresses=127.0.0.1',
      `port=${this.port}`,
      `unix_socket_directories=${this.dir}`,
      'fsync=off',
      'synchronous_commit=off',
      'full_page_writes=off',
    ]
      .map((o) => `-c ${o}`)
      .join(' ');
    asPostgres('pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-o', options, '-w', '-t', '60', 'start']);
  }

  /** Stops the server as an outage would: every connection is cut (fast shutdown). */
  stop(): void {
    if (!fs.existsSync(path.join(this.dataDir, 'postmaster.pid'))) return;
    asPostgres('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
  }

  /** Stops the server (at once) and removes its files. */
  async destroy(): Promise<void> {
    try {
      if (fs.existsSync(path.join(this.dataDir, 'postmaster.pid'))) asPostgres('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** The last `bytes` of the server's log. */
  logTail(bytes = 4000): string {
    try {
      const log = fs.readFileSync(this.logFile, 'utf8');
      return log.slice(-bytes);
    } catch {
      return '';
    }
  }
}
