/**
 * The poller against a real Dovecot: new mail becomes a ticket while the worker idles,
 * the after-import actions, what of the existing mail is imported, UIDVALIDITY changes,
 * and an outage of one server that holds up neither the worker nor another mailbox.
 */
import fs from 'node:fs';
import path from 'node:path';
import { db } from '../../../src/db/knex';
import { testImapLogin } from '../../../src/mail/imap/connection';
import { ImapRole } from '../../../src/mail/imap/imapRole';
import { uidsMatching } from '../../../src/mail/imap/mailboxWorker';
import type { Mailbox } from '../../../src/models/Mailbox';
import { assignInboundEmail, retryInboundEmail } from '../../../src/mail/inbound/heldMail';
import { Dovecot } from '../../helpers/dovecot';
import { makeContact, makeCustomer } from '../../helpers/factories';
import { buildMail, makeMailbox } from '../../helpers/mail';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { waitFor } from '../../helpers/waitFor';

useTestDatabase();
jest.setTimeout(60_000);

let dovecot: Dovecot;
let role: ImapRole | undefined;
let contactEmail: string;
let seq = 0;

beforeAll(async () => {
  dovecot = await Dovecot.start();
  const customer = await makeCustomer();
  contactEmail = (await makeContact(customer, { email: `imap.customer.${process.pid}@acme.test` })).email;
});
afterEach(async () => {
  await role?.stop();
  role = undefined;
  await db()('mailboxes').update({ active: false });
});
afterAll(async () => {
  await dovecot?.destroy();
});

function imapMailbox(server: Dovecot, fields: Record<string, unknown> = {}): Promise<Mailbox> {
  return makeMailbox({
    imap_host: '127.0.0.1',
    imap_port: server.port,
    imap_secure: false,
    imap_username: `user${process.pid}x${++seq}`,
    imap_password: 'secret',
    ...fields,
  });
}

async function startRole(): Promise<void> {
  role = new ImapRole({ pollMs: 500, backoffMaxMs: 1000 });
  await role.start();
}

const ticketsOf = (mailboxId: number) => db()('inbound_emails').where({ mailbox_id: mailboxId }).whereNotNull('ticket_id');

test('new mail becomes a ticket while the worker idles, and is then marked seen', async () => {
  const box = await imapMailbox(dovecot);
  await startRole();
  await waitFor(async () => (await db()('mailboxes').where({ id: box.id }).first()).last_uid !== null, { what: 'cursor set' });
  const started = Date.now();
  const [uid] = await dovecot.append(box.imap_username!, [await buildMail({ from: contactEmail, subject: 'via IMAP' })]);
  const row = await waitFor(async () => (await ticketsOf(box.id))[0], { what: 'ticket from IMAP' });
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(row).toMatchObject({ outcome: 'ticket_created', imap_uid: uid });
  await waitFor(async () => (await dovecot.list(box.imap_username!)).find((m) => m.uid === uid)?.flags.includes('\\Seen'), { what: '\\Seen flag' });
  expect((await db()('mailboxes').where({ id: box.id }).first()).last_uid).toBe(uid);
});

test('after-import move and delete', async () => {
  const moveBox = await imapMailbox(dovecot, { after_import: 'move', move_to: 'Processed' });
  const deleteBox = await imapMailbox(dovecot, { after_import: 'delete' });
  await startRole();
  await waitFor(async () => (await db()('mailboxes').whereIn('id', [moveBox.id, deleteBox.id]).whereNotNull('last_uid')).length === 2);
  await dovecot.append(moveBox.imap_username!, [await buildMail({ from: contactEmail })]);
  await dovecot.append(deleteBox.imap_username!, [await buildMail({ from: contactEmail })]);
  await waitFor(async () => (await ticketsOf(moveBox.id)).length === 1 && (await ticketsOf(deleteBox.id)).length === 1);
  await waitFor(
    async () => (await dovecot.list(moveBox.imap_username!)).length === 0 && (await dovecot.list(moveBox.imap_username!, 'Processed')).length === 1,
    { what: 'moved' },
  );
  await waitFor(async () => (await dovecot.list(deleteBox.imap_username!)).length === 0, { what: 'deleted' });
});

