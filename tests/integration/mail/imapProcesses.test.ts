/**
 * Faults across processes: the `imap` role killed with SIGKILL in the middle of a batch
 * and restarted stores every message exactly once; two `imap` processes on the same
 * mailboxes never store a message twice, and one takes over when the other dies.
 */
import type { ChildProcess } from 'node:child_process';
import { db } from '../../../src/db/knex';
import type { Mailbox } from '../../../src/models/Mailbox';
import { exited, startRole } from '../../helpers/cli';
import { Dovecot } from '../../helpers/dovecot';
import { makeContact, makeCustomer } from '../../helpers/factories';
import { buildMail, makeMailbox } from '../../helpers/mail';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { waitFor } from '../../helpers/waitFor';

const database = useTestDatabase();
jest.setTimeout(180_000);

let dovecot: Dovecot;
let contactEmail: string;
const children: ChildProcess[] = [];
let seq = 0;

beforeAll(async () => {
  dovecot = await Dovecot.start();
  const customer = await makeCustomer();
  contactEmail = (await makeContact(customer, { email: `proc.customer.${process.pid}@acme.test` })).email;
});
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await exited(c);
    }
  }
  await db()('mailboxes').update({ active: false });
});
afterAll(async () => {
  await dovecot?.destroy();
});

function imapProcess() {
  // batches smaller than the 300 messages, so the kill lands between commits
  const proc = startRole('imap', database.url(), { IMAP_POLL_SECONDS: '0.5', IMAP_BACKOFF_MAX_SECONDS: '1', IMAP_BATCH_MESSAGES: '50' });
  children.push(proc.child);
  return proc;
}

async function filledMailbox(count: number): Promise<Mailbox> {
  const box = await makeMailbox({
    imap_host: '127.0.0.1',
    imap_port: dovecot.port,
    imap_secure: false,
    imap_username: `proc${process.pid}x${++seq}`,
    imap_password: 'secret',
    import_existing: 'all',
  });
  const messages: Buffer[] = [];
  for (let i = 0; i < count; i++) messages.push(await buildMail({ from: contactEmail, subject: `message ${i}`, messageId: `<m${seq}-${i}@proc.test>` }));
  await dovecot.append(box.imap_username!, messages);
  return box;
}

const stored = async (boxIds: number[]) => Number((await db()('inbound_emails').whereIn('mailbox_id', boxIds).count({ n: '*' }))[0]!.n);

test('SIGKILL in the middle of 300 messages, then a restart: each stored exactly once', async () => {
  const box = await filledMailbox(300);
  const first = imapProcess();
  await waitFor(async () => (await stored([box.id])) >= 60, { timeoutMs: 60_000, what: `a first part stored: ${first.output()}` });
  first.child.kill('SIGKILL');
  await exited(first.child);
  const atKill = await stored([box.id]);
  expect(atKill).toBeLessThan(300);
  const second = imapProcess();
  await waitFor(async () => (await stored([box.id])) === 300, { timeoutMs: 120_000, what: `all stored after restart: ${second.output()}` });
  const rows = await db()('inbound_emails').where({ mailbox_id: box.id }).select('message_id', 'outcome', 'ticket_id');
  expect(new Set(rows.map((r: { message_id: string }) => r.message_id)).size).toBe(300);
  expect(rows.every((r: { outcome: string }) => r.outcome === 'ticket_created')).toBe(true);
  expect(new Set(rows.map((r: { ticket_id: number }) => r.ticket_id)).size).toBe(300);
  await waitFor(async () => (await dovecot.list(box.imap_username!)).every((m) => m.flags.includes('\\Seen')), { what: 'all seen' });
  process.stdout.write(`imap kill test: ${atKill} stored before SIGKILL, 300 after restart, 0 twice\n`);
});

test('two processes on the same mailboxes store nothing twice, and one takes over from the other', async () => {
  const boxes = [await filledMailbox(100), await filledMailbox(100)];
  const ids = boxes.map((b) => b.id);
  const a = imapProcess();
  const b = imapProcess();
  await waitFor(async () => (await stored(ids)) >= 40, { timeoutMs: 60_000, what: 'work started' });
  a.child.kill('SIGKILL');
  await exited(a.child);
  await waitFor(async () => (await stored(ids)) === 200, { timeoutMs: 120_000, what: `the survivor finished: ${b.output()}` });
  const rows = await db()('inbound_emails').whereIn('mailbox_id', ids).select('mailbox_id', 'message_id');
  expect(new Set(rows.map((r: { mailbox_id: number; message_id: string }) => `${r.mailbox_id}:${r.message_id}`)).size).toBe(200);
  expect(Number((await db()('tickets').whereIn('mailbox_id', ids).count({ n: '*' }))[0]!.n)).toBe(200);
});
