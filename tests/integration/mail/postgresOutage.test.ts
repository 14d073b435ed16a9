/**
 * PostgreSQL going away under load: the helpdesk (roles imap, mailer, api, one process)
 * runs on a cluster of the test's own, which is stopped for 10 s while 200 messages
 * arrive in Dovecot, then started again. Without a restart of the helpdesk every message
 * ends in exactly one row and one ticket, the cursor reaches the last UID, `/api/health`
 * says the database is unreachable while it is and recovers once it is back, the mailer
 * sends the acknowledgements again, and the process still stops cleanly on SIGTERM.
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { closeDatabase, createKnex, db, useDatabase } from '../../../src/db/knex';
import { migrateLatest } from '../../../src/db/migrate';
import type { Mailbox } from '../../../src/models/Mailbox';
import { updateSettings } from '../../../src/services/config/settings';
import { exited, startRole } from '../../helpers/cli';
import { Dovecot } from '../../helpers/dovecot';
import { makeContact, makeCustomer } from '../../helpers/factories';
import { buildMail, makeMailbox } from '../../helpers/mail';
import { OwnPostgres } from '../../helpers/ownPostgres';
import { SmtpSink } from '../../helpers/smtpSink';
import { waitFor } from '../../helpers/waitFor';

jest.setTimeout(120_000);

const TOTAL = 200;
const BEFORE_OUTAGE = 50;
const OUTAGE_MS = 10_000;

let pg: OwnPostgres | undefined;
let dovecot: Dovecot | undefined;
let sink: SmtpSink | undefined;
let child: ChildProcess | undefined;

beforeAll(async () => {
  pg = await OwnPostgres.start();
  const setup = createKnex(pg.url(), 1);
  try {
    await setup.raw('create database helpdesk');
  } finally {
    await setup.destroy();
  }
  useDatabase(createKnex(pg.url('helpdesk'), 3));
  await migrateLatest(db());
  dovecot = await Dovecot.start();
  sink = await SmtpSink.start();
});
afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited(child);
  }
  await closeDatabase();
  await sink?.stop();
  await dovecot?.destroy();
  await pg?.destroy();
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

interface HealthAnswer {
  status: number;
  body: unknown;
}

/** `GET /api/health`, or undefined when no answer came within 5 s (a fresh connection each time, none kept alive). */
function health(port: number): Promise<HealthAnswer | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/api/health', agent: false, timeout: 5_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        } catch {
          resolve({ status: res.statusCode ?? 0, body: text });
        }
      });
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

const count = async (table: string, where: Record<string, unknown>) => Number((await db()(table).where(where).count({ n: '*' }))[0]!.n);