test('import_existing: unseen imports what is unread, none and all as they say', async () => {
  const users = { unseen: `pre${process.pid}u`, none: `pre${process.pid}n`, all: `pre${process.pid}a` };
  for (const user of Object.values(users)) {
    await dovecot.append(user, [await buildMail({ from: contactEmail, subject: 'old, read' })], 'INBOX', ['\\Seen']);
    await dovecot.append(user, [await buildMail({ from: contactEmail, subject: 'old, unread' })]);
  }
  const boxes = {
    unseen: await imapMailbox(dovecot, { imap_username: users.unseen, import_existing: 'unseen' }),
    none: await imapMailbox(dovecot, { imap_username: users.none, import_existing: 'none' }),
    all: await imapMailbox(dovecot, { imap_username: users.all, import_existing: 'all' }),
  };
  await startRole();
  await waitFor(async () => (await ticketsOf(boxes.unseen.id)).length === 1 && (await ticketsOf(boxes.all.id)).length === 2, {
    what: 'existing mail imported',
  });
  await waitFor(async () => (await db()('mailboxes').where({ id: boxes.none.id }).first()).last_uid === 2);
  const subjects = await db()('inbound_emails').where({ mailbox_id: boxes.unseen.id }).pluck('subject');
  expect(subjects).toEqual(['old, unread']);
  expect(await ticketsOf(boxes.none.id)).toHaveLength(0);
  // new mail after that is imported everywhere
  await dovecot.append(users.none, [await buildMail({ from: contactEmail, subject: 'new' })]);
  await waitFor(async () => (await ticketsOf(boxes.none.id)).length === 1);
});

test('an interrupted first unseen import resumes with the unseen mail left: nothing skipped, no read mail imported', async () => {
  const user = `resume${process.pid}`;
  // 1 read, 2 unread (imported before the stop), 3 read, 4 unread, 5 read, 6 unread
  const uids: number[] = [];
  for (const [n, seen] of [
    [1, true],
    [2, false],
    [3, true],
    [4, false],
    [5, true],
    [6, false],
  ] as const) {
    uids.push(...(await dovecot.append(user, [await buildMail({ from: contactEmail, subject: `backlog ${n}` })], 'INBOX', seen ? ['\\Seen'] : [])));
  }
  const box = await imapMailbox(dovecot, { imap_username: user, import_existing: 'unseen' });
  // as a stop part-way leaves it: message 2 stored and flagged read, the cursor just below message 4
  const c = await dovecot.client(user);
  const uidValidity = Number((await c.mailboxOpen('INBOX')).uidValidity);
  await c.messageFlagsAdd(String(uids[1]), ['\\Seen'], { uid: true });
  await c.logout();
  await db()('mailboxes')
    .where({ id: box.id })
    .update({ uid_validity: uidValidity, last_uid: uids[3]! - 1, import_until: uids[5] });
  await startRole();
  await waitFor(async () => (await db()('mailboxes').where({ id: box.id }).first()).import_until === null, { what: 'import finished' });
  const subjects = await db()('inbound_emails').where({ mailbox_id: box.id }).orderBy('imap_uid').pluck('subject');
  expect(subjects).toEqual(['backlog 4', 'backlog 6']);
  expect((await db()('mailboxes').where({ id: box.id }).first()).last_uid).toBe(uids[5]);
});

test('a UIDVALIDITY change rescans without storing anything twice', async () => {
  const box = await imapMailbox(dovecot, { import_existing: 'all' });
  await dovecot.append(box.imap_username!, [await buildMail({ from: contactEmail }), await buildMail({ from: contactEmail })]);
  await startRole();
  await waitFor(async () => (await ticketsOf(box.id)).length === 2);
  await role!.stop();
  await db()('mailboxes').where({ id: box.id }).update({ uid_validity: 12345 });
  await dovecot.append(box.imap_username!, [await buildMail({ from: contactEmail, subject: 'after the change' })]);
  await startRole();
  await waitFor(async () => (await ticketsOf(box.id)).length === 3, { what: 'rescan' });
  expect(await db()('inbound_emails').where({ mailbox_id: box.id })).toHaveLength(3);
  expect(Number((await db()('mailboxes').where({ id: box.id }).first()).uid_validity)).not.toBe(12345);
});

