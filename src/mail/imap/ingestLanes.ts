/**
 * A batch of one mailbox's messages through the pipeline the way the IMAP poller does it:
 * split into lanes of unrelated messages (see ../imap/lanes.ts), each lane ingested in one
 * transaction as soon as its messages are read, while the next lane is still being read.
 * A lane that fails is rolled back and redone message by message, so one bad message is
 * recorded `failed` and the others still land. Related messages (one thread, one sender,
 * one ticket number) stay in one lane, in batch order.
 */
import { db } from '../../db/knex';
import type { Mailbox } from '../../models/Mailbox';
import { splitIntoLanes } from './lanes';
import type { Logger } from '../../logger';
import { type IngestResult, ingestBatch, ingestOneByOne } from '../inbound/ingest';
import { type PreparedMessage } from '../inbound/prepare';

/**
 * Ingests `raws` (read by `reads`, begun by the caller in one turn so the CPU pool reads them
 * in chunks). Returns each message's result, in the order given. Throws only what the
 * pipeline throws (an unreachable database, a failure of the CPU pool), once every lane
 * begun has ended.
 */
export async function ingestInLanes(
  mailbox: Mailbox,
  raws: Buffer[],
  reads: Promise<PreparedMessage>[],
  opts: { lanes?: number; log: Logger; notify?: boolean },
): Promise<IngestResult[]> {
  const indexes = raws.map((_, i) => i);
  const lanes = await splitIntoLanes(indexes, new Map(raws.map((raw, i) => [i, raw])), opts.lanes ?? 4);
  const results: IngestResult[] = new Array(raws.length);
  const runLane = async (lane: number[], messages: PreparedMessage[], oneByOne: boolean) => {
    const pipeline = { notify: opts.notify };
    const done = oneByOne
      ? await ingestOneByOne(db(), mailbox, messages, pipeline)
      : await db().transaction((trx) => ingestBatch(trx, mailbox, messages, pipeline));
    done.forEach((result, i) => (results[lane[i]!] = result));
  };
  // settled as they end (a lane failing while the next is read is no unhandled rejection)
  const runs: Promise<{ lane: number[]; messages: PreparedMessage[]; error?: unknown; failed: boolean }>[] = [];
  try {
    for (const lane of lanes) {
      const messages = await Promise.all(lane.map((i) => reads[i]!));
      runs.push(
        runLane(lane, messages, false).then(
          () => ({ lane, messages, failed: false }),
          (error: unknown) => ({ lane, messages, error, failed: true }),
        ),
      );
    }
  } finally {
    // nothing is left running in the database when this returns or throws
    await Promise.all(runs);
  }
  for (const run of await Promise.all(runs)) {
    if (!run.failed) continue;
    opts.log.warn({ err: run.error }, 'a lane failed; redoing it message by message');
    await runLane(run.lane, run.messages, true);
  }
  return results;
}
