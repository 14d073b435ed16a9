/**
 * Header lines written as raw bytes in a legacy charset, with no RFC 2047 encoded words
 * (GB2312/GBK From and Subject lines, a raw ISO-2022-JP subject), as many mail programs in
 * China and Japan still send them. They are decoded the way mail clients do:
 *
 * 1. UTF-8 when the bytes are valid UTF-8 (RFC 6532 allows it);
 * 2. otherwise the charset the message declares for its body, when there is one and it
 *    decodes the bytes cleanly;
 * 3. otherwise the charset detected from the header bytes themselves (chardet);
 * 4. otherwise windows-1252, which maps every byte.
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

/** Where the header block ends: the index of its last byte + 1, and where the body starts. */
function headerBlock(raw: Buffer): { end: number; bodyStart: number } | undefined {
  for (let j = raw.indexOf(10); j !== -1; j = raw.indexOf(10, j + 1)) {
    if (raw[j + 1] === 10) return { end: j + 1, bodyStart: j + 2 };
    if (raw[j + 1] === 13 && raw[j + 2] === 10) return { end: j + 1, bodyStart: j + 3 };
  }
  return undefined;
}

/**
 * The message with its header block re-encoded as UTF-8, or undefined when nothing in it
 * needs decoding (ASCII or valid UTF-8 throughout, no ISO-2022-JP): what the parser reads.
 * Each header line is decoded on its own, so one line in another charset spoils no other.
 */
export function withUtf8Headers(raw: Buffer): Buffer | undefined {
  const block = headerBlock(raw);
  if (!block) return undefined;
  const head = raw.subarray(0, block.end);
  const latin1 = head.toString('latin1');
  if (!ISO_2022_JP.test(latin1) && (!hasHighBytes(head) || isValidUtf8(head))) return undefined;
  const declared = declaredCharset(raw);
  const lines: Buffer[] = [];
  for (let start = 0; start < head.length;) {
    const newline = head.indexOf(10, start);
    const end = newline === -1 ? head.length : newline + 1;
    const line = head.subarray(start, end);
    lines.push(Buffer.from(decodeHeaderBytes(line, declared), 'utf8'));
    start = end;
  }
  return Buffer.concat([...lines, raw.subarray(block.end)]);
}

const mime = new Libmime();

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
  const text = decodeHeaderBytes(Buffer.from(value.slice(0, READABLE_HEADER_CHARS), 'latin1'), declaredCharset(raw));
  try {
    return mime.decodeWords(text);
  } catch {
    return text;
  }
}
