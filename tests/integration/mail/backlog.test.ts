/**
 * A mailbox added over a backlog: 10,000 messages wait in the Dovecot user's Maildir when
 * the mailbox is created with import_existing 'unseen', a few hundred of them already read.
 * The `imap` role (a process of its own, as it runs in production) imports every unread
 * one exactly once, none of the read ones, and leaves the cursor at the last UID.
 *
 * The backlog is written straight into Maildir as files (seconds) rather than by APPEND
 * (minutes): Dovecot finds them on its first look, as it would mail delivered while no
 * helpdesk was watching.
 *
 * The server takes command lines of at most 8k, as RFC 7162 asks clients to keep to (and
 * some servers enforce): the UIDs of the backlog written one by one are far longer than
 * that, and where every other message is read they cannot be written as ranges either, so
 * the commands that name them must be cut (uidSets.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { db } from '../../../src/db/knex';
import type { Contact } from '../../../src/models/Contact';
import { exited, startRole } from '../../helpers/cli';
import { Dovecot } from '../../helpers/dovecot';
import { makeContact, makeCustomer } from '../../helpers/factories';
import { makeMailbox } from '../../helpers/mail';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { waitFor } from '../../helpers/waitFor';

const database = useTestDatabase();
jest.setTimeout(180_000);

const TOTAL = 10_000;
/**
 * Every 30th message is already read, and so is the last one: the cursor must still reach
 * the last UID when the messages at the end are skipped rather than imported. Among the
 * first SPARSE, every other one is read: their UIDs make no ranges.
 */
const SPARSE = 4_000;
const isRead = (i: number) => i % 30 === 0 || i === TOTAL - 1 || (i < SPARSE && i % 2 === 1);

let dovecot: Dovecot | undefined;
let child: ChildProcess | undefined;

beforeAll(async () => {
  dovecot = await Dovecot.start({ maxLineLength: '8k' });
});
afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited(child);
  }
  await dovecot?.destroy();
});

const LOREM = 'The export to PDF stops at page three and the invoice totals are wrong after the update. '.repeat(40);

/** A small message, one of a few shapes (plain, HTML alternative, an attachment, an encoded subject). */
function backlogMessage(i: number, from: string, messageId: string): string {
  const date = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toUTCString().replace('GMT', '+0000');
  const head = [`From: Customer ${i % 7} <${from}>`, 'To: support@helpdesk.test', `Date: ${date}`, `Message-ID: ${messageId}`, 'MIME-Version: 1.0'];
  const text = `Hello,\r\n\r\nmessage ${i}: ${LOREM.slice(0, 80 + ((i * 37) % 1500))}\r\n\r\nThanks\r\n`;
  switch (i % 4) {
    case 0:
      return [...head, `Subject: backlog ${i}`, 'Content-Type: text/plain; charset=utf-8', '', text].join('\r\n');
    case 1:
      return [
        ...head,
        `Subject: backlog ${i} (html)`,
        'Content-Type: multipart/alternative; boundary="alt"',
        '',
        '--alt',
        'Content-Type: text/plain; charset=utf-8',
        '',
        text,
        '--alt',
        'Content-Type: text/html; charset=utf-8',
        '',
        `<p>message ${i}</p><p><b>${LOREM.slice(0, 200 + (i % 300))}</b></p>`,
        '--alt--',
        '',
      ].join('\r\n');
    case 2:
      return [
        ...head,
        `Subject: backlog ${i} with a file`,
        'Content-Type: multipart/mixed; boundary="mix"',
        '',
        '--mix',
        'Content-Type: text/plain; charset=utf-8',
        '',
        text,
        '--mix',
        `Content-Type: text/plain; name="log-${i}.txt"`,
        `Content-Disposition: attachment; filename="log-${i}.txt"`,
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.from(`log line ${i}\n`.repeat(1 + (i % 20))).toString('base64'),
        '--mix--',
        '',
      ].join('\r\n');
    default:
      return [
        ...head,
        `Subject: =?UTF-8?B?${Buffer.from(`rückstand ${i} – ünïcode`).toString('base64')}?=`,
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        `Grüße, ${text}`,
      ].join('\r\n');
  }
}

