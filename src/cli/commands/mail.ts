/**
 * `helpdesk mail import --mailbox ID_OR_ADDRESS [FILE|-]`: one raw message through exactly
 * the pipeline the poller uses, so an MTA can pipe mail in. Exit 0 when stored (also as a
 * duplicate or quarantined), 75 (EX_TEMPFAIL) when the database cannot be reached, so the
 * MTA retries later.
 */
import fs from 'node:fs';
import { config } from '../../config';
import { isConnectionError } from '../../db/errors';
import { db } from '../../db/knex';
import { migrateLatest } from '../../db/migrate';
import { type OpenDatabase, openDatabase } from '../../db/open';
import { logger } from '../../logger';
import { ingestMessage } from '../../mail/inbound/ingest';
import { findMailbox } from '../../services/mailboxes/mailboxes';
import { UsageError, parse, required } from '../args';

export const EX_TEMPFAIL = 75;

async function readInput(file: string | undefined): Promise<Buffer> {
  if (file && file !== '-') return fs.readFileSync(file);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function mailCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'import') throw new UsageError('usage: helpdesk mail import --mailbox ID_OR_ADDRESS [FILE|-]');
  const { values, positionals } = parse(rest, { mailbox: { type: 'string' } });
  const mailboxRef = required(values, 'mailbox');
  if (positionals[0] && positionals[0] !== '-' && !fs.existsSync(positionals[0])) throw new UsageError(`no such file ${positionals[0]}`);
  const raw = await readInput(positionals[0]);
  if (raw.length === 0) throw new UsageError('the message is empty');

  let database: OpenDatabase | undefined;
  try {
    database = await openDatabase(config());
    await migrateLatest(db());
    const mailbox = await findMailbox(mailboxRef);
    if (!mailbox) throw new UsageError(`no mailbox ${mailboxRef}`);
    const result = await ingestMessage({ mailbox, raw });
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
