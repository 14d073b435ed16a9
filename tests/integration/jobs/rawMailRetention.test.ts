/**
 * `raw-mail-retention` (RAW_MAIL_KEEP_DAYS): the raw original of old mail whose ticket is
 * closed, or that has no ticket, is removed and its blob released, unless another row
 * still uses the blob; quarantined and failed mail, mail of open tickets, recent mail and
 * a suppression's evidence keep theirs; unset, nothing is removed. The row stays, and
 * `GET .../raw` answers 410.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setNow } from '../../../src/clock';
import { type Config, loadConfig, setConfig } from '../../../src/config';
import { db } from '../../../src/db/knex';
import type { JobSummary } from '../../../src/jobs/job';
import { ingestMessage } from '../../../src/mail/inbound/ingest';
import type { Mailbox } from '../../../src/models/Mailbox';
import { closeTicket, reopenTicket } from '../../../src/services/tickets/lifecycle';
import { childEnv, runCli } from '../../helpers/cli';
import { api, makeContact, makeCustomer, useStaff } from '../../helpers/factories';
import { buildMail, makeMailbox } from '../../helpers/mail';
import { runJob } from '../../helpers/jobs';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { waitFor } from '../../helpers/waitFor';

const database = useTestDatabase();
const staff = useStaff();
jest.setTimeout(60_000);

const DAY = 86_400_000;
const T0 = new Date('2026-01-10T09:00:00Z');
const at = (days: number) => new Date(T0.getTime() + days * DAY);

const withEnv = (extra: Record<string, string | undefined>): Config => {
  const env = { ...process.env, ...extra };
  delete env.RAW_MAIL_KEEP_DAYS;
  if (extra.RAW_MAIL_KEEP_DAYS !== undefined) env.RAW_MAIL_KEEP_DAYS = extra.RAW_MAIL_KEEP_DAYS;
  return loadConfig(env);
};

let mailbox: Mailbox;
let rejecting: Mailbox;

beforeAll(async () => {
  mailbox = await makeMailbox();
  rejecting = await makeMailbox({ unknown_sender: 'reject' });
});
afterEach(() => {
  setNow(undefined);
  setConfig(loadConfig());
});

async function retention(when: Date, keepDays?: string): Promise<JobSummary> {
  setConfig(withEnv({ RAW_MAIL_KEEP_DAYS: keepDays }));
  return runJob('raw-mail-retention', when);
}

async function ingest(target: Mailbox, raw: Buffer, when: Date) {
  setNow(when);
  try {
    return await ingestMessage({ mailbox: target, raw });
  } finally {
    setNow(undefined);
  }
}

/** A contact's mail that opened a ticket at `when`: the ticket and the inbound row. */
async function ticketMail(when: Date) {
  const contact = await makeContact();
  const r = await ingest(mailbox, await buildMail({ from: contact.email, to: mailbox.email, subject: 'Printer', text: 'It is broken.' }), when);
  expect(r.outcome).toBe('ticket_created');
  return { ticketId: r.ticketId!, inboundId: r.inboundEmailId! };
}

const row = async (id: number) => db()('inbound_emails').where({ id }).first();
const blobExists = async (sha256: string) => Boolean(await db()('blobs').where({ sha256 }).first('sha256'));
const chunks = async (sha256: string) => Number((await db()('blob_chunks').where({ sha256 }).count({ n: '*' }))[0]!.n);
const rawOf = (id: number) => api().get(`/api/v1/ticketing/inbound_emails/${id}/raw`).set(staff.agent.auth);

