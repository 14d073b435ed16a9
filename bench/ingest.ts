/**
 * Ingest: throughput of the `imap` role on a realistic mix (the corpus plus generated
 * mail, 30% replies to earlier messages, some with attachments) beside the floor of
 * imapflow fetching the same messages and mailparser parsing them with no database; the
 * latency from APPEND to committed ticket on an idling mailbox; and the memory one 25 MB
 * message costs.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { dkimSign } from 'mailauth';
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { config, setConfig } from '../src/config';
import { useDatabase } from '../src/db/knex';
import { benchMailbox, ingestBacklog } from './lib/mailboxRun';
import { ZoneServer } from '../tests/helpers/dnsServer';
import { Dovecot } from '../tests/helpers/dovecot';
import { dropDatabase, freshDatabase } from './lib/database';
import { percentile, report } from './lib/stats';

const TOTAL = Number(process.env.BENCH_INGEST_MESSAGES ?? 10_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 100);
const CORPUS = process.env.CORPUS_DIR ?? path.resolve(__dirname, '../tests/fixtures/corpus');
const DB = 'hd_bench_ingest';
const VERIFY_DB = 'hd_bench_ingest_verify';
const CONTACTS = Array.from({ length: 200 }, (_, i) => `contact${i}@customer.test`);

function compose(spec: Record<string, unknown>): Promise<Buffer> {
  return new Promise((resolve, reject) => new MailComposer(spec as never).compile().build((e, m) => (e ? reject(e) : resolve(m))));
}

function corpusMessages(): Buffer[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8')).messages as { file: string; kind: string }[];
  return manifest.filter((m) => m.kind === 'rfc822').map((m) => fs.readFileSync(path.join(CORPUS, m.file)));
}

/** The mix: corpus messages, new messages from known contacts, then replies to them. */
export async function buildMix(total: number, contacts: string[]): Promise<Buffer[]> {
  const corpus = corpusMessages().slice(0, Math.floor(total * 0.03));
  const replies = Math.floor(total * 0.3);
  const fresh = total - corpus.length - replies;
  const attachment = crypto.randomBytes(48 * 1024);
  const out: Buffer[] = [...corpus];
  const ids: string[] = [];
  for (let i = 0; i < fresh; i++) {
    const id = `<bench-${i}@customer.test>`;
    ids.push(id);
    out.push(
      await compose({
        from: contacts[i % contacts.length],
        to: 'support@helpdesk.test',
        subject: `Problem number ${i}`,
        messageId: id,
        text: `Hello,\n\nsomething is broken (case ${i}).\n\nRegards`,
        html: i % 2 ? `<p>Hello,</p><p>something is <b>broken</b> (case ${i}).</p>` : undefined,
        attachments: i % 10 === 0 ? [{ filename: `log-${i}.bin`, content: attachment }] : undefined,
      }),
    );
  }
  for (let i = 0; i < replies; i++) {
    const parent = ids[i % ids.length]!;
    out.push(
      await compose({
        from: contacts[(i % ids.length) % contacts.length],
        to: 'support@helpdesk.test',
        subject: `Re: Problem number ${i % ids.length}`,
        messageId: `<bench-reply-${i}@customer.test>`,
        inReplyTo: parent,
        references: parent,
        text: `Still broken.\n\nOn Mon, 1 Jan 2024 at 10:00, Support <support@helpdesk.test> wrote:\n> earlier text\n> more`,
      }),
    );
  }
  return out;
}

/** The floor: imapflow fetching every message's source and mailparser parsing it, no database. */
export async function floorRate(dovecot: Dovecot, user: string): Promise<number> {
  const client = await dovecot.client(user);
  const started = Date.now();
  let n = 0;
  await client.mailboxOpen('INBOX');
  for await (const m of client.fetch('1:*', { uid: true, source: true })) {
    await simpleParser(m.source!);
    n++;
  }
  await client.logout();
  return n / ((Date.now() - started) / 1000);
}

/** How many of the mailbox's messages ended in each outcome. */
async function outcomesOf(knex: Knex, mailboxId: number): Promise<Record<string, number>> {
  const rows = await knex('inbound_emails').where({ mailbox_id: mailboxId }).groupBy('outcome').select('outcome').count({ n: '*' });
  return Object.fromEntries((rows as unknown as { outcome: string; n: number }[]).map((o) => [o.outcome, Number(o.n)]));
}

async function count(knex: Knex, mailboxId: number): Promise<number> {
  return Number((await knex('inbound_emails').where({ mailbox_id: mailboxId }).count({ n: '*' }))[0]!.n);
}

/**
 * APPEND-to-row latency on an idling mailbox: `samples` messages (`make(i)`), appended one
 * at a time, each timed until its row is committed; sorted.
 */