test('a server outage: the worker backs off and resumes, and another server is not held up', async () => {
  const other = await Dovecot.start();
  try {
    const downBox = await imapMailbox(dovecot);
    const liveBox = await imapMailbox(other);
    await startRole();
    await waitFor(async () => (await db()('mailboxes').whereIn('id', [downBox.id, liveBox.id]).whereNotNull('last_uid')).length === 2);
    await dovecot.stop();
    await waitFor(async () => (await db()('mailboxes').where({ id: downBox.id }).first()).last_error, { what: 'the outage noticed' });
    await other.append(liveBox.imap_username!, [await buildMail({ from: contactEmail, subject: 'still flowing' })]);
    await waitFor(async () => (await ticketsOf(liveBox.id)).length === 1, { what: 'the live server served' });
    await dovecot.resume();
    await dovecot.append(downBox.imap_username!, [await buildMail({ from: contactEmail, subject: 'after the outage' })]);
    await waitFor(async () => (await ticketsOf(downBox.id)).length === 1, { what: 'resumed after the outage', timeoutMs: 30_000 });
  } finally {
    await other.destroy();
  }
});

test("the login test answers with the server's reply", async () => {
  const good = await imapMailbox(dovecot);
  expect(await testImapLogin(good)).toMatchObject({ ok: true, greeting: expect.stringMatching(/Dovecot/) });
  const bad = await imapMailbox(dovecot, { imap_password: 'wrong' });
  const result = await testImapLogin(bad);
  expect(result.ok).toBe(false);
  expect(result.error).toMatch(/auth|fail|invalid/i);
});

test('a customer reply through IMAP lands on the ticket its In-Reply-To names', async () => {
  const box = await imapMailbox(dovecot);
  await startRole();
  await waitFor(async () => (await db()('mailboxes').where({ id: box.id }).first()).last_uid !== null);
  await dovecot.append(box.imap_username!, [await buildMail({ from: contactEmail, subject: 'first', messageId: `<first-${process.pid}@acme.test>` })]);
  const first = await waitFor(async () => (await ticketsOf(box.id))[0]);
  await dovecot.append(box.imap_username!, [
    await buildMail({ from: contactEmail, subject: 'Re: first', inReplyTo: `<first-${process.pid}@acme.test>`, text: 'more details' }),
  ]);
  const second = await waitFor(async () => (await db()('inbound_emails').where({ mailbox_id: box.id, outcome: 'reply_added' }))[0]);
  expect(second.ticket_id).toBe(first.ticket_id);
});

test('one message failing unexpectedly in a batch is recorded as failed; the rest land; a retry fixes it', async () => {
  // a fault injected in the database: inserting a ticket with this subject raises
  await db().raw(`create or replace function boom() returns trigger as $$
    begin if new.subject = 'BOOM' then raise exception 'injected fault'; end if; return new; end $$ language plpgsql`);
  await db().raw('create trigger boom before insert on tickets for each row execute function boom()');
  try {
    const box = await imapMailbox(dovecot, { import_existing: 'all' });
    await dovecot.append(box.imap_username!, [
      await buildMail({ from: contactEmail, subject: 'before' }),
      await buildMail({ from: contactEmail, subject: 'BOOM' }),
      await buildMail({ from: contactEmail, subject: 'after' }),
    ]);
    await startRole();
    await waitFor(async () => (await db()('inbound_emails').where({ mailbox_id: box.id })).length === 3, { what: 'all three recorded' });
    const rows = await db()('inbound_emails').where({ mailbox_id: box.id }).orderBy('imap_uid');
    expect(rows.map((r: { outcome: string }) => r.outcome)).toEqual(['ticket_created', 'failed', 'ticket_created']);
    expect(rows[1].error).toMatch(/injected fault/);
    await db().raw('drop trigger boom on tickets');
    expect((await retryInboundEmail(rows[1].id)).outcome).toBe('ticket_created');
  } finally {
    await db().raw('drop trigger if exists boom on tickets');
  }
});

