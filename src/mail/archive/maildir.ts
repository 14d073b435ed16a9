/**
 * Reading a maildir: the messages of its `cur/` and `new/` (never `tmp/`, where deliveries
 * are still being written; not the `.Folder` subfolders of Maildir++), in delivery order.
 *
 * A maildir file name starts with the delivery time (`1700000000.M123456P42.host:2,S`:
 * seconds, then the microseconds in the `M` part where the writer records them). Messages
 * are sorted by that time, then by name; a name without a time in front sorts by the file's
 * modification time. The part after `:2,` (or `!2,`) holds flags that a mail client changes,
 * and moving a message from `new/` to `cur/` adds it, so a message is known by the name
 * before it: its place in the order never changes.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { OversizeLimits } from '../inbound/prepare';

/** One message file of the maildir. */
export interface MaildirEntry {
  /** Where it was found (`cur/...` or `new/...` under the maildir). */
  file: string;
  /** The name without its flags: the same in `new/` and `cur/`. */
  unique: string;
  /** Sorts in delivery order as a string (time, zero-padded, then the unique name). */
  key: string;
}

/** The directory has neither `cur/` nor `new/`. */
export class NotAMaildirError extends Error {}

const FLAGS = /[:!][12],/;

/** The name without its info part (flags). */
export function uniqueName(name: string): string {
  const at = name.search(FLAGS);
  return at < 0 ? name : name.slice(0, at);
}

/**
 * The sort key of a message file: delivery seconds and microseconds, zero-padded, then its
 * unique name. `mtimeMs` is the fallback for a name that does not start with a time.
 */
export function sortKey(name: string, mtimeMs: () => number): string {
  const unique = uniqueName(name);
  const m = /^(\d{1,15})(?:\.([^.]*))?/.exec(unique);
  let seconds: number;
  let micros = 0;
  if (m) {
    seconds = Number(m[1]);
    const usec = m[2] ? /M(\d{1,6})(?!\d)/.exec(m[2]) : null;
    if (usec) micros = Number(usec[1]);
  } else {
    const ms = mtimeMs();
    seconds = Math.floor(ms / 1000);
    micros = Math.floor((ms % 1000) * 1000);
  }
  return `${String(seconds).padStart(15, '0')}.${String(micros).padStart(6, '0')} ${unique}`;
}

/** The message files of the maildir at `dir`, in delivery order. */
export async function listMaildir(dir: string): Promise<MaildirEntry[]> {
  const subdirs = ['cur', 'new'];
  const present = subdirs.filter((s) => fs.existsSync(path.join(dir, s)) && fs.statSync(path.join(dir, s)).isDirectory());
  if (present.length === 0) throw new NotAMaildirError(`${dir} is not a maildir: it has neither cur/ nor new/`);
  const byUnique = new Map<string, MaildirEntry>();
  for (const sub of present) {
    for (const d of await fs.promises.readdir(path.join(dir, sub), { withFileTypes: true })) {
      if (!d.isFile() || d.name.startsWith('.')) continue;
      const file = path.join(sub, d.name);
      const entry = { file, unique: uniqueName(d.name), key: sortKey(d.name, () => fs.statSync(path.join(dir, file)).mtimeMs) };
      // seen in both (moved from new/ to cur/ while listed): one message
      if (!byUnique.has(entry.unique)) byUnique.set(entry.unique, entry);
    }
  }
  return [...byUnique.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** A message file's bytes: all of them, or (over `limits.maxBytes`) its first `keepBytes` and its size. */
async function readWithin(file: string, limits: OversizeLimits | undefined): Promise<{ raw: Buffer; size?: number }> {
  if (!limits) return { raw: await fs.promises.readFile(file) };
  const handle = await fs.promises.open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size <= limits.maxBytes) return { raw: await handle.readFile() };
    const raw = Buffer.alloc(Math.min(limits.keepBytes, size));
    const { bytesRead } = await handle.read(raw, 0, raw.length, 0);
    return { raw: raw.subarray(0, bytesRead), size };
  } finally {
    await handle.close();
  }
}

/**
 * The bytes of a message file (past `limits.maxBytes` only its start, with its size). A
 * client may have moved it (new/ to cur/) or changed its flags since the listing: then it
 * is looked up by its unique name. Undefined when it is gone (deleted meanwhile).
 */
export async function readMaildirEntry(dir: string, entry: MaildirEntry, limits?: OversizeLimits): Promise<{ raw: Buffer; size?: number } | undefined> {
  try {
    return await readWithin(path.join(dir, entry.file), limits);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  for (const sub of ['cur', 'new']) {
    const names = await fs.promises.readdir(path.join(dir, sub)).catch(() => [] as string[]);
    const found = names.find((n) => uniqueName(n) === entry.unique);
    if (found) return readWithin(path.join(dir, sub, found), limits).catch(() => undefined);
  }
  return undefined;
}
