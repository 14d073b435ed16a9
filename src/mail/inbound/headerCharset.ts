/**
 * Header lines written as raw bytes in a legacy charset, with no RFC 2047 encoded words
 * (GB2312/GBK From and Subject lines, a raw ISO-2022-JP subject), as many mail programs in
 * China and Japan still send them. They are decoded the way mail clients do:
 *
 * 1. UTF-8 when the bytes are valid UTF-8 (RFC 6532 allows it);
 * 2. otherwise the charset the message declares for its body, when there is one and it
 *    decodes the bytes cleanly;
 * 3. otherwise, when the message declares none, the charset guessed once from all its raw
 *    8-bit header lines together (headerCharsetGuess.ts), when it decodes the line cleanly:
 *    a From name of two Chinese characters is 4 bytes, too few to tell a charset by, but
 *    the name and the subject together are not;
 * 4. otherwise the charset detected from the line's bytes themselves (chardet);
 * 5. otherwise windows-1252, which maps every byte.
 *
 * ISO-2022-JP is 7-bit: it is recognised by its escape sequences, not by 8-bit bytes.
 *
 * The stored raw message never changes: the parser reads a copy whose header block is
 * UTF-8 (`withUtf8Headers`), and the facts of a message that cannot be parsed come from
 * `decodeHeaderBytes` too, so the pipeline and `inbound_emails` read headers one way.
 */
import { isUtf8 } from 'node:buffer';
import chardet from 'chardet';
import { Libmime } from 'libmime';
import { decode } from 'libmime/lib/charset';
import { guessHeaderCharset } from './headerCharsetGuess';

/** The most of a message searched for a declared charset (headers and the first part's). */
const CHARSET_SEARCH_BYTES = 64 * 1024;

/** The most of a header line chardet looks at. */
const DETECT_SAMPLE_BYTES = 2048;

