/**
 * Importing an archive (an mbox or a maildir) into a mailbox through the inbound pipeline,
 * in order, in batches read ahead in the CPU pool while the one before is in the database,
 * as the IMAP poller does. Exactly once and resumable: after each batch the point reached
 * is stored in `mail_imports`, so a run that was interrupted (Ctrl-C, a crash, SIGKILL) and
 * is started again goes on from there; the messages of the batch in flight when it stopped
 * are read again and the pipeline drops those already stored (by Message-ID, or by the
 * hash of the bytes for a message without one). Each archive is worked by one process at
 * a time (a session advisory lock on its progress row).
 */
import { wallClock } from '../../clock';
import { db } from '../../db/knex';
import { SessionLocks } from '../../db/sessionLocks';
import { type Logger, logger } from '../../logger';
import type { Mailbox } from '../../models/Mailbox';
import { type PreparedMessage, oversizeMessage, prepareMessage } from '../inbound/prepare';
import { ingestInLanes } from '../imap/ingestLanes';
import type { ArchiveMessage, ArchivePosition, ArchiveSource } from './sources';

const LOCK_CLASS = 727_004;

/** Outcome counted for a maildir file deleted between the listing and its reading. */
export const VANISHED = 'vanished';

/** Another process is importing the same archive into the same mailbox now. */
export class ImportBusyError extends Error {}

/** Reported after each batch, for a progress bar. */
export interface ImportProgress {
  /** How far through the archive, in its unit (bytes of an mbox, files of a maildir). */
  done: number;
  total: number;
  /** Messages done, by earlier runs too. */
  messages: number;
}

/** What a run did. */
export interface ImportSummary {
  /** Messages done by this run, and their outcomes. */
  messages: number;
  outcomes: Record<string, number>;
  /** Messages an earlier run had done (this run went on after them). */
  before: number;
  /** Whether the end of the archive was reached (false: stopped; run again to go on). */
  complete: boolean;
}

/** What to import where, and how the caller follows and stops the run. */
export interface ImportOptions {
  mailbox: Mailbox;
  source: ArchiveSource;
  /** Ignore the stored progress and read the archive from its start (stored messages are dropped as duplicates). */
  restart?: boolean;
  /** Checked between batches: true ends the run after the batch in hand. */
  stop?: () => boolean;
  /**
   * Queue the mail live mail would (acknowledgements, team notices). Off by default: an
   * archive is old mail, and nobody should hear of years-old tickets as if new.
   */
  notify?: boolean;
  onProgress?: (p: ImportProgress) => void;
  log?: Logger;
  batchMessages?: number;
  batchBytes?: number;
}

interface ImportRow {
  id: number;
  fingerprint: string | null;
  position: ArchivePosition | null;
  messages: number;
  outcomes: Record<string, number>;
}

async function progressRow(mailbox: Mailbox, source: ArchiveSource): Promise<ImportRow> {
  const t = wallClock();
  const key = { mailbox_id: mailbox.id, format: source.format, path: source.path };
  await db()('mail_imports')
    .insert({ ...key, fingerprint: source.fingerprint, started_at: t, updated_at: t })
    .onConflict(['mailbox_id', 'format', 'path'])
    .ignore();
  return db()('mail_imports').where(key).first('id', 'fingerprint', 'position', 'messages', 'outcomes');
}

/** Where this run starts: the stored point, unless told to restart or the archive changed under it. */
async function startingPoint(row: ImportRow, source: ArchiveSource, restart: boolean, log: Logger): Promise<ArchivePosition | null> {
  const sameArchive = row.fingerprint === source.fingerprint;
  if (row.position && !restart && sameArchive && (await source.canResume(row.position))) return row.position;
  if (row.position) log.warn({ restart, same_archive: sameArchive }, 'reading the archive again from its start; stored messages are dropped as duplicates');
  row.position = null;
  row.messages = 0;
  row.outcomes = {};
  await db()('mail_imports')
    .where({ id: row.id })
    .update({
      fingerprint: source.fingerprint,
      position: null,
      messages: 0,
      outcomes: JSON.stringify({}),
      started_at: wallClock(),
      updated_at: wallClock(),
      finished_at: null,
    });
  return null;
}

interface ReadBatch {
  items: ArchiveMessage[];
  reads: (Promise<PreparedMessage> | undefined)[];
}

