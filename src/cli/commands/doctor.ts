/**
 * `helpdesk doctor`: checks what a running helpdesk depends on (configuration, secret,
 * database, migrations, each active mailbox's IMAP login, SMTP, Chromium) and prints one
 * line per check, `ok` or `FAIL` (or `skip`, when what it needs failed first). Exit 1 when
 * any check failed. Read only: it migrates nothing, and never prints a secret or password.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { type Config, ConfigError, config } from '../../config';
import { db } from '../../db/knex';
import { migrationStatus } from '../../db/migrate';
import { type OpenDatabase, openDatabase } from '../../db/open';
import { redactUrl } from '../../logger';
import { testImapLogin } from '../../mail/imap/connection';
import { smtpPoolOptions } from '../../mail/outbound/transport';
import { Mailbox } from '../../models/Mailbox';
import { imapPassword } from '../../services/mailboxes/mailboxes';
import { parse } from '../args';

type Status = 'ok' | 'FAIL' | 'skip';

/** The outcome of one check: what was checked and what was found. */
export interface CheckResult {
  status: Status;
  name: string;
  detail: string;
}

const ok = (name: string, detail: string): CheckResult => ({ status: 'ok', name, detail });
const fail = (name: string, detail: string): CheckResult => ({ status: 'FAIL', name, detail });
const skip = (name: string, detail: string): CheckResult => ({ status: 'skip', name, detail });

/** The first line of an error's message: enough to act on, never a stack. */
function reason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split('\n')[0]!.trim() || (e as { code?: string }).code || 'unknown error';
}

/** Rejects after `ms` with `what` timed out: a server that never answers must not hang the doctor. */
function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** HELPDESK_SECRET, or in embedded mode the secret generated into the data dir. */
export function checkSecret(cfg: Config): CheckResult {
  if (cfg.secret) return ok('secret', 'HELPDESK_SECRET is set (at least 16 characters)');
  const file = path.join(cfg.dataDir, 'secret');
  if (!fs.existsSync(file)) return ok('secret', `HELPDESK_SECRET is not set; one is generated into ${file} on first use (embedded mode)`);
  const stat = fs.statSync(file);
  if (fs.readFileSync(file, 'utf8').trim().length < 16) return fail('secret', `${file} holds fewer than 16 characters`);
  if (stat.mode & 0o077) return fail('secret', `${file} can be read by other users (chmod 600 it)`);
  return ok('secret', `HELPDESK_SECRET is not set; using the one generated into ${file}`);
}

async function checkDatabase(cfg: Config): Promise<{ result: CheckResult; database?: OpenDatabase }> {
  let database: OpenDatabase | undefined;
  try {
    database = await openDatabase(cfg); // a connection that cannot be had fails within knex's 10 s
    const row = (await within(15_000, 'the database', db().raw('show server_version'))).rows[0] as { server_version: string };
    const where = cfg.databaseUrl ? redactUrl(database.url) : `the embedded server (${redactUrl(database.url)})`;
    return { result: ok('database', `PostgreSQL ${row.server_version.split(' ')[0]} at ${where}`), database };
  } catch (e) {
    await database?.close().catch(() => undefined);
    const where = cfg.databaseUrl ? redactUrl(cfg.databaseUrl) : `the embedded server under ${cfg.dataDir}`;
    return { result: fail('database', `cannot connect to ${where}: ${reason(e)}`) };
  }
}

async function checkMigrations(): Promise<CheckResult> {
  try {
    const { pending, unknown } = await migrationStatus(db());
    if (unknown.length) return fail('migrations', `the database has migrations this version does not know (a newer version ran): ${unknown.join(', ')}`);
    if (pending.length) {
      const names = pending.length > 3 ? `${pending.slice(0, 2).join(', ')}, ... ${pending.at(-1)}` : pending.join(', ');
      return fail('migrations', `${pending.length} not applied (run \`helpdesk migrate\`; \`helpdesk start\` also migrates): ${names}`);
    }
    return ok('migrations', 'all applied');
  } catch (e) {
    return fail('migrations', reason(e));
  }
}

