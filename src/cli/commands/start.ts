/**
 * `helpdesk start [--roles api,...] [--no-migrate]`: migrates, then runs the roles in this
 * process until SIGTERM/SIGINT, when it stops taking work, finishes what is in flight,
 * closes everything and exits 0.
 */
import http from 'node:http';
import { config } from '../../config';
import { db } from '../../db/knex';
import { migrateLatest } from '../../db/migrate';
import { openDatabase } from '../../db/open';
import { createApp } from '../../http/app';
import { logger } from '../../logger';
import { ImapRole } from '../../mail/imap/imapRole';
import { closeCpuPool } from '../../mail/inbound/cpuPool';
import { MailerRole } from '../../mail/outbound/mailerRole';
import { SchedulerRole } from '../../jobs/schedulerRole';
import { closePdfRenderer } from '../../rendering/pdf';
import { adminHasToken } from '../../services/auth/tokens';
import { UsageError, parse } from '../args';

export const ROLES = ['api', 'imap', 'mailer', 'scheduler'] as const;

interface RunningRole {
  name: string;
  stop(): Promise<void>;
  /** The API's address as a browser reaches it (`http://host:port/api`). */
  url?: string;
}

/** The command that makes the first admin and prints its token. */
export const FIRST_ADMIN_COMMAND = 'npx helpdesk user create --email you@example.com --name "You" --role admin';

/** `http://HOST:PORT/api`, with a wildcard address shown as localhost and IPv6 in brackets. */
export function apiUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}/api`;
}

function startApi(): Promise<RunningRole> {
  const cfg = config();
  const server = http.createServer(createApp().callback());
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : cfg.port;
      logger.info({ host: cfg.host, port }, 'api listening');
      resolve({
        name: 'api',
        url: apiUrl(cfg.host, port),
        stop: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}

/**
 * The closing lines of the start-up, on stdout for the person who ran it: where the API and
 * its docs are, where the data lives, and, until some admin holds a token, how to make one.
 */
async function printWelcome(url: string | undefined): Promise<void> {
  const lines: string[] = [];
  if (url) lines.push(`helpdesk is running: API ${url}, docs ${url}/docs`);
  lines.push(`data directory: ${config().dataDir}`);
  let hasAdmin = true;
  try {
    hasAdmin = await adminHasToken();
  } catch (e) {
    logger.warn({ err: e }, 'could not tell whether an admin has a token');
  }
  if (!hasAdmin) lines.push(`no admin has an API token yet; make the first one with: ${FIRST_ADMIN_COMMAND}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function startCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    roles: { type: 'string', default: ROLES.join(',') },
    'no-migrate': { type: 'boolean', default: false },
  });
  const roles = String(values.roles)
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  for (const r of roles) {
    if (!(ROLES as readonly string[]).includes(r)) throw new UsageError(`unknown role ${r}; roles are ${ROLES.join(', ')}`);
  }
  const stopRequested = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const database = await openDatabase(config());
  if (!values['no-migrate']) {
    const applied = await migrateLatest(db());
    logger.info({ applied }, 'migrations applied');
  }
  const running: RunningRole[] = [];
  if (roles.includes('api')) running.push(await startApi());
  if (roles.includes('imap')) {
    const imap = new ImapRole();
    await imap.start();
    running.push({ name: 'imap', stop: () => imap.stop() });
  }
  if (roles.includes('mailer')) {
    const mailer = new MailerRole();
    await mailer.start();
    running.push({ name: 'mailer', stop: () => mailer.stop() });
  }
  if (roles.includes('scheduler')) {
    const scheduler = new SchedulerRole();
    await scheduler.start();
    running.push({ name: 'scheduler', stop: () => scheduler.stop() });
  }

  await printWelcome(running.find((r) => r.url)?.url);
  const signal = await stopRequested;
  logger.info({ signal }, 'stopping');
  for (const role of running.reverse()) await role.stop();
  await closeCpuPool();
  await closePdfRenderer();
  await database.close();
  logger.info('stopped');
  return 0;
}