async function appendLatencies(knex: Knex, dovecot: Dovecot, user: string, mailboxId: number, samples: number, make: (i: number) => Promise<Buffer>) {
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const before = await count(knex, mailboxId);
    const raw = await make(i);
    const sent = Date.now();
    await dovecot.append(user, [raw]);
    while ((await count(knex, mailboxId)) <= before) await new Promise((r) => setTimeout(r, 5));
    latencies.push(Date.now() - sent);
  }
  return latencies.sort((a, b) => a - b);
}

/** The mix as a signing domain sends it: a DKIM signature and the receiving server's Received line on top. */
async function signedMix(mix: Buffer[], privateKey: string): Promise<Buffer[]> {
  const key = { signingDomain: 'customer.test', selector: 'bench', privateKey };
  const received =
    'Received: from mail.customer.test (mail.customer.test [203.0.113.5]) by mx.helpdesk.test (Postfix) with ESMTPS id 4Q; Mon, 1 Jun 2026 10:00:00 +0000\r\n';
  const out: Buffer[] = [];
  for (const raw of mix) {
    const { signatures } = await dkimSign(raw, { ...key, signatureData: [key] });
    out.push(Buffer.concat([Buffer.from(`Return-Path: <bounce@customer.test>\r\n${received}${signatures}`, 'latin1'), raw]));
  }
  return out;
}

/** The bench's customer and its contacts, in a fresh database. */
async function seedCustomer(knex: Knex, contacts: string[]): Promise<void> {
  const [customer] = await knex('customers')
    .insert({ name: 'Bench', email_domains: ['customer.test'] })
    .returning('id');
  await knex('contacts').insert(contacts.map((email, i) => ({ contactable_id: customer.id, name: `Contact ${i}`, email })));
}

/**
 * The signed mix ingested into a fresh database of its own by a mailbox with `settings`:
 * the rate, the outcomes, the verdicts, and the APPEND-to-ticket latency of `samples`
 * further messages (`sample(i)`, appended one at a time).
 */
async function signedRun(dovecot: Dovecot, user: string, total: number, settings: Record<string, unknown>, sample?: (i: number) => Promise<Buffer>) {
  const { knex } = await freshDatabase(VERIFY_DB);
  try {
    await seedCustomer(knex, CONTACTS);
    const box = await benchMailbox(dovecot, user, 'verify@helpdesk.test', settings);
    const { emailsPerSecond, role } = await ingestBacklog(knex, box, total);
    const outcomes = await outcomesOf(knex, box.id);
    const latencies = sample ? await appendLatencies(knex, dovecot, user, box.id, Math.min(LATENCY_SAMPLES, 30), sample) : [];
    await role.stop();
    const summaries = await knex('inbound_emails')
      .where({ mailbox_id: box.id })
      .groupByRaw("auth->>'summary'")
      .select(knex.raw("auth->>'summary' as summary"))
      .count({ n: '*' });
    const verdicts = Object.fromEntries((summaries as unknown as { summary: string | null; n: number }[]).map((r) => [r.summary ?? 'null', Number(r.n)]));
    return { emailsPerSecond, outcomes, latencies, verdicts };
  } finally {
    await knex.destroy();
    await dropDatabase(VERIFY_DB);
  }
}

/**
 * What `verify` authenticity (mailauth: SPF, DKIM, DMARC, ARC, against a DNS server in this
 * process serving the customer domain's records) costs: the same signed messages, from the
 * same Dovecot user, ingested twice, with authenticity off and with verify, each into a
 * fresh database (a database that already holds the other run's rows is slower to write),
 * beside the floor on those messages. The cost is one minus the ratio of the two rates.
 */