describe('raw-mail-retention', () => {
  it('removes old raw mail of closed tickets and unticketed mail, and nothing more', async () => {
    const closed = await ticketMail(at(0));
    const open = await ticketMail(at(0));
    const recent = await ticketMail(at(50));
    // one stranger's message, to a quarantining and a rejecting mailbox: two rows, one blob
    const strangerRaw = await buildMail({ from: 'stranger@unknown.test', subject: 'Who are you', messageId: `<shared-${process.pid}@unknown.test>` });
    const quarantined = await ingest(mailbox, strangerRaw, at(0));
    const rejected = await ingest(rejecting, strangerRaw, at(0));
    expect([quarantined.outcome, rejected.outcome]).toEqual(['quarantined', 'rejected']);
    // a failed message (the pipeline's error path, simulated) and a suppression's evidence
    const failed = await ingest(rejecting, await buildMail({ from: 'x@unknown.test', subject: 'Failed' }), at(0));
    await db()('inbound_emails').where({ id: failed.inboundEmailId }).update({ outcome: 'failed', error: 'Error: simulated' });
    const evidence = await ingest(rejecting, await buildMail({ from: 'mailer-daemon@far.test', subject: 'Undelivered' }), at(0));
    await db()('undeliverable_addresses').insert({
      address: `gone-${process.pid}@far.test`,
      reason: '5.1.1 no such user',
      inbound_email_id: evidence.inboundEmailId,
    });
    await closeTicket(closed.ticketId);
    await closeTicket(recent.ticketId);
    const before = await row(closed.inboundId);
    const shared = (await row(quarantined.inboundEmailId!)).raw_sha256;
    expect((await row(rejected.inboundEmailId!)).raw_sha256).toBe(shared);
    expect(await chunks(before.raw_sha256)).toBeGreaterThan(0);

    // unset (or 0): everything is kept
    expect(await retention(at(100))).toMatchObject({ raw_removed: 0, skipped: expect.stringContaining('RAW_MAIL_KEEP_DAYS') });
    expect(await retention(at(100), '0')).toMatchObject({ raw_removed: 0 });
    expect(await db()('inbound_emails').whereNull('raw_sha256')).toHaveLength(0);

    expect(await retention(at(60), '30')).toEqual({ raw_removed: 2, blobs_released: 1 });
    // the closed ticket's mail: raw gone, blob and chunks gone, the row stays
    const after = await row(closed.inboundId);
    expect(after).toMatchObject({ raw_sha256: null, raw_kept_days: 30, outcome: 'ticket_created', ticket_id: closed.ticketId, message_id: before.message_id });
    expect(after.raw_removed_at).toEqual(at(60));
    expect(await blobExists(before.raw_sha256)).toBe(false);
    expect(await chunks(before.raw_sha256)).toBe(0);
    // the rejected copy lost its raw; the quarantined copy still uses the blob, which stays
    expect((await row(rejected.inboundEmailId!)).raw_sha256).toBeNull();
    expect((await row(quarantined.inboundEmailId!)).raw_sha256).toBe(shared);
    expect(await blobExists(shared)).toBe(true);
    // kept: open ticket, recent (closed) ticket, quarantined, failed, a suppression's evidence
    for (const id of [open.inboundId, recent.inboundId, quarantined.inboundEmailId!, failed.inboundEmailId!, evidence.inboundEmailId!]) {
      expect((await row(id)).raw_sha256).not.toBeNull();
    }
    expect(await retention(at(60), '30')).toEqual({ raw_removed: 0, blobs_released: 0 }); // idempotent

    // the raw route: 410 for what was removed, the original for the rest
    const gone = await rawOf(closed.inboundId).expect(410);
    expect(gone.body.error).toMatchObject({ code: 'gone', details: { keep_days: 30, removed_at: '2026-03-11 09:00:00' } });
    expect(gone.body.error.message).toContain('removed after 30 days');
    await rawOf(open.inboundId).expect(200);
    const shown = await api().get(`/api/v1/ticketing/inbound_emails/${closed.inboundId}`).set(staff.agent.auth).expect(200);
    expect(shown.body).toMatchObject({ raw_removed_at: '2026-03-11 09:00:00', outcome: 'ticket_created' });
    expect(shown.body).not.toHaveProperty('raw_sha256');

    // assigned later, the quarantined copy is the blob's last user: once its ticket is closed and old, the blob goes
    const customer = await makeCustomer();
    const assigned = await api()
      .post(`/api/v1/ticketing/inbound_emails/${quarantined.inboundEmailId}/assign`)
      .set(staff.agent.auth)
      .send({ customer_id: customer.id })
      .expect(200);
    await closeTicket(assigned.body.ticket_id);
    expect(await retention(at(61), '30')).toEqual({ raw_removed: 1, blobs_released: 1 });
    expect(await blobExists(shared)).toBe(false);
    await rawOf(quarantined.inboundEmailId!).expect(410);
  });

  it('keeps the raw of a reopened ticket; a deleted ticket leaves mail with no ticket, which goes', async () => {
    const reopened = await ticketMail(at(0));
    const deleted = await ticketMail(at(0));
    await closeTicket(reopened.ticketId);
    await reopenTicket(reopened.ticketId);
    await api().delete(`/api/v1/tickets/${deleted.ticketId}`).set(staff.admin.auth).expect(200);
    expect((await row(deleted.inboundId)).ticket_id).toBeNull();
    // 180 days: the first test's mail of day 50 is not old enough yet
    expect(await retention(at(200), '180')).toEqual({ raw_removed: 1, blobs_released: 1 });
    expect((await row(deleted.inboundId)).raw_sha256).toBeNull();
    expect((await row(reopened.inboundId)).raw_sha256).not.toBeNull();
  });

  it('with BLOB_STORE=filesystem, removes the file after the commit', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hd-retention-'));
    try {
      setConfig(withEnv({ BLOB_STORE: 'filesystem', BLOB_DIR: dir }));
      const contact = await makeContact();
      setNow(at(0));
      const r = await ingestMessage({ mailbox, raw: await buildMail({ from: contact.email, to: mailbox.email, subject: 'On disk' }) });
      setNow(undefined);
      await closeTicket(r.ticketId!);
      const sha256 = (await row(r.inboundEmailId!)).raw_sha256 as string;
      const file = path.join(dir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
      expect(fs.existsSync(file)).toBe(true);
      // 365 days: the first test's mail of day 50 is not old enough yet
      setConfig(withEnv({ BLOB_STORE: 'filesystem', BLOB_DIR: dir, RAW_MAIL_KEEP_DAYS: '365' }));
      expect(await runJob('raw-mail-retention', at(400))).toMatchObject({ raw_removed: 1, blobs_released: 1 });
      await waitFor(() => !fs.existsSync(file), { what: 'the blob file removed' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs from the CLI: jobs list names it, jobs run removes with the clock at --now and keeps a blob another row uses', async () => {
    const env = childEnv({ DATABASE_URL: database.url(), HELPDESK_SECRET: process.env.HELPDESK_SECRET, LOG_LEVEL: 'warn', RAW_MAIL_KEEP_DAYS: '30' });
    const listed = await runCli(['jobs', 'list'], env);
    expect(listed.stdout).toContain('raw-mail-retention');
    expect(listed.stdout).toContain('quarantine-digest');
    const raw = await buildMail({ from: 'someone@unknown.test', subject: 'Twice', messageId: `<twice-${process.pid}@unknown.test>` });
    const kept = await ingest(mailbox, raw, at(500));
    const removed = await ingest(rejecting, raw, at(500));
    const ran = await runCli(['jobs', 'run', 'raw-mail-retention', '--now', at(600).toISOString()], env);
    expect(ran.stderr).toContain('raw messages removed'); // progress
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/^raw-mail-retention at 2027-09-02T09:00:00\.000Z: [1-9]\d* raw removed, \d+ blobs released \(/);
    expect((await row(removed.inboundEmailId!)).raw_sha256).toBeNull();
    const sha256 = (await row(kept.inboundEmailId!)).raw_sha256;
    expect(await blobExists(sha256)).toBe(true);
    await rawOf(kept.inboundEmailId!).expect(200);
  });
});
