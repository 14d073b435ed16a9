/**
 * Raw messages for tests, composed by nodemailer's MailComposer (real MIME), and mailbox
 * factories.
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Mailbox } from '../../src/models/Mailbox';
import { mailboxes } from '../../src/services/mailboxes/mailboxes';

let seq = 0;

export interface MailSpec {
  from: string;
  to?: string;
  cc?: string;
  subject?: string;
  text?: string;
  html?: string;
  messageId?: string;
  inReplyTo?: string;
  references?: string;
  headers?: Record<string, string>;
  attachments?: { filename: string; content: Buffer | string; contentType?: string; cid?: string }[];
}

/** A raw RFC 5322 message. */
export function buildMail(spec: MailSpec): Promise<Buffer> {
  const composer = new MailComposer({
    from: spec.from,
    to: spec.to ?? 'support@helpdesk.test',
    cc: spec.cc,
    subject: spec.subject ?? `Subject ${++seq}`,
    text: spec.text ?? (spec.html ? undefined : 'Hello, something is broken.'),
    html: spec.html,
    messageId: spec.messageId ?? `<test-${process.pid}-${++seq}-${Date.now()}@customer.test>`,
    inReplyTo: spec.inReplyTo,
    references: spec.references,
    headers: spec.headers,
    attachments: spec.attachments,
  });
  return new Promise((resolve, reject) => composer.compile().build((err, msg) => (err ? reject(err) : resolve(msg))));
}

export async function makeMailbox(fields: Partial<Record<keyof Mailbox, unknown>> & { imap_password?: string } = {}): Promise<Mailbox> {
  const n = ++seq;
  return mailboxes.create({ name: `Support ${n}`, email: `support${n}-${process.pid}@helpdesk.test`, ...fields });
}

export interface DsnSpec {
  /** The recipient the report says failed. */
  failed: string;
  /** Where the report is delivered: our mailbox, or a VERP return path. */
  to: string;
  /** Its own Message-ID (the part before @). */
  id: string;
  from?: string;
  status?: string;
  /** Header lines of the returned original (e.g. its Message-ID), quoted in a text/rfc822-headers part. */
  original?: string[];
  /** Extra header lines of the report itself. */
  headers?: string[];
}

/** A delivery status notification (multipart/report), as a mail server returns one. */
export function buildDsn(spec: DsnSpec): Buffer {
  const status = spec.status ?? '5.1.1';
  const lines = [
    `From: ${spec.from ?? 'Mail Delivery System <MAILER-DAEMON@mx.acme.test>'}`,
    `To: ${spec.to}`,
    'Subject: Undelivered Mail Returned to Sender',
    `Message-ID: <${spec.id}@mx.acme.test>`,
    ...(spec.headers ?? []),
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
    '',
    '--B',
    'Content-Type: text/plain',
    '',
    'Your message could not be delivered.',
    '--B',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.acme.test',
    '',
    `Final-Recipient: rfc822; ${spec.failed}`,
    'Action: failed',
    `Status: ${status}`,
    `Diagnostic-Code: smtp; 550 ${status} user unknown`,
    ...(spec.original ? ['--B', 'Content-Type: text/rfc822-headers', '', ...spec.original] : []),
    '--B--',
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}