async function verifyThroughput(dovecot: Dovecot): Promise<void> {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const dkimKey = (publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');
  const zone = await ZoneServer.start({
    'customer.test': ['v=spf1 ip4:203.0.113.0/24 -all'],
    'bench._domainkey.customer.test': [`v=DKIM1; k=rsa; p=${dkimKey}`],
    '_dmarc.customer.test': ['v=DMARC1; p=reject'],
  });
  const original = config();
  setConfig({ ...original, dnsServers: [zone.address] });
  try {
    const mix = await signedMix(await buildMix(TOTAL, CONTACTS), pem);
    const user = 'benchverify';
    for (let i = 0; i < mix.length; i += 500) await dovecot.append(user, mix.slice(i, i + 500));
    const floor = await floorRate(dovecot, user);
    const off = await signedRun(dovecot, user, mix.length, {});
    const sample = async (i: number) => {
      const spec = {
        from: CONTACTS[i % CONTACTS.length],
        to: 'verify@helpdesk.test',
        subject: `latency ${i}`,
        text: 'ping',
        messageId: `<verify-latency-${i}@customer.test>`,
      };
      return (await signedMix([await compose(spec)], pem))[0]!;
    };
    const verify = await signedRun(dovecot, user, mix.length, { authenticity: 'record', auth_source: 'verify' }, sample);
    report({
      bench: 'ingest',
      figure: 'throughput with authenticity verify (local DNS server) and off, the same signed messages',
      messages: mix.length,
      emails_per_second: Math.round(verify.emailsPerSecond),
      off_emails_per_second: Math.round(off.emailsPerSecond),
      floor_emails_per_second: Math.round(floor),
      floor: 'imapflow FETCH of the same messages + mailparser simpleParser, no database',
      ratio_to_floor: Math.round((verify.emailsPerSecond / floor) * 100) / 100,
      off_ratio_to_floor: Math.round((off.emailsPerSecond / floor) * 100) / 100,
      verify_cost: Math.round((1 - verify.emailsPerSecond / off.emailsPerSecond) * 100) / 100,
      aim_cost: 0.25,
      outcomes: verify.outcomes,
      latency_p95_ms: percentile(verify.latencies, 95),
      auth_summaries: verify.verdicts,
      dns_questions: zone.questions.length,
    });
  } finally {
    setConfig(original);
    await zone.stop();
  }
}

export async function benchIngest(): Promise<void> {
  const { knex, url } = await freshDatabase(DB);
  const dovecot = await Dovecot.start();
  try {
    const contacts = CONTACTS;
    await seedCustomer(knex, contacts);
    const mix = await buildMix(TOTAL, contacts);
    const user = 'bench';
    const t0 = Date.now();
    for (let i = 0; i < mix.length; i += 500) await dovecot.append(user, mix.slice(i, i + 500));
    report({ bench: 'ingest', step: 'append', messages: mix.length, seconds: (Date.now() - t0) / 1000 });

    const floor = await floorRate(dovecot, user);
    const box = await benchMailbox(dovecot, user, 'support@helpdesk.test');
    const { emailsPerSecond: rate, role } = await ingestBacklog(knex, box, mix.length);
    report({
      bench: 'ingest',
      figure: 'throughput',
      messages: mix.length,
      emails_per_second: Math.round(rate),
      floor_emails_per_second: Math.round(floor),
      floor: 'imapflow FETCH of the same messages + mailparser simpleParser, no database',
      ratio_to_floor: Math.round((rate / floor) * 100) / 100,
      outcomes: await outcomesOf(knex, box.id),
    });

    // latency: one message at a time into the idling mailbox
    const ping = (i: number) =>
      compose({
        from: contacts[i % contacts.length],
        to: 'support@helpdesk.test',
        subject: `latency ${i}`,
        text: 'ping',
        messageId: `<latency-${i}@customer.test>`,
      });
    const latencies = await appendLatencies(knex, dovecot, user, box.id, LATENCY_SAMPLES, ping);
    await role.stop();
    report({
      bench: 'ingest',
      figure: 'latency APPEND to committed ticket (IDLE)',
      samples: latencies.length,
      p50_ms: percentile(latencies, 50),
      p95_ms: percentile(latencies, 95),
      floor: "Dovecot's own IDLE notify delay, about 350 ms (measured when the project's stack was chosen)",
    });

    if (process.env.BENCH_VERIFY !== '0') {
      await verifyThroughput(dovecot);
      useDatabase(knex);
    }

    // memory: one 25 MB message with attachments, through the pipeline in a fresh process
    const big = await compose({
      from: contacts[0],
      to: 'support@helpdesk.test',
      subject: 'big one',
      messageId: '<big@customer.test>',
      text: 'see attached',
      attachments: [0, 1, 2, 3, 4].map((i) => ({ filename: `part${i}.bin`, content: crypto.randomBytes(3.6 * 1024 * 1024) })),
    });
    const file = path.join(os.tmpdir(), `bench-big-${process.pid}.eml`);
    fs.writeFileSync(file, big);
    const child = spawnSync(process.execPath, [...process.execArgv, path.join(__dirname, 'lib/ingestOne.ts'), url, String(box.id), file], {
      env: process.env,
      encoding: 'utf8',
    });
    fs.rmSync(file, { force: true });
    if (child.status !== 0) throw new Error(`the large-message process failed: ${child.stderr}`);
    const one = JSON.parse(child.stdout.trim().split('\n').pop()!) as { outcome: string; base_mb: number; peak_growth_mb: number };
    report({
      bench: 'ingest',
      figure: 'memory of one large message (in a process of its own, after a warm-up message)',
      message_mb: Math.round((big.length / 1048576) * 10) / 10,
      outcome: one.outcome,
      rss_before_mb: Math.round(one.base_mb),
      peak_rss_growth_mb: Math.round(one.peak_growth_mb * 10) / 10,
      aim_mb: 150,
    });
  } finally {
    await dovecot.destroy();
    await knex.destroy();
    await dropDatabase(DB);
  }
}