/**
 * Takes the next messages (up to `maxMessages` and `maxBytes`, at least one) and begins
 * reading them in the CPU pool, all in one turn so the pool gets them in chunks.
 */
async function nextBatch(it: AsyncIterator<ArchiveMessage>, mailbox: Mailbox, log: Logger, maxMessages: number, maxBytes: number): Promise<ReadBatch> {
  const items: ArchiveMessage[] = [];
  let bytes = 0;
  while (items.length < maxMessages && bytes < maxBytes) {
    const next = await it.next();
    if (next.done) break;
    items.push(next.value);
    bytes += next.value.raw?.length ?? 0;
  }
  const reads = items.map((m) => {
    if (!m.raw) return undefined;
    const read =
      m.size !== undefined ? Promise.resolve(oversizeMessage(mailbox, m.raw, m.size, undefined, log)) : prepareMessage(mailbox, m.raw, undefined, log);
    read.catch(() => undefined); // awaited (and thrown) in its turn
    return read;
  });
  return { items, reads };
}

/** Runs the batch through the pipeline; returns each message's outcome, in order. */
async function ingestReadBatch(mailbox: Mailbox, batch: ReadBatch, log: Logger, notify: boolean): Promise<string[]> {
  const present = batch.items.flatMap((m, i) => (m.raw ? [i] : []));
  const results = await ingestInLanes(
    mailbox,
    present.map((i) => batch.items[i]!.raw!),
    present.map((i) => batch.reads[i]!),
    { log, notify },
  );
  const outcomes: string[] = batch.items.map(() => VANISHED);
  present.forEach((i, j) => (outcomes[i] = results[j]!.outcome));
  return outcomes;
}

/** Imports the archive; see the file's comment. Throws ImportBusyError when another process is importing it. */
export async function importArchive(opts: ImportOptions): Promise<ImportSummary> {
  const { mailbox, source } = opts;
  const log = opts.log ?? logger.child({ mailbox_id: mailbox.id, archive: source.path });
  const row = await progressRow(mailbox, source);
  const locks = SessionLocks.forDatabase();
  let it: AsyncIterator<ArchiveMessage> | undefined;
  let ahead: Promise<ReadBatch> | undefined;
  try {
    if (!(await locks.tryLock(LOCK_CLASS, row.id))) throw new ImportBusyError(`${source.path} is being imported into this mailbox by another process`);
    const start = await startingPoint(row, source, opts.restart ?? false, log);
    const summary: ImportSummary = { messages: 0, outcomes: {}, before: row.messages, complete: false };
    opts.onProgress?.({ done: source.progressAt(start), total: source.total, messages: row.messages });
    it = source.messages(start)[Symbol.asyncIterator]();
    const read = () => {
      const p = nextBatch(it!, mailbox, log, opts.batchMessages ?? 200, opts.batchBytes ?? 16 * 1024 * 1024);
      p.catch(() => undefined); // awaited (and thrown) in its turn
      return p;
    };
    ahead = read();
    for (;;) {
      const batch = await ahead;
      ahead = undefined;
      if (batch.items.length === 0) {
        summary.complete = true;
        await db()('mail_imports').where({ id: row.id }).update({ finished_at: wallClock(), updated_at: wallClock() });
        break;
      }
      if (opts.stop?.()) break;
      // the next batch is read (and parsed in the pool) while this one is in the database
      ahead = read();
      const outcomes = await ingestReadBatch(mailbox, batch, log, opts.notify ?? false);
      for (const outcome of outcomes) {
        summary.outcomes[outcome] = (summary.outcomes[outcome] ?? 0) + 1;
        row.outcomes[outcome] = (row.outcomes[outcome] ?? 0) + 1;
      }
      summary.messages += outcomes.length;
      row.messages += outcomes.length;
      const last = batch.items[batch.items.length - 1]!;
      row.position = await source.mark(last.at);
      await db()('mail_imports')
        .where({ id: row.id })
        .update({ position: JSON.stringify(row.position), messages: row.messages, outcomes: JSON.stringify(row.outcomes), updated_at: wallClock() });
      opts.onProgress?.({ done: last.progress, total: source.total, messages: row.messages });
      log.debug({ messages: row.messages, progress: last.progress, total: source.total }, 'import batch done');
      if (opts.stop?.()) break;
    }
    return summary;
  } finally {
    await ahead?.catch(() => undefined);
    await it?.return?.().catch(() => undefined);
    await locks.close();
  }
}