test(`a mailbox added over ${TOTAL.toLocaleString('en')} waiting messages imports each unread one once and none of the read ones`, async () => {
  const customer = await makeCustomer();
  const contacts: Contact[] = [];
  for (let c = 0; c < 5; c++) contacts.push(await makeContact(customer, { email: `backlog${c}.${process.pid}@acme.test` }));
  const user = `backlog${process.pid}`;
  const messageIds = Array.from({ length: TOTAL }, (_, i) => `<backlog-${process.pid}-${i}@acme.test>`);
  // one in fifty from a stranger: another outcome, still one row
  const fromOf = (i: number) => (i % 50 === 7 ? `stranger${i}@elsewhere.test` : contacts[i % contacts.length]!.email);

  const wroteAt = Date.now();
  dovecot!.writeMaildir(
    user,
    Array.from({ length: TOTAL }, (_, i) => backlogMessage(i, fromOf(i), messageIds[i]!)),
    isRead,
  );
  const writeMs = Date.now() - wroteAt;
  const unreadIds = new Set(messageIds.filter((_, i) => !isRead(i)));
  const readIds = new Set(messageIds.filter((_, i) => isRead(i)));

  const box = await makeMailbox({
    imap_host: '127.0.0.1',
    imap_port: dovecot!.port,
    imap_secure: false,
    imap_username: user,
    imap_password: 'secret',
    import_existing: 'unseen',
  });
  const startedAt = Date.now();
  const proc = startRole('imap', database.url(), { IMAP_POLL_SECONDS: '1', IMAP_BACKOFF_MAX_SECONDS: '2' });
  child = proc.child;
  const stored = async () => Number((await db()('inbound_emails').where({ mailbox_id: box.id }).count({ n: '*' }))[0]!.n);
  // done: every unread message stored and the cursor past the backlog (not merely set at the start)
  let lastUid = 0;
  const cursor = async () => (await db()('mailboxes').where({ id: box.id }).first()).last_uid as number | null;
  try {
    await waitFor(
      async () => {
        if ((await stored()) < unreadIds.size) return false;
        const at = await cursor();
        return at !== null && Number(at) >= TOTAL && (lastUid = Number(at));
      },
      { timeoutMs: 170_000, intervalMs: 250, what: 'the backlog imported' },
    );
  } catch (e) {
    throw new Error(
      `${(e as Error).message}; ${await stored()} of ${unreadIds.size} stored, cursor at ${await cursor()}; the process said: ${proc.output().slice(-3000)}`,
      { cause: e },
    );
  }
  const importMs = Date.now() - startedAt;
  child.kill('SIGTERM');
  expect(await exited(child)).toBe(0);

  const rows: { message_id: string; imap_uid: number; outcome: string }[] = await db()('inbound_emails')
    .where({ mailbox_id: box.id })
    .select('message_id', 'imap_uid', 'outcome');
  const ids = rows.map((r) => r.message_id);
  expect(ids.filter((id) => readIds.has(id))).toEqual([]);
  expect(ids.filter((id) => !unreadIds.has(id))).toEqual([]);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.length).toBe(unreadIds.size);
  expect(new Set(rows.map((r) => r.imap_uid)).size).toBe(rows.length);
  expect(rows.filter((r) => r.outcome === 'failed' || r.outcome === 'duplicate')).toEqual([]);

  // the cursor is the mailbox's last UID, each row names the UID its message has in Dovecot, and all are marked read
  const inDovecot = new Map<number, { messageId?: string; seen: boolean }>();
  const client = await dovecot!.client(user);
  try {
    await client.mailboxOpen('INBOX');
    for await (const m of client.fetch('1:*', { uid: true, flags: true, envelope: true })) {
      inDovecot.set(m.uid, { messageId: m.envelope?.messageId, seen: m.flags?.has('\\Seen') ?? false });
    }
  } finally {
    await client.logout();
  }
  expect(inDovecot.size).toBe(TOTAL);
  expect(lastUid).toBe(Math.max(...inDovecot.keys()));
  expect(Number((await db()('mailboxes').where({ id: box.id }).first()).last_uid)).toBe(lastUid);
  expect(rows.filter((r) => inDovecot.get(Number(r.imap_uid))?.messageId !== r.message_id)).toEqual([]);
  expect([...inDovecot].filter(([, m]) => !m.seen)).toEqual([]);

  const outcomes: Record<string, number> = {};
  for (const r of rows) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  process.stdout.write(
    `backlog: ${TOTAL} messages written to Maildir in ${writeMs} ms; ${unreadIds.size} unread imported in ${(importMs / 1000).toFixed(1)} s ` +
      `(${Math.round(unreadIds.size / (importMs / 1000))}/s), ${readIds.size} read ones skipped; outcomes ${JSON.stringify(outcomes)}\n`,
  );
});
