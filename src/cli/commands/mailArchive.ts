/**
 * `helpdesk mail import --mailbox M --mbox FILE` / `--maildir DIR`: an existing archive
 * through the inbound pipeline (see src/mail/archive/importArchive.ts), with a progress bar
 * on a terminal and a summary of the outcomes on stdout. Run again after an interruption,
 * it goes on where it stopped.
 *
 * Exit codes: 0 at the end of the archive (whatever the outcomes: a broken message is
 * recorded and skipped), 64 for a usage error (no such file or mailbox, not an mbox or a
 * maildir), 75 when the database is unreachable or another process is importing the same
 * archive (try again later: it goes on where it stopped), 130/143 when stopped by
 * SIGINT/SIGTERM after the batch in hand (the summary tells what was done).
 */
import fs from 'node:fs';
import { SingleBar } from 'cli-progress';
import { config } from '../../config';
import { isConnectionError } from '../../db/errors';
import { db } from '../../db/knex';
import { migrateLatest } from '../../db/migrate';
import { type OpenDatabase, openDatabase } from '../../db/open';
import { type Logger, logger } from '../../logger';
import { ImportBusyError, type ImportProgress, type ImportSummary, VANISHED, importArchive } from '../../mail/archive/importArchive';
import { NotAMaildirError } from '../../mail/archive/maildir';
import { type MboxFormat, NotAnMboxError } from '../../mail/archive/mbox';
import { type ArchiveSource, openMaildir, openMbox } from '../../mail/archive/sources';
import type { Mailbox } from '../../models/Mailbox';
import { findMailbox } from '../../services/mailboxes/mailboxes';
import { UsageError } from '../args';

const EX_TEMPFAIL = 75;

/** The command line of an archive import, checked. */
export interface ArchiveImportArgs {
  mailbox: string;
  mbox?: string;
  maildir?: string;
  mboxFormat: MboxFormat;
  restart: boolean;
  /** Queue acknowledgements and team notices as live mail would (off: see importArchive.ts). */
  notify: boolean;
}

/** The summary's order: the pipeline's outcomes as the API lists them, then anything else. */
const OUTCOME_ORDER = ['ticket_created', 'reply_added', 'duplicate', 'auto_reply', 'bounce', 'loop', 'quarantined', 'rejected', 'failed', VANISHED];

/** The lines printed at the end: what was imported from where, then one line per outcome seen. */
export function summaryLines(source: ArchiveSource, mailbox: Mailbox, s: ImportSummary): string[] {
  const head = `${s.complete ? 'imported' : 'stopped after'} ${s.messages} message${s.messages === 1 ? '' : 's'} from ${source.format} ${source.path} into mailbox ${mailbox.id} <${mailbox.email}>`;
  const lines = [head];
  if (s.before > 0) lines.push(`went on after ${s.before} message${s.before === 1 ? '' : 's'} done by an earlier run`);
  const rank = (o: string) => (OUTCOME_ORDER.includes(o) ? OUTCOME_ORDER.indexOf(o) : OUTCOME_ORDER.length);
  const outcomes = Object.keys(s.outcomes).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const o of outcomes) lines.push(`${o.padEnd(15)} ${String(s.outcomes[o]).padStart(8)}`);
  if (!s.complete) lines.push('not at the end of the archive: run the same command again to go on');
  return lines;
}

async function openSource(args: ArchiveImportArgs): Promise<ArchiveSource> {
  const where = (args.mbox ?? args.maildir)!;
  if (!fs.existsSync(where)) throw new UsageError(`no such ${args.mbox ? 'file' : 'directory'} ${where}`);
  try {
    return args.mbox ? await openMbox(args.mbox, args.mboxFormat) : await openMaildir(args.maildir!);
  } catch (e) {
    if (e instanceof NotAnMboxError || e instanceof NotAMaildirError) throw new UsageError(e.message);
    throw e;
  }
}

/** A progress bar on a terminal; elsewhere a log line now and then. */
function progressReporter(source: ArchiveSource, log: Logger): { update: (p: ImportProgress) => void; stop: () => void } {
  if (!process.stderr.isTTY) {
    let last = 0;
    return {
      update: (p) => {
        if (Date.now() - last < 10_000) return;
        last = Date.now();
        log.info({ done: p.done, total: p.total, unit: source.unit, messages: p.messages }, 'import progress');
      },
      stop: () => undefined,
    };
  }
  const format =
    source.unit === 'bytes' ? '{bar} {percentage}% | {messages} messages | ETA {eta_formatted}' : '{bar} {value}/{total} messages | ETA {eta_formatted}';
  const bar = new SingleBar({ format, stream: process.stderr, hideCursor: true, etaBuffer: 50 });
  bar.start(source.total, 0, { messages: 0 });
  return {
    update: (p) => bar.update(Math.min(p.done, p.total), { messages: p.messages }),
    stop: () => bar.stop(),
  };
}

/** Ctrl-C (or SIGTERM) stops after the batch in hand; a second one ends the process at once (nothing is lost: the next run goes on). */
function stopOnSignals(): { stopped: () => NodeJS.Signals | undefined; release: () => void } {
  let signal: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals) => {
    if (signal) process.exit(s === 'SIGINT' ? 130 : 143);
    signal = s;
    process.stderr.write(`\nhelpdesk: stopping after the messages in hand (${s} again to quit now; the next run goes on from there)\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stopped: () => signal,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Runs the import; returns the exit code (see the file's comment). */
export async function importArchiveCommand(args: ArchiveImportArgs): Promise<number> {
  const source = await openSource(args);
  let database: OpenDatabase | undefined;
  const signals = stopOnSignals();
  let progress: ReturnType<typeof progressReporter> | undefined;
  try {
    database = await openDatabase(config());
    await migrateLatest(db());
    const mailbox = await findMailbox(args.mailbox);
    if (!mailbox) throw new UsageError(`no mailbox ${args.mailbox}`);
    const log = logger.child({ mailbox_id: mailbox.id, archive: source.path });
    // the pipeline's line per message would break the bar: on a terminal it says only what went wrong
    const pipelineLog = process.stderr.isTTY && log.levelVal < 40 ? log.child({}, { level: 'warn' }) : log;
    progress = progressReporter(source, log);
    const summary = await importArchive({
      mailbox,
      source,
      restart: args.restart,
      notify: args.notify,
      stop: () => signals.stopped() !== undefined,
      onProgress: progress.update,
      log: pipelineLog,
    });
    progress.stop();
    progress = undefined;
    process.stdout.write(`${summaryLines(source, mailbox, summary).join('\n')}\n`);
    if (summary.complete) return 0;
    return signals.stopped() === 'SIGTERM' ? 143 : 130;
  } catch (e) {
    progress?.stop();
    if (e instanceof UsageError) throw e;
    if (e instanceof ImportBusyError) {
      process.stderr.write(`helpdesk: ${e.message}; try again when it is done\n`);
      return EX_TEMPFAIL;
    }
    if (isConnectionError(e)) {
      logger.error({ err: e }, 'database unreachable; the import goes on from where it stopped when run again');
      process.stderr.write('helpdesk: database unreachable; run the same command again later to go on\n');
      return EX_TEMPFAIL;
    }
    throw e;
  } finally {
    signals.release();
    await database?.close().catch(() => undefined);
  }
}
