/**
 * Fuzzing the poller: 2,000 messages mutated from real-world mail (tests/fixtures/fuzz)
 * with a seeded mutator, written straight into a Dovecot Maildir and imported by the
 * `imap` role. Whatever the bytes, every mutant ends in exactly one row (or is a
 * duplicate on purpose), nothing is rejected unhandled, and the cursor reaches the end.
 * A failure prints the seed: FUZZ_SEED=<seed> runs the same mutants again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { db } from '../../../src/db/knex';
import { ImapRole } from '../../../src/mail/imap/imapRole';
import { closeCpuPool } from '../../../src/mail/inbound/cpuPool';
import { Dovecot } from '../../helpers/dovecot';
import { makeContact, makeCustomer } from '../../helpers/factories';
import { makeMailbox } from '../../helpers/mail';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { waitFor } from '../../helpers/waitFor';

const COUNT = Number(process.env.FUZZ_COUNT ?? 2000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const SEEDS_DIR = path.resolve(__dirname, '../../fixtures/fuzz');

let dovecot: Dovecot;
let role: ImapRole | undefined;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);
afterAll(async () => {
  process.off('unhandledRejection', onRejection);
  await role?.stop();
  await closeCpuPool();
  await dovecot?.destroy();
});
useTestDatabase();
jest.setTimeout(180_000);

/** mulberry32: a small seeded generator, so a failing run can be repeated. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(list: T[]) => list[Math.floor(next() * list.length)]! };
}
type Rng = ReturnType<typeof generator>;

const headerEnd = (b: Buffer) => {
  const crlf = b.indexOf('\r\n\r\n');
  const lf = b.indexOf('\n\n');
  return crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf >= 0 ? lf : b.length;
};
const withoutMessageId = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/^message-id:[^\n]*\n(?:[ \t][^\n]*\n)*/gim, ''), 'latin1');
const insertAt = (b: Buffer, at: number, bytes: Buffer) => Buffer.concat([b.subarray(0, at), bytes, b.subarray(at)]);

interface Mutant {
  raw: Buffer;
  mutation: string;
  /** The Message-ID of an earlier mutant it repeats: a duplicate on purpose. */
  repeats?: number;
}

/** The mutations of the issue: each takes a seed message (without its Message-ID) and returns new bytes. */
const MUTATIONS: Record<string, (b: Buffer, r: Rng) => Buffer> = {
  truncated_headers: (b, r) => b.subarray(0, 1 + r.int(Math.max(1, headerEnd(b)))),
  truncated_anywhere: (b, r) => b.subarray(0, 1 + r.int(b.length)),
  nul_bytes: (b, r) => {
    let out = b;
    for (let i = 0, n = 1 + r.int(8); i < n; i++) out = insertAt(out, r.int(out.length), Buffer.from([0]));
    return out;
  },
  invalid_utf8: (b, r) => {
    let out = insertAt(b, 0, Buffer.from([0x53, 0x75, 0x62, 0x6a, 0x65, 0x63, 0x74, 0x3a, 0x20, 0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80, 0x0d, 0x0a]));
    for (let i = 0, n = 1 + r.int(16); i < n; i++) out = insertAt(out, r.int(out.length), Buffer.from([0x80 + r.int(128)]));
    return out;
  },
  deep_nesting: (b, r) => {
    const depth = 15 + r.int(20);
    let body = b.subarray(headerEnd(b)).toString('latin1');
    for (let i = 0; i < depth; i++) body = `Content-Type: multipart/mixed; boundary="n${i}"\r\n\r\n--n${i}\r\n${body}\r\n--n${i}--\r\n`;
    return Buffer.concat([Buffer.from('From: deep@fuzz.test\r\nSubject: deep\r\nMIME-Version: 1.0\r\n'), Buffer.from(body, 'latin1')]);
  },
  long_header_line: (b, r) => insertAt(b, 0, Buffer.from(`X-Long: ${'a'.repeat(100_000 + r.int(20_000))}\r\nSubject: ${'s'.repeat(100_000)}\r\n`)),
  unknown_charset: (b, r) => {
    const text = b.toString('latin1');
    const label = r.pick(['x-unknown-42', 'uft-8', 'unicode-1-1-utf-7', 'iso-2022-jp', '""', 'utf-8"; charset="latin9', 'ebcdic-cp-us']);
    const replaced = text.replace(/charset\s*=\s*"?[^";\s]*"?/gi, `charset="${label}"`);
    return Buffer.from(replaced === text ? `Content-Type: text/plain; charset="${label}"\r\n${text}` : replaced, 'latin1');
  },
  unclosed_boundary: (b, r) => {
    const text = b.toString('latin1').replace(/^--[^\r\n]+--\s*$/gm, '');
    const tail = `\r\n--open${r.int(1000)}\r\nContent-Type: text/plain\r\n\r\nnever closed`;
    return Buffer.from(`Content-Type: multipart/mixed; boundary="open${r.int(1000)}"\r\n${text}${tail}`, 'latin1');
  },
  garbage_headers: (b, r) => {
    const junk = Buffer.alloc(200 + r.int(2000));
    for (let i = 0; i < junk.length; i++) junk[i] = r.int(256);
    return insertAt(b, r.int(Math.max(1, headerEnd(b))), junk);
  },
};
const ID_MUTATIONS = ['repeat_message_id', 'no_message_id', 'garbage_message_id'] as const;