/** One active mailbox: the same login as `POST /mailboxes/{id}/test`. */
async function checkMailbox(mailbox: Mailbox): Promise<CheckResult> {
  const name = `mailbox ${mailbox.email}`;
  if (!mailbox.imap_host || !mailbox.imap_username) return ok(name, 'no IMAP account (its mail comes in through `helpdesk mail import`)');
  const account = `${mailbox.imap_username} at ${mailbox.imap_host}:${mailbox.imap_port}`;
  try {
    imapPassword(mailbox);
  } catch {
    return fail(name, `the stored IMAP password of ${account} cannot be decrypted with this secret (was HELPDESK_SECRET changed?)`);
  }
  const result = await within(45_000, `IMAP server ${mailbox.imap_host}:${mailbox.imap_port}`, testImapLogin(mailbox)).catch((e: unknown) => ({
    ok: false,
    error: reason(e),
  }));
  return result.ok ? ok(name, `IMAP login as ${account} accepted`) : fail(name, `IMAP login as ${account} failed: ${result.error ?? 'no reason given'}`);
}

async function checkMailboxes(): Promise<CheckResult[]> {
  try {
    // the migrations check has already said what to do about a missing table
    if (!(await db().schema.hasTable('mailboxes'))) return [skip('mailboxes', 'no mailboxes table until the migrations are applied')];
    const active = await Mailbox.query().where({ active: true }).orderBy('id');
    if (active.length === 0) return [ok('mailboxes', 'none active')];
    return await Promise.all(active.map(checkMailbox));
  } catch (e) {
    return [fail('mailboxes', `cannot list them: ${reason(e)}`)];
  }
}

/** The SMTP server of SMTP_URL, with the mailer's own TLS and timeout settings. */
async function checkSmtp(cfg: Config): Promise<CheckResult> {
  if (!cfg.smtpUrl) return ok('smtp', `SMTP_URL is not set: outgoing mail is written as .eml files under ${path.join(cfg.dataDir, 'outgoing')}`);
  const where = redactUrl(cfg.smtpUrl);
  const transporter = nodemailer.createTransport({ ...smtpPoolOptions(cfg.smtpUrl), pool: false });
  try {
    await within(60_000, `SMTP server ${where}`, transporter.verify());
    return ok('smtp', `${where} accepts a connection${new URL(cfg.smtpUrl).username ? ' and the login' : ''}`);
  } catch (e) {
    return fail('smtp', `${where}: ${reason(e)}`);
  } finally {
    transporter.close();
  }
}

/** CHROMIUM_PATH exists and answers `--version` (the PDF reports need it). */
function checkChromium(cfg: Config): Promise<CheckResult> {
  const file = cfg.chromiumPath;
  if (!fs.existsSync(file)) return Promise.resolve(fail('chromium', `${file} does not exist (install Debian's chromium, or set CHROMIUM_PATH)`));
  return new Promise((resolve) => {
    execFile(file, ['--version'], { timeout: 30_000 }, (error, stdout, stderr) => {
      const version = String(stdout).trim().split('\n')[0];
      if (error || !version) {
        const why = error ? reason(error) : String(stderr).trim().split('\n')[0] || 'it printed no version';
        resolve(fail('chromium', `${file} --version failed: ${why}`));
      } else {
        resolve(ok('chromium', `${file}: ${version}`));
      }
    });
  });
}

/** The configuration's problems as failed checks; those about the secret under its name. */
function configFailures(e: ConfigError): CheckResult[] {
  return e.problems.map((p) => (p.startsWith('HELPDESK_SECRET') ? fail('secret', p) : fail('config', p)));
}

/** Runs every check, handing each result to `report` as it is known. */
export async function runChecks(report: (r: CheckResult) => void): Promise<void> {
  let cfg: Config;
  try {
    cfg = config();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    configFailures(e).forEach(report);
    report(skip('others', 'not checked until the configuration is valid'));
    return;
  }
  report(ok('config', 'every setting is valid'));
  report(checkSecret(cfg));
  const { result, database } = await checkDatabase(cfg);
  report(result);
  try {
    if (database) {
      report(await checkMigrations());
      (await checkMailboxes()).forEach(report);
    } else {
      report(skip('migrations', 'no database'));
      report(skip('mailboxes', 'no database'));
    }
  } finally {
    await database?.close();
  }
  report(await checkSmtp(cfg));
  report(await checkChromium(cfg));
}

export async function doctorCommand(argv: string[]): Promise<number> {
  parse(argv, {});
  let failed = 0;
  await runChecks((r) => {
    if (r.status === 'FAIL') failed++;
    process.stdout.write(`${r.status.padEnd(4)} ${r.name}: ${r.detail}\n`);
  });
  return failed ? 1 : 0;
}
