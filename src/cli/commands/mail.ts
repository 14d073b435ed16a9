/**
 * `helpdesk mail import --mailbox ID_OR_ADDRESS [FILE|-]`: one raw message through exactly
 * the pipeline the poller uses, so an MTA can pipe mail in. Exit 0 when stored (also as a
 * duplicate or quarantined), 75 (EX_TEMPFAIL) when the database cannot be reached, so the
 * MTA retries later. With `--mbox FILE` or `--maildir DIR`, a whole archive (see
 * mailArchive.ts).
 */
import fs from 'node:fs';
import { config } from '../../config';
import { isConnectionError } from '../../db/errors';
import { db } from '../../db/knex';
import { migrateLatest } from '../../db/migrate';
import { type OpenDatabase, openDatabase } from '../../db/open';
import { logger } from '../../logger';
import { ingestMessage, ingestOnePrepared } from '../../mail/inbound/ingest';
import { oversizeLimits, oversizeMessage } from '../../mail/inbound/prepare';
import { findMailbox } from '../../services/mailboxes/mailboxes';
import { UsageError, parse, required } from '../args';
import { importArchiveCommand } from './mailArchive';

export const EX_TEMPFAIL = 75;

/** The message read: whole, or (over INBOUND_MAX_BYTES) only its start, with its size. */
interface Input {
  raw: Buffer;
  size: number;
}

/**
 * Reads the message from FILE or stdin, never more than INBOUND_MAX_BYTES of it: past
 * that only its start is kept (oversizeLimits, as the IMAP poller fetches it) and
 * the rest is counted, not held.
 */
async function readInput(file: string | undefined): Promise<Input> {
  const { maxBytes: limit, keepBytes: keep } = oversizeLimits();
  if (file && file !== '-') {
    const size = fs.statSync(file).size;
    if (size <= limit) return { raw: fs.readFileSync(file), size };
    const fd = fs.openSync(file, 'r');
    try {
      const raw = Buffer.alloc(keep);
      return { raw: raw.subarray(0, fs.readSync(fd, raw, 0, keep, 0)), size };
    } finally {
      fs.closeSync(fd);
    }
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let start: Buffer | undefined;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (start) continue;
    chunks.push(chunk as Buffer);
    // past the limit: its start is copied out once, and nothing more is held
    if (size > limit) start = Buffer.from(Buffer.concat(chunks).subarray(0, keep));
  }
  return { raw: start ?? Buffer.concat(chunks), size };
}

const USAGE = `usage: helpdesk mail import --mailbox ID_OR_ADDRESS [FILE|-]
       helpdesk mail import --mailbox ID_OR_ADDRESS --mbox FILE [--mbox-format mboxrd|mboxo] [--restart] [--notify]
       helpdesk mail import --mailbox ID_OR_ADDRESS --maildir DIR [--restart] [--notify]`;

export async function mailCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'import') throw new UsageError(USAGE);
  const { values, positionals } = parse(rest, {
    mailbox: { type: 'string' },
    mbox: { type: 'string' },
    maildir: { type: 'string' },
    'mbox-format': { type: 'string' },
    restart: { type: 'boolean' },
    notify: { type: 'boolean' },
  });
  const mailboxRef = required(values, 'mailbox');
  if (values.mbox !== undefined || values.maildir !== undefined) {
    if (values.mbox !== undefined && values.maildir !== undefined) throw new UsageError('give --mbox or --maildir, not both');
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}: the archive is named by --mbox or --maildir`);
    const format = values['mbox-format'] ?? 'mboxrd';
    if (format !== 'mboxrd' && format !== 'mboxo') throw new UsageError('--mbox-format must be mboxrd or mboxo');
    if (values['mbox-format'] !== undefined && values.mbox === undefined) throw new UsageError('--mbox-format goes with --mbox');
    const mbox = values.mbox === undefined ? undefined : required(values, 'mbox');
    const maildir = values.maildir === undefined ? undefined : required(values, 'maildir');
    return importArchiveCommand({ mailbox: mailboxRef, mbox, maildir, mboxFormat: format, restart: values.restart ?? false, notify: values.notify ?? false });
  }
  if (values['mbox-format'] !== undefined || values.restart || values.notify)
    throw new UsageError('--mbox-format, --restart and --notify go with --mbox or --maildir');
  if (positionals[0] && positionals[0] !== '-' && !fs.existsSync(positionals[0])) throw new UsageError(`no such file ${positionals[0]}`);
  const input = await readInput(positionals[0]);
  if (input.size === 0) throw new UsageError('the message is empty');

  let database: OpenDatabase | undefined;
  try {
    database = await openDatabase(config());
    await migrateLatest(db());
    const mailbox = await findMailbox(mailboxRef);
    if (!mailbox) throw new UsageError(`no mailbox ${mailboxRef}`);
    const result =
      input.size > config().inboundMaxBytes
        ? await ingestOnePrepared(mailbox, oversizeMessage(mailbox, input.raw, input.size))
        : await ingestMessage({ mailbox, raw: input.raw });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if (isConnectionError(e)) {
      logger.error({ err: e }, 'database unreachable; the MTA should retry');
      process.stderr.write('helpdesk: database unreachable, try again later\n');
      return EX_TEMPFAIL;
    }
    throw e;
  } finally {
    await database?.close().catch(() => undefined);
  }
}
