/**
 * Where outgoing mail goes: nodemailer's pooled SMTP transport to `SMTP_URL`, or, with no
 * SMTP configured, `.eml` files under `$HELPDESK_DATA_DIR/outgoing/<date>/` (logged, and
 * counted as sent) so a fresh install shows what it would have mailed.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import { config } from '../../config';
import { logger } from '../../logger';
import { mailTlsOptions } from '../tls';

export interface Delivery {
  accepted: string[];
  rejected: string[];
  response: string;
}

export interface MailTransport {
  readonly kind: 'smtp' | 'files';
  send(message: Mail.Options): Promise<Delivery>;
  close(): void;
}

/**
 * Pool settings shared by the mailer and the benchmark's floor. Every timeout stays well
 * inside the claim's lease, so a stalled server cannot keep a message past it (when
 * another mailer would send it again).
 */
export function smtpPoolOptions(url: string) {
  const quarterLease = (config().mailerLeaseSeconds * 1000) / 4;
  const within = (ms: number) => Math.max(5_000, Math.min(ms, quarterLease));
  return {
    url,
    pool: true,
    maxConnections: config().smtpPoolConnections,
    maxMessages: 1000,
    tls: mailTlsOptions(),
    connectionTimeout: within(60_000),
    greetingTimeout: within(30_000),
    socketTimeout: within(120_000),
  };
}

const addresses = (list: unknown[] | undefined) =>
  (list ?? []).map((a) => (typeof a === 'string' ? a : ((a as { address?: string }).address ?? String(a))));

class SmtpTransport implements MailTransport {
  readonly kind = 'smtp';
  private readonly transporter;

  constructor(url: string) {
    this.transporter = nodemailer.createTransport(smtpPoolOptions(url));
  }

  async send(message: Mail.Options): Promise<Delivery> {
    const info = await this.transporter.sendMail(message);
    return { accepted: addresses(info.accepted), rejected: addresses(info.rejected), response: String(info.response ?? '') };
  }

  close(): void {
    this.transporter.close();
  }
}

class FileTransport implements MailTransport {
  readonly kind = 'files';
  private readonly transporter = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

  async send(message: Mail.Options): Promise<Delivery> {
    const info = await this.transporter.sendMail(message);
    const day = new Date().toISOString().slice(0, 10);
    const dir = path.join(config().dataDir, 'outgoing', day);
    await fs.mkdir(dir, { recursive: true });
    const name = String(message.messageId ?? info.messageId).replace(/[<>]/g, '').replace(/[^A-Za-z0-9@._-]/g, '_');
    const file = path.join(dir, `${name}.eml`);
    await fs.writeFile(`${file}.tmp`, info.message as Buffer);
    await fs.rename(`${file}.tmp`, file);
    const to = [...addresses(info.envelope.to as unknown[])];
    logger.info({ file, to, subject: message.subject }, 'mail written to a file (no SMTP_URL set)');
    return { accepted: to, rejected: [], response: `written to ${file}` };
  }

  close(): void {}
}

export function createMailTransport(): MailTransport {
  const url = config().smtpUrl;
  return url ? new SmtpTransport(url) : new FileTransport();
}

/**
 * Whether a send error is final: the server refused the message or every recipient with a
 * 5xx. Connection, TLS and authentication errors are ours to fix, so they retry (a wrong
 * password must not fail every queued message at once).
 */
export function isPermanentFailure(error: unknown): boolean {
  const e = error as { responseCode?: number; code?: string; rejectedErrors?: { responseCode?: number }[] };
  if (e.code === 'EENVELOPE' && e.rejectedErrors?.length) {
    return e.rejectedErrors.every((r) => typeof r.responseCode === 'number' && r.responseCode >= 500);
  }
  if (e.code === 'EAUTH' || e.code === 'ECONNECTION' || e.code === 'ETLS' || e.code === 'ESOCKET' || e.code === 'ETIMEDOUT') return false;
  return typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600;
}
