/**
 * Reading a raw message: the limits checked before any parsing (size, MIME depth and part
 * count), the facts every later step uses, and mailparser's decoding of bodies and
 * attachments in any charset and transfer encoding it knows.
 */
import crypto from 'node:crypto';
import { type AddressObject, type Attachment as ParsedAttachment, simpleParser } from 'mailparser';
import { cleanFilename, cleanOptional, cleanText } from '../../text/cleanText';
import { withUtf8Headers } from './headerCharset';
import { BARE_LOCAL_PART, type RawHeaders, addressOf, messageIds, normalizeAddress, spacedAddress, splitMessage } from './headers';

export const MAX_MIME_DEPTH = 20;
export const MAX_MIME_PARTS = 500;

export interface MailAddress {
  address: string;
  name: string;
}

export interface ParsedMessage {
  messageId: string;
  headers: RawHeaders;
  /** The raw body (latin1), for classification: made when asked, not kept with the message. */
  rawBody(): string;
  from?: MailAddress;
  to: MailAddress[];
  cc: MailAddress[];
  /** Every address the message was delivered to, envelope headers included. */
  deliveredTo: string[];
  subject: string;
  date?: Date;
  inReplyTo: string[];
  references: string[];
  html?: string;
  text?: string;
  attachments: ParsedAttachment[];
}

/** A reason to hold the message for a person before parsing it, or undefined. */
export function structureProblem(raw: Buffer, maxBytes: number): string | undefined {
  if (raw.length > maxBytes) return `the message is ${raw.length} bytes, over the ${maxBytes} byte limit`;
  // Follow the multipart nesting line by line: a declared boundary opens a level, its
  // closing delimiter (or a delimiter of an outer level) closes it. Only lines holding a
  // declaration or starting with "--" are looked at.
  const text = raw.toString('latin1');
  const declarations = /boundary\s*=\s*"?([^";\s]{1,200})"?/gi;
  let declared = declarations.exec(text);
  const stack: string[] = [];
  let parts = 0;
  let depth = 0;
  for (let start = 0; start < text.length;) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    const lineEnd = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    while (declared && declared.index < start) declared = declarations.exec(text);
    if (declared && declared.index < lineEnd) {
      const boundary = declared[1]!;
      declared = declarations.exec(text); // one declaration per line
      if (!stack.includes(boundary)) {
        stack.push(boundary);
        depth = Math.max(depth, stack.length);
        if (depth > MAX_MIME_DEPTH) return `the message nests more than ${MAX_MIME_DEPTH} multipart levels`;
        start = end + 1;
        continue;
      }
    }
    if (text.startsWith('--', start)) {
      const line = text.slice(start, lineEnd);
      const level = stack.findIndex((b) => line === `--${b}` || line === `--${b}--`);
      if (level >= 0 && line === `--${stack[level]}--`) stack.length = level;
      else if (level >= 0) {
        stack.length = level + 1;
        if (++parts > MAX_MIME_PARTS) return `the message has more than ${MAX_MIME_PARTS} MIME parts`;
      }
    }
    start = end + 1;
  }
  return undefined;
}

function addresses(value: AddressObject | AddressObject[] | undefined): MailAddress[] {
  const list = value ? (Array.isArray(value) ? value : [value]) : [];
  const out: MailAddress[] = [];
  const walk = (entries: { address?: string; name?: string; group?: unknown[] }[]) => {
    for (const e of entries) {
      if (e.group) walk(e.group as never);
      else if (e.address) {
        const address = normalizeAddress(cleanText(e.address).toLowerCase());
        // longer than any address can be (RFC 5321 allows 254): not one
        if (address && address.length <= 320) out.push({ address, name: cleanText(e.name ?? '') });
      } else if (e.name && BARE_LOCAL_PART.test(e.name.trim())) {
        // a sender with no domain (MAILER-DAEMON): its local part is the address
        out.push({ address: e.name.trim().toLowerCase(), name: '' });
      }
    }
  };
  for (const a of list) walk(a.value as never);
  return out;
}

/** The Message-ID (cleaned, at most 998 characters), or one made from the hash of the bytes when the message has none. */
export function messageIdOf(headers: RawHeaders, raw: Buffer, sha256?: string): string {
  return messageIds(headers.get('message-id'))[0]?.slice(0, 998) ?? `<${sha256 ?? crypto.createHash('sha256').update(raw).digest('hex')}@generated.invalid>`;
}

function fromSpaced(rawFrom: string | undefined): MailAddress | undefined {
  const address = spacedAddress(rawFrom);
  return address ? { address: address.toLowerCase(), name: '' } : undefined;
}

export async function parseMessage(raw: Buffer): Promise<ParsedMessage> {
  const { headers } = splitMessage(raw, 0, 2_256 * 1024);
  // the parser reads header lines in legacy charsets as UTF-8 (see headerCharset.ts); the raw bytes stay as they came
  const readable = withUtf8Headers(raw) ?? raw;
  // links in text parts are not turned into anchors (linkify is slow; our text bodies are made HTML by textToHtml)
  const parsed = await simpleParser(readable, { skipImageLinks: true, skipTextLinks: true, maxHtmlLengthToParse: 5 * 1024 * 1024 });
  const envelope = ['delivered-to', 'x-original-to', 'envelope-to', 'x-envelope-to']
    .flatMap((h) => headers.all(h))
    .map((v) => addressOf(v, { spaced: false }))
    .filter((a): a is string => Boolean(a));
  const to = addresses(parsed.to);
  const cc = addresses(parsed.cc);
  return {
    messageId: messageIdOf(headers, raw),
    headers,
    rawBody: () => splitMessage(raw).body,
    from: fromSpaced(headers.get('from')) ?? addresses(parsed.from)[0],
    to,
    cc,
    deliveredTo: [...new Set([...to, ...cc].map((a) => a.address).concat(envelope))],
    subject: cleanText(parsed.subject ?? ''),
    date: parsed.date && !Number.isNaN(parsed.date.getTime()) ? parsed.date : undefined,
    inReplyTo: messageIds(headers.get('in-reply-to')),
    references: messageIds(headers.all('references').join(' ')),
    html: typeof parsed.html === 'string' ? cleanText(parsed.html) : undefined,
    text: cleanOptional(parsed.text),
    attachments: parsed.attachments.map((a) => ({
      ...a,
      filename: a.filename === undefined ? undefined : cleanFilename(a.filename),
      contentType: cleanText(a.contentType ?? 'application/octet-stream'),
      contentId: cleanOptional(a.contentId),
    })),
  };
}
