/**
 * The people an agent's own mail names as the customer it is about: when an agent forwards
 * a customer's message to the support address (inline, or as an attached message), or
 * writes to a customer with the support address in Cc. Pure; used by `assign`, which takes
 * only the addresses that are contacts of the customer the agent picked (a body can say
 * anything, so nothing here creates a contact or proves who someone is).
 *
 * Addresses are read character by character (no expression that could backtrack on a
 * stranger's line), and the text read is bounded.
 */
import type { ReadMessage } from './analyze';
import { splitMessage } from './headers';

/** The most of the body's text looked at for a forwarded header block. */
const MAX_BODY_CHARS = 200_000;
/** The most header bytes read of the message or of an attached one. */
const MAX_HEADER_BYTES = 64 * 1024;
/** The most addresses returned. */
const MAX_ADDRESSES = 20;
/** "From:" as mail clients write it in a forwarded block, in a few languages. */
const FROM_LABELS = ['from', 'von', 'de', 'van', 'da', 'od', 'från', 'fra', 'lähettäjä'];

const isLocal = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z0-9._%+'-]$/.test(c);
const isDomain = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z0-9.-]$/.test(c);

/** Every address-like `local@domain.tld` in a line of text, lower-cased, in order. */
export function addressesInLine(line: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (let at = line.indexOf('@'); at >= 0; at = line.indexOf('@', at + 1)) {
    let s = at;
    while (s > from && isLocal(line[s - 1])) s--;
    while (s < at && (line[s] === '.' || line[s] === "'" || line[s] === '-')) s++;
    let e = at + 1;
    while (isDomain(line[e])) e++;
    const scanned = e;
    while (e > at + 1 && (line[e - 1] === '.' || line[e - 1] === '-')) e--;
    const local = line.slice(s, at);
    const domain = line.slice(at + 1, e);
    if (local && domain.includes('.') && !domain.startsWith('.')) out.push(`${local}@${domain}`.toLowerCase());
    from = scanned;
  }
  return out;
}

/** The sanitized HTML of a body as text lines: breaks and blocks end lines, tags go, the usual entities are read. */
function textLines(html: string): string[] {
  return html
    .slice(0, MAX_BODY_CHARS)
    .replace(/<br \/>|<br>|<\/p>|<\/li>|<p>/g, '\n')
    .replace(/<[^<>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#0?39;/g, "'")
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .split('\n');
}

/** The address of a forwarded block's "From: Name <address>" line, if the line is one. */
function forwardedFrom(line: string): string | undefined {
  let i = 0;
  while (i < line.length && (line[i] === '>' || line[i] === '*' || line[i] === ' ' || line[i] === '\t')) i++;
  const colon = line.indexOf(':', i);
  if (colon < 0 || colon - i > 12) return undefined;
  const label = line.slice(i, colon).replace(/\*/g, '').trim().toLowerCase();
  return FROM_LABELS.includes(label) ? addressesInLine(line.slice(colon + 1))[0] : undefined;
}

/** The From and Reply-To of a message's header block. */
function headerAddresses(raw: Buffer, names: string[]): string[] {
  const { headers } = splitMessage(raw, 0, MAX_HEADER_BYTES);
  return names.flatMap((n) => headers.all(n).flatMap(addressesInLine));
}

/**
 * The addresses a message names as the customer, the most telling first: its Reply-To; the
 * From and Reply-To of an attached message (a forward as attachment); the "From:" lines of
 * a forwarded block in its body; then its To and Cc (mail written to the customer with the
 * support address copied). `own` (the sender's address, our mailboxes) are left out.
 */
export function namedCustomerAddresses(raw: Buffer, message: ReadMessage, own: Set<string> = new Set()): string[] {
  const found = [
    ...headerAddresses(raw, ['reply-to']),
    ...message.attachments.filter((a) => a.contentType.toLowerCase() === 'message/rfc822').flatMap((a) => headerAddresses(a.content, ['from', 'reply-to'])),
    ...textLines(message.bodies.full).flatMap((line) => forwardedFrom(line) ?? []),
    ...message.to.map((a) => a.address),
    ...message.cc.map((a) => a.address),
  ];
  const sender = message.from?.address.toLowerCase();
  return [...new Set(found.map((a) => a.toLowerCase()))].filter((a) => a !== sender && !own.has(a)).slice(0, MAX_ADDRESSES);
}
