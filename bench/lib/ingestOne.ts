/**
 * Run by the ingest benchmark in a process of its own, so the memory one message costs is
 * not hidden in a heap the throughput test already grew: ingests a small message (loads
 * and warms the code), then the message in FILE, and prints the peak RSS growth as JSON.
 *
 *   node [loader] bench/lib/ingestOne.ts DATABASE_URL MAILBOX_ID FILE
 */
import fs from 'node:fs';
import { createKnex, useDatabase } from '../../src/db/knex';
import { ingestMessage } from '../../src/mail/inbound/ingest';
import { Mailbox } from '../../src/models/Mailbox';

async function main(): Promise<void> {
  const [url, mailboxId, file] = process.argv.slice(2);
  const knex = createKnex(url!, 2);
  useDatabase(knex);
  const mailbox = await Mailbox.query().findById(Number(mailboxId)).throwIfNotFound();
  const raw = fs.readFileSync(file!);
  const warmUp = Buffer.from(
    'From: warm@customer.test\r\nTo: support@helpdesk.test\r\nSubject: warm-up\r\nMessage-ID: <warm-up@customer.test>\r\n' +
      'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n' +
      '--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="a.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--b--\r\n',
  );
  await ingestMessage({ mailbox, raw: warmUp });
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const result = await ingestMessage({ mailbox, raw });
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  process.stdout.write(`${JSON.stringify({ outcome: result.outcome, base_mb: base / 1048576, peak_growth_mb: (peak - base) / 1048576 })}\n`);
  await knex.destroy();
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  },
);
