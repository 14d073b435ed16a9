/**
 * `helpdesk mail import --mbox/--maildir` on this file's test database: exactly once across
 * Ctrl-C and a SIGKILL (the CLI as a child process), maildir delivery order, mboxrd
 * un-escaping, and a message without a Message-ID imported twice. What needs no process of
 * its own runs the same service in this one (a child process costs seconds to start).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { db } from '../../../src/db/knex';
import type { Mailbox } from '../../../src/models/Mailbox';
import { readBlobBuffer } from '../../../src/services/blobs/blobStore';
import { updateSettings } from '../../../src/services/config/settings';
import { UsageError } from '../../../src/cli/args';
import { mailCommand } from '../../../src/cli/commands/mail';
import { importArchive } from '../../../src/mail/archive/importArchive';
import { openMbox } from '../../../src/mail/archive/sources';
import { childEnv, exited, runCli, startCli } from '../../helpers/cli';
import { makeContact, makeCustomer } from '../../helpers/factories';
import { buildMail, makeMailbox } from '../../helpers/mail';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { waitFor } from '../../helpers/waitFor';

const database = useTestDatabase();
jest.setTimeout(60_000);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mail-archive-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

let env: NodeJS.ProcessEnv;
beforeAll(() => {
  env = childEnv({ DATABASE_URL: database.url(), HELPDESK_SECRET: process.env.HELPDESK_SECRET });
});

/** An mboxrd file of `messages`: body lines starting with `From ` (after any `>`s) get one more `>`. */
function mbox(messages: Buffer[]): Buffer {
  return Buffer.concat(
    messages.flatMap((m, i) => {
      const body = m.toString('latin1').replace(/^(>*From )/gm, '>$1');
      return [
        Buffer.from(`From sender${i}@customer.test Mon Jan  1 00:00:00 2024\n`),
        Buffer.from(body, 'latin1'),
        Buffer.from(body.endsWith('\n') ? '\n' : '\n\n'),
      ];
    }),
  );
}

function save(name: string, content: Buffer | string): string {
  const p = path.join(work, name);
  fs.writeFileSync(p, content);
  return p;
}

const rows = (mailbox: Mailbox) => db()('inbound_emails').where({ mailbox_id: mailbox.id });
const importArgs = (mailbox: Mailbox, ...rest: string[]) => ['mail', 'import', '--mailbox', String(mailbox.id), ...rest];
/** The count of one outcome in the summary printed on stdout. */
const summaryCount = (stdout: string, outcome: string) => Number(new RegExp(`^${outcome}\\s+(\\d+)$`, 'm').exec(stdout)?.[1] ?? 0);

it('imports an mbox of 1,000 messages exactly once across a SIGKILL part-way', async () => {
  const mailbox = await makeMailbox();
  const customer = await makeCustomer();
  const contacts = await Promise.all(Array.from({ length: 20 }, () => makeContact(customer)));
  const ids = Array.from({ length: 1000 }, (_, i) => `<archive-${i}-${process.pid}@customer.test>`);
  const messages = await Promise.all(
    ids.map((messageId, i) =>
      buildMail({ from: contacts[i % contacts.length]!.email, messageId, subject: `Archived ${i}`, text: `Message ${i}\n${'lorem ipsum '.repeat(20)}` }),
    ),
  );
  const file = save('big.mbox', mbox(messages));

  const progress = () => db()('mail_imports').where({ mailbox_id: mailbox.id }).first();
  const count = async () => Number((await rows(mailbox).count('* as n'))[0]!.n);

  // Ctrl-C: the batch in hand is finished and recorded, the summary printed, exit 130
  const interrupted = startCli(importArgs(mailbox, '--mbox', file), env);
  await waitFor(async () => (await progress())?.messages > 0, { timeoutMs: 30_000, intervalMs: 10, what: 'a batch recorded' });
  interrupted.child.kill('SIGINT');
  expect(await exited(interrupted.child)).toBe(130);
  const afterStop = (await progress()).messages as number;
  expect(interrupted.output()).toMatch(
    new RegExp(
      `stopped after ${afterStop} messages from mbox [^\n]*\nticket_created +${afterStop}\nnot at the end of the archive: run the same command again to go on\n`,
    ),
  );
  expect(await count()).toBe(afterStop);

  // SIGKILL once the next run recorded a batch of its own, while later ones are in flight
  const killed = startCli(importArgs(mailbox, '--mbox', file), env);
  await waitFor(async () => (await progress())?.messages > afterStop, { timeoutMs: 30_000, intervalMs: 10, what: 'a batch recorded' });
  killed.child.kill('SIGKILL');
  await exited(killed.child);
  const partial = await count();
  const recorded = (await progress()).messages as number;
  expect(partial).toBeLessThan(1000);

  const again = await runCli(importArgs(mailbox, '--mbox', file), env);
  expect(again.stderr).toBe('');
  expect(again.code).toBe(0);
  const stored = await rows(mailbox).select('message_id', 'outcome');
  expect(stored).toHaveLength(1000);
  expect(new Set(stored.map((r) => r.message_id))).toEqual(new Set(ids));
  expect(stored.every((r) => r.outcome === 'ticket_created')).toBe(true);
  // the second run went on after the recorded batches; what the killed run stored past them is dropped as duplicates
  expect(again.stdout).toMatch(new RegExp(`^imported ${1000 - recorded} messages from mbox .*\nwent on after ${recorded} messages done by an earlier run\n`));
  expect(summaryCount(again.stdout, 'ticket_created')).toBe(1000 - partial);
  expect(summaryCount(again.stdout, 'duplicate')).toBe(partial - recorded);
  expect((await progress()).finished_at).not.toBeNull();

  // a third run finds everything done: nothing read again, nothing stored
  const third = await importArchive({ mailbox, source: await openMbox(file, 'mboxrd') });
  expect(third).toEqual({ messages: 0, outcomes: {}, before: 1000, complete: true });
  expect(await count()).toBe(1000);
});

