/**
 * An archive to import (an mbox file or a maildir) as one kind of thing: its messages in
 * order from a resume point, each with the point just past it, and how far through the
 * archive a point is (for the progress bar).
 */
import fs from 'node:fs';
import { type MaildirEntry, listMaildir, readMaildirEntry } from './maildir';
import { oversizeLimits } from '../inbound/prepare';
import { type MboxFormat, type MboxMark, NotAnMboxError, canResumeAt, mboxFingerprint, mboxMark, readMbox } from './mbox';

/** Where a run stopped: an mbox offset (checked by the bytes before it) or the last maildir key done. */
export type ArchivePosition = MboxMark | { after: string };

/** One message of the archive; `raw` is undefined for a maildir file deleted since the listing. */
export interface ArchiveMessage {
  raw: Buffer | undefined;
  /** The whole message's size, when it is over INBOUND_MAX_BYTES and `raw` is only its start. */
  size?: number;
  /** Just past this message: an mbox offset, a maildir sort key. */
  at: number | string;
  /** How far through the archive it ends, in the archive's unit (bytes, files). */
  progress: number;
}

/** An archive opened for import: what the importer needs to know of it, whatever its format. */
export interface ArchiveSource {
  format: 'mbox' | 'maildir';
  /** The real path, which names the archive in the progress table. */
  path: string;
  /** The mbox's first-bytes hash; null for a maildir. */
  fingerprint: string | null;
  /** The whole archive in its unit: bytes of an mbox, files of a maildir. */
  total: number;
  unit: 'bytes' | 'messages';
  /** Whether a run may go on from `position` (else it starts again from the beginning). */
  canResume(position: ArchivePosition): Promise<boolean>;
  /** How far through the archive `position` is. */
  progressAt(position: ArchivePosition | null): number;
  /** The messages after `position` (null: all), in order. */
  messages(position: ArchivePosition | null): AsyncIterable<ArchiveMessage>;
  /** The position to store once every message up to `at` is done. */
  mark(at: number | string): Promise<ArchivePosition>;
}

const isMboxMark = (p: ArchivePosition | null): p is MboxMark => Boolean(p && 'offset' in p);

/** Throws NotAnMboxError unless the first line that is not blank starts with `From ` (an empty file is an empty mbox). */
async function checkMboxStart(path: string): Promise<void> {
  const handle = await fs.promises.open(path, 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const text = head
      .subarray(0, bytesRead)
      .toString('latin1')
      .replace(/^(?:\r?\n)+/, '');
    if (text.length > 0 && !text.startsWith('From ')) throw new NotAnMboxError(`${path} is not an mbox: its first line is not a "From " line`);
  } finally {
    await handle.close();
  }
}

/** The mbox at `file` (NotAnMboxError when it is none), read as `format`. */
export async function openMbox(file: string, format: MboxFormat): Promise<ArchiveSource> {
  const path = await fs.promises.realpath(file);
  const stat = await fs.promises.stat(path);
  if (!stat.isFile()) throw new NotAnMboxError(`${file} is not a file`);
  await checkMboxStart(path);
  return {
    format: 'mbox',
    path,
    fingerprint: await mboxFingerprint(path),
    total: stat.size,
    unit: 'bytes',
    canResume: async (position) => isMboxMark(position) && canResumeAt(path, position),
    progressAt: (position) => (isMboxMark(position) ? position.offset : 0),
    async *messages(position) {
      for await (const m of readMbox(path, { offset: isMboxMark(position) ? position.offset : 0, format, limits: oversizeLimits() })) {
        yield { raw: m.raw, size: m.size, at: m.end, progress: m.end };
      }
    },
    mark: (at) => mboxMark(path, Number(at)),
  };
}

/** The maildir at `dir` (NotAMaildirError when it is none), listed now: files delivered later are for the next run. */
export async function openMaildir(dir: string): Promise<ArchiveSource> {
  const path = await fs.promises.realpath(dir);
  const entries: MaildirEntry[] = await listMaildir(path);
  const after = (position: ArchivePosition | null) => (position && 'after' in position ? position.after : undefined);
  /** Entries up to and including `key`: the first index past it. */
  const indexAfter = (key: string | undefined) => {
    if (key === undefined) return 0;
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (entries[mid]!.key <= key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return {
    format: 'maildir',
    path,
    fingerprint: null,
    total: entries.length,
    unit: 'messages',
    canResume: async (position) => after(position) !== undefined,
    progressAt: (position) => indexAfter(after(position)),
    async *messages(position) {
      for (let i = indexAfter(after(position)); i < entries.length; i++) {
        const entry = entries[i]!;
        const read = await readMaildirEntry(path, entry, oversizeLimits());
        yield { raw: read?.raw, size: read?.size, at: entry.key, progress: i + 1 };
      }
    },
    mark: async (at) => ({ after: String(at) }),
  };
}
