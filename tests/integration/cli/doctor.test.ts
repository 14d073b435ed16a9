/**
 * `helpdesk doctor` as a child process against the test database, a real Dovecot and the
 * SMTP sink: all `ok` and exit 0 when everything answers; a `FAIL` line per broken part and
 * a non-zero exit otherwise, with no password or secret in what it prints.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { db } from '../../../src/db/knex';
import { childEnv, runCli } from '../../helpers/cli';
import { Dovecot } from '../../helpers/dovecot';
import { makeMailbox } from '../../helpers/mail';
import { SmtpSink } from '../../helpers/smtpSink';
import { useTestDatabase } from '../../helpers/useTestDatabase';

const database = useTestDatabase();
jest.setTimeout(120_000);

let dovecot: Dovecot;
let sink: SmtpSink;
let workDir: string;
let chromium: string;

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Debian's Chromium where it is installed; elsewhere a stand-in that answers `--version` as it does. */
function chromiumPath(): string {
  if (fs.existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  const standIn = path.join(workDir, 'chromium');
  fs.writeFileSync(standIn, '#!/bin/sh\necho "Chromium 0.0 stand-in"\n', { mode: 0o755 });
  return standIn;
}

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'helpdesk-doctor-'));
  chromium = chromiumPath();
  [dovecot, sink] = await Promise.all([Dovecot.start(), SmtpSink.start()]);
});
afterAll(async () => {
  await Promise.all([dovecot?.destroy(), sink?.stop()]);
  fs.rmSync(workDir, { recursive: true, force: true });
});

function doctor(overrides: Record<string, string | undefined> = {}) {
  return runCli(
    ['doctor'],
    childEnv({
      DATABASE_URL: database.url(),
      HELPDESK_DATA_DIR: workDir,
      SMTP_URL: sink.url,
      CHROMIUM_PATH: chromium,
      LOG_LEVEL: 'warn',
      ...overrides,
    }),
  );
}

const lines = (stdout: string) => stdout.trimEnd().split('\n');

test('a healthy setup: every check ok, one line each, exit 0', async () => {
  const box = await makeMailbox({
    imap_host: '127.0.0.1',
    imap_port: dovecot.port,
    imap_secure: false,
    imap_username: `doctor${process.pid}`,
    imap_password: 'secret',
  });
  await makeMailbox({ active: false, imap_host: '127.0.0.1', imap_port: await closedPort(), imap_username: 'off', imap_password: 'x' });

  const r = await doctor();
  expect(r.code).toBe(0);
  const out = lines(r.stdout);
  expect(out.every((l) => l.startsWith('ok   '))).toBe(true);
  expect(out.map((l) => l.slice(5).split(':')[0])).toEqual(['config', 'secret', 'database', 'migrations', `mailbox ${box.email}`, 'smtp', 'chromium']);
  expect(r.stdout).toMatch(/^ok {3}migrations: all applied$/m);
  expect(r.stdout).toContain(`IMAP login as doctor${process.pid} at 127.0.0.1:${dovecot.port} accepted`);
  expect(r.stdout).toContain(`smtp: ${sink.url}`);
  expect(r.stdout).not.toContain(process.env.HELPDESK_SECRET!);
});

test('another HELPDESK_SECRET than the one that stored the IMAP passwords: FAIL, saying so', async () => {
  const r = await doctor({ HELPDESK_SECRET: 'another-secret-0123456789' });
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(
    /^FAIL mailbox \S+: the stored IMAP password of doctor\d+ at .* cannot be decrypted with this secret \(was HELPDESK_SECRET changed\?\)$/m,
  );
});

test('no SMTP_URL is fine: the mail goes to .eml files', async () => {
  const r = await doctor({ SMTP_URL: undefined });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`ok   smtp: SMTP_URL is not set: outgoing mail is written as .eml files under ${path.join(workDir, 'outgoing')}`);
});

test('a closed IMAP port, a wrong password, a dead SMTP server, no Chromium: FAIL each, exit 1, no password shown', async () => {
  const closed = await closedPort();
  const unreachable = await makeMailbox({
    imap_host: '127.0.0.1',
    imap_port: closed,
    imap_secure: false,
    imap_username: 'nobody',
    imap_password: 'imap-pw-0d1e',
  });
  const refused = await makeMailbox({
    imap_host: '127.0.0.1',
    imap_port: dovecot.port,
    imap_secure: false,
    imap_username: `doctor${process.pid}b`,
    imap_password: 'wrong-pw-7c3a',
  });
  const r = await doctor({ SMTP_URL: `smtp://mailer:smtp-pw-5b9f@127.0.0.1:${closed}`, CHROMIUM_PATH: path.join(workDir, 'no-chromium') });
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(new RegExp(`^FAIL mailbox ${unreachable.email}: IMAP login as nobody at 127\\.0\\.0\\.1:${closed} failed: .*ECONNREFUSED`, 'm'));
  expect(r.stdout).toMatch(new RegExp(`^FAIL mailbox ${refused.email}: IMAP login as .* failed: .*authentication failed`, 'mi'));
  expect(r.stdout).toMatch(/^ok {3}mailbox .*accepted$/m); // the good one of the first test is still fine
  expect(r.stdout).toMatch(new RegExp(`^FAIL smtp: smtp://mailer:\\*\\*\\*@127\\.0\\.0\\.1:${closed}: .*ECONNREFUSED`, 'm'));
  expect(r.stdout).toMatch(/^FAIL chromium: .*no-chromium does not exist/m);
  for (const secret of ['imap-pw-0d1e', 'wrong-pw-7c3a', 'smtp-pw-5b9f', process.env.HELPDESK_SECRET!]) {
    expect(r.stdout + r.stderr).not.toContain(secret);
  }
  await db()('mailboxes').whereIn('id', [unreachable.id, refused.id]).update({ active: false });
});

test('pending migrations and an unreachable database fail, and what needs them is skipped', async () => {
  const last = await db()('knex_migrations').orderBy('id', 'desc').first();
  await db()('knex_migrations').where({ id: last.id }).delete();
  try {
    const pending = await doctor();
    expect(pending.code).toBe(1);
    expect(pending.stdout).toContain(`FAIL migrations: 1 not applied (run \`helpdesk migrate\`; \`helpdesk start\` also migrates): ${last.name}`);
  } finally {
    await db()('knex_migrations').insert(last);
  }

  const port = await closedPort();
  const down = await doctor({ DATABASE_URL: `postgres://postgres:db-pw-91aa@127.0.0.1:${port}/x` });
  expect(down.code).toBe(1);
  expect(down.stdout).toMatch(new RegExp(`^FAIL database: cannot connect to postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${port}/x: .*ECONNREFUSED`, 'm'));
  expect(down.stdout).toMatch(/^skip migrations: no database$/m);
  expect(down.stdout).toMatch(/^skip mailboxes: no database$/m);
  expect(down.stdout + down.stderr).not.toContain('db-pw-91aa');
});

test('a bad configuration: each problem a FAIL line, the secret under its own name', async () => {
  const r = await doctor({ HELPDESK_SECRET: 'short', PORT: 'eighty' });
  expect(r.code).toBe(1);
  expect(lines(r.stdout)).toEqual([
    expect.stringMatching(/^FAIL config: PORT: /),
    'FAIL secret: HELPDESK_SECRET: must be at least 16 characters',
    'skip others: not checked until the configuration is valid',
  ]);
  expect(r.stdout + r.stderr).not.toContain('short');
});
