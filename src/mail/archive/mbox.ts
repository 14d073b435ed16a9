/**
 * Reading an mbox file as a stream of messages, never the whole file at once: a multi-GB
 * archive costs the memory of the messages in hand, not of the file.
 *
 * Messages are split on `From ` lines (mboxo and mboxrd: any line that begins with the five
 * bytes `From `, as the writers of both escape such lines in bodies; the `From ` line is the
 * envelope, not part of the message). In mboxrd, every `>From `, `>>From `, ... line loses one
 * `>`; in mboxo the escaping cannot be undone (`>From ` may have been written so), so the lines
 * stay as they are. The blank line a writer puts before the next `From ` line is dropped.
 * Lines may end in LF or CRLF, and the last line may have no newline at all. Content-Length
 * headers (mboxcl, mboxcl2) are not followed. A file whose first line that is not blank does
 * not begin with `From ` is not an mbox: reading it throws NotAnMboxError before any message
 * is given, rather than guessing where its messages start.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { OversizeLimits } from '../inbound/prepare';

/** How each `>From ` line is read: mboxrd un-escapes it, mboxo keeps it. */
export type MboxFormat = 'mboxrd' | 'mboxo';

/** One message of the archive, and where it lies in the file. */
export interface MboxMessage {
  raw: Buffer;
  /** Offset of its `From ` line. */
  start: number;
  /** Offset just past it: the next message's `From ` line, or the end of the file. */
  end: number;
  /** Its whole size, when it was over `maxBytes` and `raw` is only its first `keepBytes`. */
  size?: number;
}

/** The file is not an mbox (its first line that is not blank is no `From ` line). */
export class NotAnMboxError extends Error {}

const FROM = Buffer.from('From ');
const NEWLINE = 0x0a;
const CR = 0x0d;
const GT = 0x3e;
const READ_CHUNK = 1024 * 1024;

const isSeparator = (line: Buffer) => line.length >= 5 && line.subarray(0, 5).equals(FROM);
const isBlank = (line: Buffer) =>
  line.length === 0 || (line.length === 1 && (line[0] === NEWLINE || line[0] === CR)) || (line.length === 2 && line[0] === CR && line[1] === NEWLINE);

/** A line of `>`s then `From `: one `>` is removed in mboxrd. */
function isEscapedFrom(line: Buffer): boolean {
  if (line[0] !== GT) return false;
  let i = 1;
  while (i < line.length && line[i] === GT) i++;
  return line.length - i >= 5 && line.subarray(i, i + 5).equals(FROM);
}

/** A message's bytes from its lines: the separating blank line before the next `From ` dropped. */
function messageOf(lines: Buffer[]): Buffer {
  const last = lines[lines.length - 1];
  if (last && isBlank(last)) lines.pop();
  return Buffer.concat(lines);
}

/**
 * The messages of the mbox at `path`, in file order, from `offset` (which must be the
 * offset of a `From ` line, or 0). Empty entries (a `From ` line followed at once by the
 * next) are skipped. A message over `limits.maxBytes` is held only by its start (and its
 * size): an archive's hostile message costs no more memory than the limit. A line longer
 * than a read chunk is taken in pieces, of which only the first can be a `From ` line, so
 * a line of any length costs time in proportion to it.
 */