it('imports a maildir in delivery order (cur/ and new/ together, by the time in the name)', async () => {
  const mailbox = await makeMailbox();
  const contact = await makeContact(await makeCustomer());
  const md = path.join(work, 'Maildir');
  for (const sub of ['cur', 'new', 'tmp']) fs.mkdirSync(path.join(md, sub), { recursive: true });
  // by name alone the order would be wrong: 1000 < 999 as text, and new/ after cur/
  const first = await buildMail({ from: contact.email, messageId: '<md-1@customer.test>', subject: 'Printer is on fire' });
  const second = await buildMail({
    from: contact.email,
    messageId: '<md-2@customer.test>',
    inReplyTo: '<md-1@customer.test>',
    subject: 'Re: Printer is on fire',
  });
  const third = await buildMail({
    from: contact.email,
    messageId: '<md-3@customer.test>',
    inReplyTo: '<md-2@customer.test>',
    subject: 'Re: Printer is on fire',
  });
  fs.writeFileSync(path.join(md, 'new/999.M1P1.host'), first);
  fs.writeFileSync(path.join(md, 'cur/999.M20P1.host:2,S'), second);
  fs.writeFileSync(path.join(md, 'cur/1000.M1P1.host:2,RS'), third);
  fs.writeFileSync(path.join(md, 'tmp/1.M1P1.host'), await buildMail({ from: contact.email, messageId: '<md-tmp@customer.test>' }));

  const r = await runCli(importArgs(mailbox, '--maildir', md), env);
  expect(r.code).toBe(0);
  expect(summaryCount(r.stdout, 'ticket_created')).toBe(1);
  expect(summaryCount(r.stdout, 'reply_added')).toBe(2);
  const stored = await rows(mailbox).orderBy('id').select('message_id', 'outcome', 'ticket_id');
  expect(stored.map((s) => [s.message_id, s.outcome])).toEqual([
    ['<md-1@customer.test>', 'ticket_created'],
    ['<md-2@customer.test>', 'reply_added'],
    ['<md-3@customer.test>', 'reply_added'],
  ]);
  expect(new Set(stored.map((s) => s.ticket_id)).size).toBe(1);
});

it('holds a message over INBOUND_MAX_BYTES in an mbox or a maildir by its start and its size; the others go on', async () => {
  const limit = 64 * 1024;
  const small = { ...env, INBOUND_MAX_BYTES: String(limit) };
  for (const kind of ['mbox', 'maildir']) {
    const mailbox = await makeMailbox();
    const contact = await makeContact(await makeCustomer());
    const big = await buildMail({ from: contact.email, messageId: `<big-${kind}@customer.test>`, subject: 'Big', text: 'b'.repeat(300 * 1024) });
    const after = await buildMail({ from: contact.email, messageId: `<after-${kind}@customer.test>`, subject: 'After' });
    let source: string;
    if (kind === 'mbox') source = save('big.mbox', mbox([big, after]));
    else {
      source = path.join(work, 'BigMaildir');
      for (const sub of ['cur', 'new', 'tmp']) fs.mkdirSync(path.join(source, sub), { recursive: true });
      fs.writeFileSync(path.join(source, 'new/1.M1P1.host'), big);
      fs.writeFileSync(path.join(source, 'new/2.M1P1.host'), after);
    }
    const r = await runCli(importArgs(mailbox, `--${kind}`, source), small);
    expect([kind, r.code]).toEqual([kind, 0]);
    const stored = await rows(mailbox).orderBy('id');
    expect(stored.map((row) => [row.subject, row.outcome])).toEqual([
      ['Big', 'quarantined'],
      ['After', 'ticket_created'],
    ]);
    expect(stored[0].reason).toMatch(new RegExp(`over the ${limit} byte limit; only its first ${limit} bytes were fetched and kept`));
    expect(Number(stored[0].size)).toBeGreaterThanOrEqual(big.length); // an mbox adds the separating blank line
    expect((await readBlobBuffer(db(), stored[0].raw_sha256)).equals(big.subarray(0, limit))).toBe(true);
  }
});