function mutants(seeds: Buffer[], rng: Rng): Mutant[] {
  const out: Mutant[] = [];
  const names = Object.keys(MUTATIONS);
  const withFreshId: number[] = [];
  for (let i = 0; i < COUNT; i++) {
    const seed = withoutMessageId(rng.pick(seeds));
    // every mutant is unique in its bytes (the marker), and has a fresh Message-ID unless the mutation is of it
    const marker = Buffer.from(`X-Fuzz: ${SEED}-${i}\r\n`);
    if (withFreshId.length > 0 && rng.next() < 0.06) {
      const kind = rng.pick([...ID_MUTATIONS]);
      if (kind === 'repeat_message_id') {
        const earlier = rng.pick(withFreshId);
        out.push({ raw: Buffer.concat([Buffer.from(`Message-ID: <fuzz-${SEED}-${earlier}@fuzz.test>\r\n`), marker, seed]), mutation: kind, repeats: earlier });
      } else if (kind === 'no_message_id') {
        out.push({ raw: Buffer.concat([marker, seed]), mutation: kind });
      } else {
        out.push({ raw: Buffer.concat([Buffer.from(`Message-ID: <\u0000${'<'.repeat(rng.int(5))}fuzz ${i}\r\n`, 'latin1'), marker, seed]), mutation: kind });
      }
      continue;
    }
    const mutation = rng.pick(names);
    withFreshId.push(i);
    const body = MUTATIONS[mutation]!(seed, rng);
    out.push({ raw: Buffer.concat([Buffer.from(`Message-ID: <fuzz-${SEED}-${i}@fuzz.test>\r\n`), marker, body]), mutation });
  }
  return out;
}

test(`${COUNT} mutants of real-world mail: one row each, no unhandled rejection, the cursor at the end`, async () => {
  process.on('unhandledRejection', onRejection);
  const seeds = fs
    .readdirSync(SEEDS_DIR)
    .filter((f) => f.endsWith('.eml'))
    .map((f) => fs.readFileSync(path.join(SEEDS_DIR, f)));
  expect(seeds.length).toBeGreaterThan(20);
  const rng = generator(SEED);
  const list = mutants(seeds, rng);
  // a contact that some mutants are from, so tickets and replies are made as well
  await makeContact(await makeCustomer({ email_domains: ['fuzz.test'] }), { email: 'deep@fuzz.test' });
  dovecot = await Dovecot.start();
  const user = `fuzz${process.pid}`;
  dovecot.writeMaildir(
    user,
    list.map((m) => m.raw),
  );
  const box = await makeMailbox({
    imap_host: '127.0.0.1',
    imap_port: dovecot.port,
    imap_secure: false,
    imap_username: user,
    imap_password: 'secret',
    import_existing: 'all',
    unknown_sender: 'create_contact',
  });
  const started = Date.now();
  role = new ImapRole({ pollMs: 500, backoffMaxMs: 1000 });
  await role.start();
  try {
    const uids = (await dovecot.list(user)).map((m) => m.uid);
    expect(uids).toHaveLength(COUNT);
    const last = Math.max(...uids);
    await waitFor(async () => Number((await db()('mailboxes').where({ id: box.id }).first()).last_uid) === last, {
      what: 'cursor at the last UID',
      timeoutMs: 150_000,
      intervalMs: 500,
    });
    const rows: { imap_uid: number; outcome: string; error: string | null }[] = await db()('inbound_emails')
      .where({ mailbox_id: box.id })
      .select('imap_uid', 'outcome', 'error');
    const intendedDuplicates = list.filter((m) => m.repeats !== undefined).length;
    const byOutcome: Record<string, number> = {};
    for (const r of rows) byOutcome[r.outcome] = (byOutcome[r.outcome] ?? 0) + 1;
    process.stdout.write(
      `fuzz seed ${SEED}: ${COUNT} mutants in ${((Date.now() - started) / 1000).toFixed(1)} s; ${intendedDuplicates} repeat a Message-ID; outcomes ${JSON.stringify(byOutcome)}\n`,
    );
    expect(new Set(rows.map((r) => r.imap_uid)).size).toBe(rows.length);
    expect(rows).toHaveLength(COUNT - intendedDuplicates);
    expect(rows.filter((r) => r.outcome === 'failed').map((r) => r.error)).toEqual([]);
    expect(rejections).toEqual([]);
  } catch (e) {
    process.stdout.write(`fuzz test failed with FUZZ_SEED=${SEED}\n`);
    throw e;
  }
});