test('PostgreSQL stopped for 10 s while 200 messages arrive: the helpdesk recovers by itself, nothing lost or doubled', async () => {
  const customer = await makeCustomer();
  const contact = await makeContact(customer, { email: `outage.customer.${process.pid}@acme.test` });
  const user = `outage${process.pid}`;
  const mailbox: Mailbox = await makeMailbox({
    imap_host: '127.0.0.1',
    imap_port: dovecot!.port,
    imap_secure: false,
    imap_username: user,
    imap_password: 'secret',
  });
  // the mailer gets work of its own: an acknowledgement per ticket
  await updateSettings({ auto_acknowledge: true });

  const port = await freePort();
  const proc = startRole('imap,mailer,api', pg!.url('helpdesk'), {
    PORT: String(port),
    HOST: '127.0.0.1',
    SMTP_URL: sink!.url,
    IMAP_POLL_SECONDS: '1',
    IMAP_BACKOFF_MAX_SECONDS: '2',
    IMAP_BATCH_MESSAGES: '25',
    MAILER_POLL_SECONDS: '0.5',
    // longer than the outage: what was sent while the database was down is recorded when it is back, not sent again
    MAILER_LEASE_SECONDS: '30',
    AUTO_MAIL_PER_HOUR: '1000',
  });
  child = proc.child;
  const pid = child.pid;
  const ready = await waitFor(
    async () => (await health(port))?.status === 200 && (await db()('mailboxes').where({ id: mailbox.id }).first()).last_uid !== null,
    {
      timeoutMs: 30_000,
      what: `the helpdesk up and the cursor set: ${proc.output()}`,
    },
  );
  expect(ready).toBe(true);

  const messageIds = Array.from({ length: TOTAL }, (_, i) => `<outage-${process.pid}-${i}@acme.test>`);
  const messages = await Promise.all(messageIds.map((messageId, i) => buildMail({ from: contact.email, subject: `outage ${i}`, messageId })));

  const uids = await dovecot!.append(user, messages.slice(0, BEFORE_OUTAGE));
  // the stop lands while the helpdesk is at work on them
  const storedBeforeStop = await waitFor(() => count('inbound_emails', { mailbox_id: mailbox.id }), {
    timeoutMs: 20_000,
    intervalMs: 20,
    what: 'the first of them stored',
  });
  // the test's own pool is closed over the outage (its idle connections would only log their end)
  await closeDatabase();
  const stoppedAt = Date.now();
  pg!.stop();
  // health is asked all through the outage; each answer is kept with the time it came
  const answers: (HealthAnswer & { at: number })[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const answer = await health(port);
      if (answer) answers.push({ ...answer, at: Date.now() });
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  uids.push(...(await dovecot!.append(user, messages.slice(BEFORE_OUTAGE))));
  const appendedAt = Date.now();
  await new Promise((r) => setTimeout(r, Math.max(0, stoppedAt + OUTAGE_MS - Date.now())));
  polling = false;
  await poller;
  const resumedAt = Date.now();
  pg!.resume();
  useDatabase(createKnex(pg!.url('helpdesk'), 3));
  expect(uids).toHaveLength(TOTAL);

  const down = answers.filter((a) => a.status !== 200);
  expect(down.length).toBeGreaterThan(0);
  for (const a of down) expect(a).toMatchObject({ status: 503, body: { status: 'degraded', database: 'unreachable' } });
  // once PostgreSQL is down, health never says ok until it is back (the first poll may come before the stop took hold)
  expect(answers.filter((a) => a.status === 200 && a.at > stoppedAt + 1_000)).toEqual([]);

  const back = await waitFor(async () => (await health(port))?.status === 200, { timeoutMs: 15_000, what: 'health ok again' });
  expect(back).toBe(true);
  const healthBackMs = Date.now() - resumedAt;
  expect(await health(port)).toEqual({ status: 200, body: { status: 'ok', database: 'ok' } });

  const lastUid = Math.max(...uids);
  await waitFor(
    async () =>
      (await count('inbound_emails', { mailbox_id: mailbox.id })) >= TOTAL &&
      Number((await db()('mailboxes').where({ id: mailbox.id }).first()).last_uid) === lastUid,
    { timeoutMs: 60_000, what: `all ${TOTAL} stored and the cursor at ${lastUid}: ${proc.output().slice(-3000)}` },
  );
  const allInAt = Date.now();

  // nothing doubled: one row per message, one ticket per message
  const rows: { message_id: string; outcome: string; ticket_id: number | null; imap_uid: number; reason: string | null; error: string | null }[] = await db()(
    'inbound_emails',
  )
    .where({ mailbox_id: mailbox.id })
    .select('message_id', 'outcome', 'ticket_id', 'imap_uid', 'reason', 'error');
  expect(rows).toHaveLength(TOTAL);
  expect(new Set(rows.map((r) => r.message_id))).toEqual(new Set(messageIds));
  expect(new Set(rows.map((r) => r.imap_uid))).toEqual(new Set(uids));
  // any other outcome, by outcome and error (a message recorded failed because the database was away is lost to the customer)
  const others = new Map<string, number[]>();
  for (const r of rows.filter((r) => r.outcome !== 'ticket_created')) {
    const key = `${r.outcome}: ${r.reason ?? ''} ${r.error ?? ''}`;
    others.set(key, [...(others.get(key) ?? []), r.imap_uid]);
  }
  expect(Object.fromEntries(others)).toEqual({});
  expect(new Set(rows.map((r) => r.ticket_id)).size).toBe(TOTAL);
  expect(await count('tickets', { mailbox_id: mailbox.id })).toBe(TOTAL);
  expect(Number((await db()('mailboxes').where({ id: mailbox.id }).first()).last_uid)).toBe(lastUid);

  // the mailer came back too: every acknowledgement is delivered
  const acks = await db()('outbound_emails').where({ template: 'ticket_acknowledgement' }).select('message_id', 'state');
  expect(acks).toHaveLength(TOTAL);
  await waitFor(async () => (await db()('outbound_emails').where({ template: 'ticket_acknowledgement', state: 'sent' }).count({ n: '*' }))[0]!.n === TOTAL, {
    timeoutMs: 30_000,
    what: 'every acknowledgement sent',
  });
  const sunk = sink!.messages.map((m) => /^Message-ID:\s*(<[^>]+>)/im.exec(m.raw.toString('utf8', 0, 4000))?.[1]);
  expect(new Set(sunk)).toEqual(new Set(acks.map((a: { message_id: string }) => a.message_id)));
  // nothing doubled either
  expect(sunk).toHaveLength(TOTAL);

  // the same process all along, and it still stops cleanly
  expect(child.pid).toBe(pid);
  expect(child.exitCode).toBeNull();
  expect(child.signalCode).toBeNull();
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([exited(child), new Promise<string>((r) => (timer = setTimeout(() => r('no exit within 20 s'), 20_000)))]);
  clearTimeout(timer);
  expect(code).toBe(0);
  expect(proc.output()).not.toMatch(/unhandled|uncaught/i);

  process.stdout.write(
    `postgres outage: ${BEFORE_OUTAGE} appended before the stop (${storedBeforeStop} of them stored), the other ${TOTAL - BEFORE_OUTAGE} in ${appendedAt - stoppedAt} ms while down; ` +
      `down ${resumedAt - stoppedAt} ms, ${down.length} health answers 503; health ok ${healthBackMs} ms after the start, ` +
      `all ${TOTAL} stored ${allInAt - resumedAt} ms after it; ${sunk.length - new Set(sunk).size} acknowledgements sent twice\n`,
  );
});