test('a message the server cannot send is held without its bytes after two failed attempts; the mail after it lands and the cursor moves on', async () => {
  const box = await imapMailbox(dovecot, { import_existing: 'all' });
  const user = box.imap_username!;
  const mails = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => buildMail({ from: contactEmail, subject: `unreadable neighbour ${i}` })));
  dovecot.writeMaildir(user, mails);
  // two files the server cannot read: every FETCH naming them fails (Dovecot drops the connection).
  // The fifth's name carries its size (,W=), so the server gives its size without reading it and
  // only the FETCH of its bytes fails; the third's size FETCH fails already.
  const newDir = path.join(dovecot.maildir(user), 'new');
  const files = fs.readdirSync(newDir).sort();
  fs.chmodSync(path.join(newDir, files[2]!), 0o000);
  const sized = path.join(newDir, `${files[4]!},S=${mails[4]!.length},W=${mails[4]!.length}`);
  fs.renameSync(path.join(newDir, files[4]!), sized);
  fs.chmodSync(sized, 0o000);
  await startRole();
  const rows = await waitFor(
    async () => {
      const found = await db()('inbound_emails').where({ mailbox_id: box.id }).orderBy('imap_uid');
      return found.length === 6 ? found : undefined;
    },
    { what: 'six rows', timeoutMs: 45_000 },
  );
  expect(rows.map((r) => r.outcome)).toEqual(['ticket_created', 'ticket_created', 'quarantined', 'ticket_created', 'quarantined', 'ticket_created']);
  for (const uid of [3, 5]) {
    expect(rows[uid - 1]).toMatchObject({
      imap_uid: uid,
      subject: null,
      reason: expect.stringMatching(new RegExp(`^the server could not send this message \\(UID ${uid}\\) in 2 attempts in a row`)),
    });
  }
  // nothing of them was kept, so no ticket can be made of them
  await expect(assignInboundEmail(rows[4].id, { customer_id: 1 }, 1)).rejects.toMatchObject({
    status: 409,
    message: expect.stringMatching(/^only the first 0 of/),
  });
  await waitFor(async () => Number((await db()('mailboxes').where({ id: box.id }).first()).last_uid) === 6, { what: 'cursor past the backlog' });
  expect(await db()('inbound_attempts').where({ mailbox_id: box.id })).toEqual([]);
  // left on the server as they were: not marked read; their neighbours are
  const flags = await dovecot.list(user);
  expect(flags.filter((m) => !m.flags.includes('\\Seen')).map((m) => m.uid)).toEqual([3, 5]);
});

test('only failed fetches make a message unfetchable: one whose pipeline failed twice (a crash before its row) is read again', async () => {
  const box = await imapMailbox(dovecot, { import_existing: 'all' });
  const user = box.imap_username!;
  // the cursor is set first (setting it clears the counts), then the counts, then the mail
  await startRole();
  await waitFor(async () => (await db()('mailboxes').where({ id: box.id }).first()).last_uid !== null, { what: 'cursor set' });
  await role!.stop();
  dovecot.writeMaildir(user, await Promise.all([0, 1].map((i) => buildMail({ from: contactEmail, subject: `counted before ${i}` }))));
  await db()('inbound_attempts').insert([
    { mailbox_id: box.id, imap_uid: 1, failures: 2, stage: 'pipeline', last_error: 'Error: crashed before its row' },
    { mailbox_id: box.id, imap_uid: 2, failures: 2, stage: 'fetch', last_error: 'Error: Connection not available' },
  ]);
  await startRole();
  await waitFor(async () => Number((await db()('mailboxes').where({ id: box.id }).first()).last_uid) === 2, { what: 'cursor past both' });
  const rows = await db()('inbound_emails').where({ mailbox_id: box.id }).orderBy('imap_uid');
  expect(rows.map((r) => [r.imap_uid, r.outcome, r.subject])).toEqual([
    [1, 'ticket_created', 'counted before 0'],
    [2, 'quarantined', null],
  ]);
  expect(rows[1].reason).toMatch(/could not send this message \(UID 2\) in 2 attempts in a row; .* Connection not available/);
});