it('un-escapes >From lines of an mboxrd (and keeps them with --mbox-format mboxo)', async () => {
  const mailbox = await makeMailbox();
  const contact = await makeContact(await makeCustomer());
  const raw = Buffer.from(
    `From: ${contact.email}\nTo: support@helpdesk.test\nSubject: escaped\nMessage-ID: <escaped@customer.test>\n\nHello,\nFrom now on it breaks.\n>From a quoted line\nbye\n`,
  );
  const file = save('escaped.mbox', mbox([raw]));
  expect(fs.readFileSync(file, 'latin1')).toContain('\n>From now on it breaks.\n>>From a quoted line\n');
  expect(await importArchive({ mailbox, source: await openMbox(file, 'mboxrd') })).toMatchObject({ outcomes: { ticket_created: 1 }, complete: true });
  const row = await rows(mailbox).first('raw_sha256');
  expect((await readBlobBuffer(db(), row.raw_sha256)).toString('latin1')).toBe(raw.toString('latin1'));

  const other = await makeMailbox();
  await importArchive({ mailbox: other, source: await openMbox(file, 'mboxo') });
  const kept = await rows(other).first('raw_sha256');
  expect((await readBlobBuffer(db(), kept.raw_sha256)).toString('latin1')).toContain('\n>From now on it breaks.\n>>From a quoted line\n');
});

it('stores a message without a Message-ID once, however often the archive is imported', async () => {
  const mailbox = await makeMailbox();
  const contact = await makeContact(await makeCustomer());
  const raw = `From: ${contact.email}\nTo: support@helpdesk.test\nSubject: no id here\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\nThere is no Message-ID in this message.\n`;
  const file = save('noid.mbox', `From x Mon Jan  1 00:00:00 2024\n${raw}\n`);
  expect((await importArchive({ mailbox, source: await openMbox(file, 'mboxrd') })).outcomes).toEqual({ ticket_created: 1 });
  // restart reads the archive from its start: the pipeline drops the message by the hash of its bytes
  expect((await importArchive({ mailbox, source: await openMbox(file, 'mboxrd'), restart: true })).outcomes).toEqual({ duplicate: 1 });
  const stored = await rows(mailbox).select('message_id');
  expect(stored).toHaveLength(1);
  expect(stored[0]!.message_id).toMatch(/^<[0-9a-f]{64}@generated\.invalid>$/);
});

it('refuses what is not an mbox or a maildir, and a missing mailbox, as usage errors; 75 when the database is down', async () => {
  const mailbox = await makeMailbox();
  const eml = save('single.eml', 'Subject: one message\n\nhello\n');
  // found before the database is opened: checked in this process
  await expect(mailCommand(importArgs(mailbox, '--mbox', eml).slice(1))).rejects.toThrow(
    new UsageError(`${eml} is not an mbox: its first line is not a "From " line`),
  );
  await expect(mailCommand(importArgs(mailbox, '--maildir', work).slice(1))).rejects.toThrow(/is not a maildir/);
  await expect(mailCommand(importArgs(mailbox, '--mbox', path.join(work, 'nothing.mbox')).slice(1))).rejects.toThrow(/no such file/);
  await expect(mailCommand(importArgs(mailbox, '--mbox', eml, '--maildir', work).slice(1))).rejects.toBeInstanceOf(UsageError);
  const [noMailbox, down] = await Promise.all([
    runCli(['mail', 'import', '--mailbox', 'nobody@nowhere.test', '--mbox', save('empty.mbox', '')], env),
    runCli(importArgs(mailbox, '--mbox', save('down.mbox', '')), { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' }),
  ]);
  expect(noMailbox.code).toBe(64);
  expect(noMailbox.stderr).toMatch(/no mailbox nobody@nowhere.test/);
  expect(down.code).toBe(75);
  expect(down.stderr).toMatch(/database unreachable/);
});

it('queues no mail for an archive (no acknowledgement, no team notice) unless asked with --notify', async () => {
  await updateSettings({ auto_acknowledge: true });
  const contact = await makeContact(await makeCustomer());
  const archive = async (tag: string) =>
    save(`${tag}.mbox`, mbox([await buildMail({ from: contact.email, messageId: `<${tag}-${process.pid}@customer.test>`, subject: `Old ${tag}` })]));
  const mailed = async (mailbox: Mailbox) => {
    const ticketIds = (await rows(mailbox).select('ticket_id')).map((r: { ticket_id: number }) => r.ticket_id);
    return db()('outbound_emails').whereIn('ticket_id', ticketIds).select('template');
  };

  const quiet = await makeMailbox();
  expect((await runCli(importArgs(quiet, '--mbox', await archive('quiet')), env)).code).toBe(0);
  expect(await rows(quiet).where({ outcome: 'ticket_created' })).toHaveLength(1);
  expect(await mailed(quiet)).toEqual([]);

  const loud = await makeMailbox();
  expect((await runCli(importArgs(loud, '--mbox', await archive('loud'), '--notify'), env)).code).toBe(0);
  expect((await mailed(loud)).map((m: { template: string }) => m.template)).toContain('ticket_acknowledgement');
  await updateSettings({ auto_acknowledge: false });
});
