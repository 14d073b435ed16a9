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