test('a stop does not wait out a server that stalls in the middle of an import: the connection is closed after a grace period', async () => {
  const box = await imapMailbox(dovecot, { import_existing: 'all' });
  const user = box.imap_username!;
  // 60 MB in batches of up to 32 MB: while one batch is ingested the next streams in, and the freeze catches it mid-FETCH
  const mail = (await buildMail({ from: contactEmail, subject: 'one of many', text: 'x'.repeat(60_000) })).toString('latin1');
  dovecot.writeMaildir(
    user,
    Array.from({ length: 1000 }, (_, i) => mail.replace(/^Message-ID: .*$/m, `Message-ID: <stall-${i}.${process.pid}@acme.test>`)),
  );
  await startRole();
  await waitFor(async () => Number((await db()('inbound_emails').where({ mailbox_id: box.id }).count({ n: '*' }))[0]!.n) > 0, { what: 'the import under way' });
  dovecot.freeze();
  try {
    const started = Date.now();
    await role!.stop();
    role = undefined;
    // a FETCH in flight waited for imapflow's socket timeout: five minutes
    expect(Date.now() - started).toBeLessThan(60_000);
  } finally {
    dovecot.thaw();
  }
  const stored = Number((await db()('inbound_emails').where({ mailbox_id: box.id }).count({ n: '*' }))[0]!.n);
  expect(stored).toBeLessThan(1000);
  expect((await db()('mailboxes').where({ id: box.id }).first()).last_error).toBeNull();
}, 120_000);

test('a SEARCH the server refuses is an error, not "nothing found"', async () => {
  const user = `user${process.pid}x${++seq}`;
  await dovecot.append(user, [await buildMail({ from: contactEmail, subject: 'there is mail' })]);
  const client = await dovecot.client(user);
  try {
    await client.mailboxOpen('INBOX');
    expect(await uidsMatching(client, { uid: '1:*' })).toEqual([1]);
    // UID 0 does not exist in any mailbox: Dovecot answers BAD, which imapflow gives as false
    await expect(uidsMatching(client, { uid: '0' })).rejects.toThrow('the server refused UID SEARCH {"uid":"0"}');
  } finally {
    await client.logout();
  }
});

test('a message whose recorded size is a lie: Dovecot drops the FETCH, the message is held after two attempts and the mail after it lands', async () => {
  const box = await imapMailbox(dovecot, { import_existing: 'all' });
  const user = box.imap_username!;
  const big = await buildMail({ from: contactEmail, subject: 'bigger than it says', text: 'y'.repeat(200_000) });
  dovecot.writeMaildir(user, [big, await buildMail({ from: contactEmail, subject: 'after the liar' })]);
  // the file's name gives Dovecot its size (,W=): 1,000 bytes for 200 KB. Dovecot notices when it reads the
  // file and drops the connection (a server that sent the bytes anyway would have them cut at INBOUND_MAX_BYTES)
  const newDir = path.join(dovecot.maildir(user), 'new');
  const first = fs.readdirSync(newDir).sort()[0]!;
  fs.renameSync(path.join(newDir, first), path.join(newDir, `${first},S=1000,W=1000`));
  await startRole();
  const rows = await waitFor(
    async () => {
      const found = await db()('inbound_emails').where({ mailbox_id: box.id }).orderBy('imap_uid');
      return found.length === 2 ? found : undefined;
    },
    { what: 'two rows', timeoutMs: 45_000 },
  );
  expect(rows.map((r) => [r.outcome, r.subject])).toEqual([
    ['quarantined', null],
    ['ticket_created', 'after the liar'],
  ]);
  expect(rows[0].reason).toMatch(/^the server could not send this message \(UID 1\) in 2 attempts in a row/);
});
