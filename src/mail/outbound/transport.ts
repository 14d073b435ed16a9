/**
 * Where outgoing mail goes: nodemailer's pooled SMTP transport to `SMTP_URL`, or, with no
 * SMTP configured, `.eml` files under `$HELPDESK_DATA_DIR/outgoing/<date>/` (logged, and
 * counted as sent) so a fresh install shows what it would have mailed.
 *
 * A message goes to each recipient in an SMTP transaction of its own, with an envelope
 * sender of its own (the VERP return path that names that recipient): the same bytes
 * (headers, Message-ID, body) to all, and an answer per recipient.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import { config } from '../../config';
import { logger } from '../../logger';
import { mailTlsOptions } from '../tls';

/** One SMTP transaction: its MAIL FROM and its one RCPT TO. */
export interface Envelope {
  from: string;
  to: string;
}

/**
 * What became of one recipient: accepted (`delivered`), refused for good with a 5xx
 * (`rejected`), or not this time (`deferred`: a 4xx, a connection or TLS problem).
 */
export interface RecipientResult {
  address: string;
  status: 'delivered' | 'rejected' | 'deferred';
  /** The server's reply line, when there was one. */
  response: string | null;
  /** Why it was not delivered. */
  error?: string;
}

export interface MailTransport {
  readonly kind: 'smtp' | 'files';
  /** Sends `message` once per envelope; never throws for a recipient's failure, reports it. */
  sendEach(message: Mail.Options, envelopes: Envelope[]): Promise<RecipientResult[]>;
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

/** The whole message as bytes, built once (its attachment streams read once). */
export function buildRaw(message: Mail.Options): Promise<Buffer> {
  return new MailComposer(message).compile().build();
}

/** A failed send as a recipient's result: permanent (5xx) or not. */
function failed(address: string, error: unknown): RecipientResult {
  const e = error as { message?: string; response?: string };
  return {
    address,
    status: isPermanentFailure(error) ? 'rejected' : 'deferred',
    response: e.response ? String(e.response) : null,
    error: e.message ?? String(error),
  };
}

class SmtpTransport implements MailTransport {
  readonly kind = 'smtp';
  private readonly transporter;

  constructor(url: string) {
    this.transporter = nodemailer.createTransport(smtpPoolOptions(url));
  }

  async sendEach(message: Mail.Options, envelopes: Envelope[]): Promise<RecipientResult[]> {
    if (envelopes.length === 0) return [];
    // One recipient: the message streams as nodemailer builds it. Several: built once, so
    // every copy is the same bytes and the attachments are read once.
    const single = envelopes.length === 1;
    let raw: Buffer | undefined;
    if (!single) {
      try {
        raw = await buildRaw(message);
      } catch (error) {
        return envelopes.map((e) => failed(e.to, error));
      }
    }
    return Promise.all(
      envelopes.map(async (e): Promise<RecipientResult> => {
        const envelope = { from: e.from, to: [e.to] };
        try {
          const info = await this.transporter.sendMail(single ? { ...message, envelope } : { raw, envelope });
          if (info.rejected.length) return failed(e.to, { message: `refused: ${String(info.response ?? '')}`, response: info.response });
          return { address: e.to, status: 'delivered', response: String(info.response ?? '') };
        } catch (error) {
          return failed(e.to, error);
        }
      }),
    );
  }

  close(): void {
    this.transporter.close();
  }
}

class FileTransport implements MailTransport {
  readonly kind = 'files';
  private readonly transporter = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

  /** One file per message, whatever the envelopes; the log says which envelopes it stands for. */
  async sendEach(message: Mail.Options, envelopes: Envelope[]): Promise<RecipientResult[]> {
    if (envelopes.length === 0) return [];
    const info = await this.transporter.sendMail(message);
    const day = new Date().toISOString().slice(0, 10);
    const dir = path.join(config().dataDir, 'outgoing', day);
    await fs.mkdir(dir, { recursive: true });
    const name = String(message.messageId ?? info.messageId)
      .replace(/[<>]/g, '')
      .replace(/[^A-Za-z0-9@._-]/g, '_');
    const file = path.join(dir, `${name}.eml`);
    await fs.writeFile(`${file}.tmp`, info.message as Buffer);
    await fs.rename(`${file}.tmp`, file);
    logger.info({ file, envelopes, subject: message.subject }, 'mail written to a file (no SMTP_URL set)');
    return envelopes.map((e) => ({ address: e.to, status: 'delivered', response: `written to ${file}` }));
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
