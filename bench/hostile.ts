/**
 * Hostile: the `imap` role on a mix of 10% hostile and 90% normal mail (the ingest
 * benchmark's mix), beside the same floor (imapflow fetching the same messages and
 * mailparser parsing them, no database), and the event loop's delay while it runs
 * (monitorEventLoopDelay): reading mail happens on the CPU pool's threads, so the loop
 * that the API shares stays free. Aims: p99 < 50 ms, max < 200 ms, throughput >= 0.4 of
 * the floor.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { benchMailbox, ingestBacklog } from './lib/mailboxRun';
import { Dovecot } from '../tests/helpers/dovecot';
import { buildMix, floorRate } from './ingest';
import { dropDatabase, freshDatabase } from './lib/database';
import { report } from './lib/stats';

const TOTAL = Number(process.env.BENCH_HOSTILE_MESSAGES ?? 5_000);
const DB = 'hd_bench_hostile';

/** Hostile messages, one kind after another: what the hostile-input issue found, and the fuzz test's mutations. */
const HOSTILE: ((i: number, from: string) => string)[] = [
  (i, from) => `From: ${from}\r\nSubject: =?UTF-8?B?AA==?=\r\nMessage-ID: <h-nul-${i}@x.test>\r\n\r\nNUL subject\r\n`,
  (i, from) =>
    `From: =?UTF-8?B?AGV2aWw=?= <${from}>\r\nSubject: Re: [#AAAAAA] flood\r\nMessage-ID: <h-flood-${i}@x.test>\r\nIn-Reply-To: <bench-${i}@customer.test>\r\n\r\nSee below\n${'From: a\n'.repeat(3000)}`,
  (i, from) => {
    let body = 'leaf';
    for (let d = 0; d < 25; d++) body = `Content-Type: multipart/mixed; boundary="b${d}"\r\n\r\n--b${d}\r\n${body}\r\n--b${d}--`;
    return `From: ${from}\r\nSubject: deep\r\nMessage-ID: <h-deep-${i}@x.test>\r\nMIME-Version: 1.0\r\n${body}\r\n`;
  },
  (i, from) => `From: ${from}\r\nX-Long: ${'a'.repeat(100_000)}\r\nSubject: long header\r\nMessage-ID: <h-long-${i}@x.test>\r\n\r\nbody\r\n`,
  (i, from) =>
    `From: ${from}\r\nSubject: \xc3\x28\xff\xfe broken\r\nMessage-ID: <h-utf-${i}@x.test>\r\nContent-Type: text/plain; charset="x-unknown-42"\r\n\r\n\xed\xa0\x80\x80\x80 body\r\n`,
  (i, from) =>
    `From: ${from}\r\nSubject: open\r\nMessage-ID: <h-open-${i}@x.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="never"\r\n\r\n--never\r\nContent-Type: text/html\r\n\r\n${'<div><blockquote>'.repeat(2000)}x\r\n`,
  (i, from) =>
    `From: ${from}\r\nSubject: heavy html\r\nMessage-ID: <h-html-${i}@x.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<div>${'<p><b>x</b> y</p>'.repeat(5000)}</div>\r\n`,
];

export async function benchHostile(): Promise<void> {
  const { knex } = await freshDatabase(DB);
  const dovecot = await Dovecot.start();
  try {
    const [customer] = await knex('customers')
      .insert({ name: 'Bench', email_domains: ['customer.test'] })
      .returning('id');
    const contacts = Array.from({ length: 200 }, (_, i) => `contact${i}@customer.test`);
    await knex('contacts').insert(contacts.map((email, i) => ({ contactable_id: customer.id, name: `Contact ${i}`, email })));
    const normal = await buildMix(Math.ceil(TOTAL * 0.9), contacts);
    const mix: Buffer[] = [];
    for (let i = 0, h = 0; mix.length < TOTAL; i++) {
      if (i % 10 === 9) mix.push(Buffer.from(HOSTILE[h++ % HOSTILE.length]!(i, contacts[i % contacts.length]!), 'latin1'));
      else if (normal.length) mix.push(normal.shift()!);
    }
    const user = 'bench';
    dovecot.writeMaildir(user, mix);
    const floor = await floorRate(dovecot, user);
    const box = await benchMailbox(dovecot, user, 'support@helpdesk.test');
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const { emailsPerSecond: rate, role } = await ingestBacklog(knex, box, mix.length);
    delay.disable();
    await role.stop();
    const outcomes = await knex('inbound_emails').where({ mailbox_id: box.id }).groupBy('outcome').select('outcome').count({ n: '*' });
    const ms = (ns: number) => Math.round((ns / 1e6) * 10) / 10;
    report({
      bench: 'hostile',
      figure: 'throughput, 10% hostile mail',
      messages: mix.length,
      emails_per_second: Math.round(rate),
      floor_emails_per_second: Math.round(floor),
      floor: 'imapflow FETCH of the same messages + mailparser simpleParser, no database',
      ratio_to_floor: Math.round((rate / floor) * 100) / 100,
      aim_ratio: 0.4,
      outcomes: Object.fromEntries((outcomes as unknown as { outcome: string; n: number }[]).map((o) => [o.outcome, Number(o.n)])),
    });
    report({
      bench: 'hostile',
      figure: 'event-loop delay while ingesting (monitorEventLoopDelay, 5 ms resolution)',
      p50_ms: ms(delay.percentile(50)),
      p99_ms: ms(delay.percentile(99)),
      max_ms: ms(delay.max),
      aim_p99_ms: 50,
      aim_max_ms: 200,
    });
  } finally {
    await dovecot.destroy();
    await knex.destroy();
    await dropDatabase(DB);
  }
}
