/**
 * One claimed outbox row, its screened recipients and its loaded context, as the message
 * nodemailer sends: our Message-ID, the thread headers, `[#NUMBER]` subject, From the
 * mailbox, Reply-To the signed address bound to the recipient, the loop header on
 * everything, the automatic-mail headers on notifications, both parts, the attachments
 * (those the HTML shows inline go by `cid:`). The envelope is not the message's: the
 * outbox gives each recipient its own (see delivery.ts).
 */
import { Readable } from 'node:stream';
import type { Knex } from 'knex';
import type Mail from 'nodemailer/lib/mailer';
import { now } from '../../clock';
import { config } from '../../config';
import type { OutboundEmail } from '../../models/OutboundEmail';
import { readBlob } from '../../services/blobs/blobStore';
import { LOOP_HEADER } from '../inbound/classify';
import { replyAddress, signReplyToken } from '../replyToken';
import type { MailAttachment, MailContext } from './context';
import type { Screened } from './recipients';
import { type RenderedMail, renderTemplate } from './templates';

export interface ComposedMail {
  message: Mail.Options;
  rendered: RenderedMail;
  replyTo?: string;
}

// the lookahead checks the closing quote first: a run that ends in the other quote is read once, not once per URL in it;
// a stored body holds the plain path, an older one a signed URL (see contentUrl.ts)
const CONTENT_URL = /(["'])(?=[^"']*\1)[^"']*\/api\/v1\/ticketing\/attachments\/(\d+)\/content(?:\?[^"']*)?\1/g;

/** Content URLs of attachments that travel with the message become `cid:` references. */
function inlineImages(html: string, attachments: MailAttachment[]): { html: string; inlineIds: Set<number> } {
  const inlineIds = new Set<number>();
  const out = html.replace(CONTENT_URL, (whole, quote: string, id: string) => {
    const attachment = attachments.find((a) => a.id === Number(id));
    if (!attachment) return whole;
    inlineIds.add(attachment.id);
    return `${quote}cid:${cidOf(attachment)}${quote}`;
  });
  return { html: out, inlineIds };
}

const cidOf = (a: MailAttachment) => a.content_id?.replace(/^<|>$/g, '') || `attachment-${a.id}@${config().mailDomain}`;

export function composeMail(knex: Knex, row: OutboundEmail, screened: Screened, context: MailContext): ComposedMail {
  const rendered = renderTemplate(row.template, context.values);
  const { html, inlineIds } = inlineImages(rendered.html, context.attachments);
  const replyTo =
    context.ticketNumber && context.tokenRecipient
      ? replyAddress(context.mailbox.email, signReplyToken({ ticketNumber: context.ticketNumber, recipient: context.tokenRecipient }))
      : undefined;
  const headers: Record<string, string> = { [LOOP_HEADER]: config().mailDomain };
  if (row.automatic) {
    headers['Auto-Submitted'] = 'auto-generated';
    headers['X-Auto-Response-Suppress'] = 'All';
    headers.Precedence = 'bulk';
  }
  const message: Mail.Options = {
    messageId: row.message_id,
    date: now(),
    from: { name: context.mailbox.name, address: context.mailbox.email },
    to: screened.to.map((a) => ({ name: a.name ?? '', address: a.address })),
    cc: screened.cc.map((a) => ({ name: a.name ?? '', address: a.address })),
    replyTo,
    subject: rendered.subject,
    inReplyTo: context.thread.inReplyTo,
    references: context.thread.references,
    headers,
    text: rendered.text,
    html,
    attachments: context.attachments.map((a) => ({
      filename: a.filename,
      contentType: a.content_type,
      content: Readable.from(readBlob(knex, a.blob_sha256)),
      ...(inlineIds.has(a.id) ? { cid: cidOf(a), contentDisposition: 'inline' as const } : {}),
    })),
  };
  return { message, rendered, replyTo };
}