/** ESC $ @, ESC $ B, ESC ( J, ESC ( B: the shifts of ISO-2022-JP. */
// eslint-disable-next-line no-control-regex -- the escape character is what ISO-2022-JP is recognised by
const ISO_2022_JP = /\x1b\$[@B]|\x1b\([BJ]/;

function hasHighBytes(bytes: Buffer): boolean {
  for (const b of bytes) if (b > 0x7f) return true;
  return false;
}

const isValidUtf8 = (bytes: Buffer): boolean => isUtf8(bytes);

/** How much of a message is searched for its header block (as splitMessage's callers do for the facts of a held one). */
const HEADER_SEARCH_BYTES = 64 * 1024;

/** The charset of the message's body (the first `charset=` parameter), if any. */
export function declaredCharset(raw: Buffer): string | undefined {
  const text = raw.toString('latin1', 0, Math.min(raw.length, CHARSET_SEARCH_BYTES));
  const found = /charset\s*=\s*"?([A-Za-z0-9_.:-]{1,40})/i.exec(text);
  const charset = found?.[1]?.toLowerCase();
  return charset && charset !== 'us-ascii' && charset !== 'utf-8' && charset !== 'utf8' ? charset : undefined;
}

function cleanly(bytes: Buffer, charset: string): string | undefined {
  try {
    const text = decode(bytes, charset);
    return text.includes('\ufffd') ? undefined : text;
  } catch {
    return undefined;
  }
}

/** Header bytes as text (see the top of this file); plain ASCII comes back as it is. */
export function decodeHeaderBytes(bytes: Buffer, declared?: string): string {
  if (ISO_2022_JP.test(bytes.toString('latin1'))) return cleanly(bytes, 'iso-2022-jp') ?? bytes.toString('latin1');
  if (!hasHighBytes(bytes)) return bytes.toString('latin1');
  if (isValidUtf8(bytes)) return bytes.toString('utf8');
  const fromDeclared = declared ? cleanly(bytes, declared) : undefined;
  if (fromDeclared !== undefined) return fromDeclared;
  // a sample is enough to tell a charset, and bounds the work (chardet took 100 ms on 100 KB)
  const detected = chardet.detect(bytes.subarray(0, DETECT_SAMPLE_BYTES));
  const fromDetected = detected ? cleanly(bytes, detected) : undefined;
  return fromDetected ?? decode(bytes, 'windows-1252');
}

/** Where the header block ends (the index of its last byte + 1) within the first `limit` bytes; undefined when it does not. */
function headerBlockEnd(raw: Buffer, limit = raw.length): number | undefined {
  for (let j = raw.indexOf(10); j !== -1 && j < limit; j = raw.indexOf(10, j + 1)) {
    if (raw[j + 1] === 10 || (raw[j + 1] === 13 && raw[j + 2] === 10)) return j + 1;
  }
  return undefined;
}

/** The lines of a header block, each with its line end. */
function headerLines(head: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  for (let start = 0; start < head.length;) {
    const newline = head.indexOf(10, start);
    const end = newline === -1 ? head.length : newline + 1;
    lines.push(head.subarray(start, end));
    start = end;
  }
  return lines;
}

/** Lines in a legacy 8-bit charset: those the guess is made from. */
function isLegacy8bit(line: Buffer): boolean {
  return hasHighBytes(line) && !isValidUtf8(line) && !ISO_2022_JP.test(line.toString('latin1'));
}

/** The charset to decode raw 8-bit header lines by: the declared one, else the one guessed from all of them. */
function headerCharsetOf(raw: Buffer, lines: Buffer[]): string | undefined {
  return declaredCharset(raw) ?? guessHeaderCharset(lines.filter(isLegacy8bit));
}

/**
 * The message with its header block re-encoded as UTF-8, or undefined when nothing in it
 * needs decoding (ASCII or valid UTF-8 throughout, no ISO-2022-JP): what the parser reads.
 * Each header line is decoded on its own (see the top of this file), so a line the
 * message's charset does not fit spoils no other.
 */
export function withUtf8Headers(raw: Buffer): Buffer | undefined {
  const end = headerBlockEnd(raw);
  if (end === undefined) return undefined;
  const head = raw.subarray(0, end);
  const latin1 = head.toString('latin1');
  if (!ISO_2022_JP.test(latin1) && (!hasHighBytes(head) || isValidUtf8(head))) return undefined;
  const lines = headerLines(head);
  const charset = headerCharsetOf(raw, lines);
  const decoded = lines.map((line) => Buffer.from(decodeHeaderBytes(line, charset), 'utf8'));
  return Buffer.concat([...decoded, raw.subarray(end)]);
}

const mime = new Libmime();

/** headerCharsetOf for a message read from its raw header block alone (held, so possibly huge): bounded. */
function heldHeaderCharset(raw: Buffer): string | undefined {
  const declared = declaredCharset(raw);
  if (declared) return declared;
  const end = headerBlockEnd(raw, HEADER_SEARCH_BYTES) ?? Math.min(raw.length, HEADER_SEARCH_BYTES);
  return guessHeaderCharset(headerLines(raw.subarray(0, end)).filter(isLegacy8bit));
}

/** The most of a header value readableHeader decodes. */
const READABLE_HEADER_CHARS = 4096;

/**
 * A header value as read by RawHeaders (its bytes as latin1 text) made readable: raw bytes
 * decoded as above, then RFC 2047 encoded words. For the facts of a message the parser
 * could not read.
 */
export function readableHeader(value: string | undefined, raw: Buffer): string | undefined {
  if (value === undefined) return undefined;
  // this runs on the event loop (held messages): detection and decoding see a bounded
  // prefix, more than any stored subject keeps (a hostile header line can be 100 KB)
  const text = decodeHeaderBytes(Buffer.from(value.slice(0, READABLE_HEADER_CHARS), 'latin1'), heldHeaderCharset(raw));
  try {
    return mime.decodeWords(text);
  } catch {
    return text;
  }
}