export async function* readMbox(path: string, opts: { offset?: number; format?: MboxFormat; limits?: OversizeLimits } = {}): AsyncGenerator<MboxMessage> {
  const from = opts.offset ?? 0;
  const unescape = (opts.format ?? 'mboxrd') === 'mboxrd';
  const limits = opts.limits ?? { maxBytes: Infinity, keepBytes: Infinity };
  let lines: Buffer[] = [];
  let held = 0; // bytes in `lines`
  let kept: Buffer | undefined; // the start of a message over the limit
  let size = 0; // the current message's bytes so far
  let start = -1; // offset of the current message's From line; -1 before the first
  let position = from; // offset of the next byte not yet split into lines

  const finished = (end: number): MboxMessage | undefined => {
    if (kept) return { raw: kept, start, end, size };
    const raw = messageOf(lines);
    return raw.length > 0 ? { raw, start, end } : undefined;
  };

  /** A line, or (continued) a further piece of a long one. */
  const take = function* (line: Buffer, continued: boolean): Generator<MboxMessage> {
    const lineStart = position;
    position += line.length;
    if (!continued && isSeparator(line)) {
      if (start >= 0 && (kept || lines.length > 0)) {
        const m = finished(lineStart);
        if (m) yield m;
      }
      lines = [];
      held = 0;
      kept = undefined;
      size = 0;
      start = lineStart;
      return;
    }
    if (start < 0) {
      if (isBlank(line)) return;
      throw new NotAnMboxError(`${path} is not an mbox: its first line is not a "From " line`);
    }
    const bytes = !continued && unescape && isEscapedFrom(line) ? line.subarray(1) : line;
    size += bytes.length;
    if (kept) return;
    lines.push(bytes);
    held += bytes.length;
    if (held > limits.maxBytes) {
      // over the limit: its start is copied out once, and nothing more of it is held
      kept = Buffer.from(Buffer.concat(lines).subarray(0, limits.keepBytes));
      lines = [];
    }
  };

  const stream = fs.createReadStream(path, { start: from, highWaterMark: READ_CHUNK });
  let rest: Buffer[] = []; // the current line's bytes from earlier chunks
  let restBytes = 0;
  let continued = false; // whether `rest` goes on a line already taken in part
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let lineStart = 0;
      for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, lineStart)) {
        // a view into the chunk: the message is copied out of its lines when it is complete
        const piece = chunk.subarray(lineStart, nl + 1);
        yield* take(rest.length ? Buffer.concat([...rest, piece]) : piece, continued);
        rest = [];
        restBytes = 0;
        continued = false;
        lineStart = nl + 1;
      }
      if (lineStart < chunk.length) {
        rest.push(chunk.subarray(lineStart));
        restBytes += chunk.length - lineStart;
      }
      if (restBytes >= READ_CHUNK) {
        yield* take(Buffer.concat(rest), continued);
        rest = [];
        restBytes = 0;
        continued = true;
      }
    }
  } finally {
    stream.destroy();
  }
  if (rest.length) yield* take(Buffer.concat(rest), continued);
  if (start >= 0 && (kept || lines.length > 0)) {
    const m = finished(position);
    if (m) yield m;
  }
}

/** Bytes hashed from the start of an mbox to recognise it (an mbox that grew keeps them). */
const HEAD_BYTES = 64 * 1024;
/** Bytes before a resume point hashed to check that the file there is still what was read. */
const BEFORE_BYTES = 4096;

async function readRange(path: string, start: number, length: number): Promise<Buffer> {
  const handle = await fs.promises.open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, start);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** A hash of the first bytes of the file: the same mbox, also after messages were appended. */
export async function mboxFingerprint(path: string): Promise<string> {
  return sha256(await readRange(path, 0, HEAD_BYTES));
}

/** What is kept of a resume point: the offset, and a hash of the bytes just before it. */
export interface MboxMark {
  offset: number;
  before: string;
}

/** The resume point just past the message that ends at `offset`. */
export async function mboxMark(path: string, offset: number): Promise<MboxMark> {
  const start = Math.max(0, offset - BEFORE_BYTES);
  return { offset, before: sha256(await readRange(path, start, offset - start)) };
}

/**
 * Whether reading may resume at `mark`: the bytes before it are unchanged and a `From `
 * line (or the end of the file) is there. Not so when the file was rewritten (a message
 * deleted by a mail client, compacted): then the caller reads it again from the start.
 */
export async function canResumeAt(path: string, mark: MboxMark): Promise<boolean> {
  const size = (await fs.promises.stat(path)).size;
  if (!Number.isSafeInteger(mark.offset) || mark.offset < 0 || mark.offset > size) return false;
  if ((await mboxMark(path, mark.offset)).before !== mark.before) return false;
  return mark.offset === size || (await readRange(path, mark.offset, 5)).equals(FROM);
}
