/**
 * Raw messages and attachments, stored once by sha256. `database` (the default) keeps them
 * in PostgreSQL in 1 MB chunks, so every process on every host sees them; `filesystem`
 * keeps them under BLOB_DIR. Each blob row says where its bytes are, so a change of
 * BLOB_STORE reads on. A blob is visible only once the rows that use it commit:
 * - bytes already in memory (mail) are written in the caller's transaction (putBlobBuffers);
 * - a stream (an upload) is staged first, outside any transaction, under a temporary key
 *   (stageBlob), then named by its sha256 in the short transaction that links it
 *   (commitStagedBlob). A 25 MB file never sits whole in memory, and a slow or stalled
 *   client holds no pooled connection.
 * What nothing links (an aborted upload, a crash) is removed by sweepUnlinkedBlobs.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import type { Knex } from 'knex';
import { config } from '../../config';
import { db } from '../../db/knex';
import { AppError } from '../../errors';

const CHUNK_BYTES = 1024 * 1024;
const HEAD_BYTES = 4096;

export interface StoredBlob {
  sha256: string;
  size: number;
  /** The first bytes, for sniffing the type. */
  head: Buffer;
}

/** Tables and columns that point at blobs; a blob none of them names is removed. */
const REFERENCES: [string, string][] = [['attachments', 'blob_sha256']];

/** Lets another module (the inbound mail store) register its references to blobs. */
export function registerBlobReference(table: string, column: string): void {
  if (!REFERENCES.some(([t, c]) => t === table && c === column)) REFERENCES.push([table, column]);
}

export class BlobTooLarge extends AppError {
  constructor(limit: number) {
    super(413, 'payload_too_large', `the file is over the ${limit} byte limit`);
  }
}

function blobPath(sha256: string): string {
  return path.join(config().blobDir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
}

/** Cuts a byte stream into fixed-size chunks. */
async function* rechunk(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const piece of source) {
    let buf = Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
    while (length + buf.length >= size) {
      const take = size - length;
      parts.push(buf.subarray(0, take));
      yield Buffer.concat(parts);
      parts = [];
      length = 0;
      buf = buf.subarray(take);
    }
    if (buf.length) {
      parts.push(buf);
      length += buf.length;
    }
  }
  if (length) yield Buffer.concat(parts);
}

/**
 * Bytes written to the store under a temporary key, outside any transaction, waiting for
 * `commitStagedBlob` to give them their sha256 in the transaction that links them.
 */
export interface StagedBlob extends StoredBlob {
  storage: 'database' | 'filesystem';
  /** The `tmp_…` key of the blob row (database) or the temporary file (filesystem). */
  temp: string;
}

/** Namespace of the advisory locks that keep a file from being removed while a row is linked to it. */
const FILE_LOCK_SPACE = 0x626c6f62;

/** The second key of a file's advisory lock: 32 bits of its sha256. */
const fileLockKey = (sha256: string) => Number.parseInt(sha256.slice(0, 8), 16) | 0;

/** Counts bytes, keeps the head and the hash, and refuses more than `maxBytes`. */
class Meter {
  readonly hash = crypto.createHash('sha256');
  size = 0;
  head = Buffer.alloc(0);
  constructor(private readonly maxBytes: number) {}

  add(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) throw new BlobTooLarge(this.maxBytes);
    if (this.head.length < HEAD_BYTES) this.head = Buffer.concat([this.head, chunk.subarray(0, HEAD_BYTES - this.head.length)]);
    this.hash.update(chunk);
  }

  result(): StoredBlob {
    return { sha256: this.hash.digest('hex'), size: this.size, head: this.head };
  }
}

/**
 * Writes a stream into the database under a `tmp_` key, one short statement per chunk, so
 * no transaction and no pooled connection is held while the client sends (a stalled
 * upload holds nothing). On failure the temporary rows are removed; if even that fails
 * (the database went away), `sweepUnlinkedBlobs` removes them later.
 */
async function stageInDatabase(knex: Knex, source: AsyncIterable<Buffer>, maxBytes: number): Promise<StagedBlob> {
  const temp = `tmp_${crypto.randomBytes(16).toString('hex')}`;
  await knex('blobs').insert({ sha256: temp, size: 0, storage: 'database', created_at: new Date() });
  try {
    const meter = new Meter(maxBytes);
    let seq = 0;
    for await (const chunk of rechunk(source, CHUNK_BYTES)) {
      meter.add(chunk);
      await knex('blob_chunks').insert({ sha256: temp, seq: seq++, data: chunk });
    }
    return { ...meter.result(), storage: 'database', temp };
  } catch (e) {
    await knex('blobs')
      .where({ sha256: temp })
      .delete()
      .catch(() => undefined);
    throw e;
  }
}

/** Writes a stream to a temporary file under BLOB_DIR/tmp; on failure the file is removed. */
async function stageOnDisk(source: AsyncIterable<Buffer>, maxBytes: number): Promise<StagedBlob> {
  const tmpDir = path.join(config().blobDir, 'tmp');
  fs.mkdirSync(tmpDir, { recursive: true });
  const temp = path.join(tmpDir, crypto.randomBytes(16).toString('hex'));
  const meter = new Meter(maxBytes);
  const counting = new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
        meter.add(chunk);
        done(null, chunk);
      } catch (e) {
        done(e as Error);
      }
    },
  });
  try {
    await pipeline(Readable.from(source), counting, fs.createWriteStream(temp, { mode: 0o600 }));
    return { ...meter.result(), storage: 'filesystem', temp };
  } catch (e) {
    fs.rmSync(temp, { force: true });
    throw e;
  }
}

/**
 * Streams `source` into the configured store without a transaction (each database write
 * is a statement of its own); 413 over `maxBytes`. Nothing can see the bytes until
 * `commitStagedBlob` links them; `discardStagedBlob` (or the sweep) removes them otherwise.
 */
export async function stageBlob(knex: Knex, source: AsyncIterable<Buffer>, maxBytes: number): Promise<StagedBlob> {
  return config().blobStore === 'filesystem' ? stageOnDisk(source, maxBytes) : stageInDatabase(knex, source, maxBytes);
}

/**
 * Gives staged bytes their sha256, inside `trx` (the short transaction that also writes
 * the row using them). The blob row is upserted, which locks it: a sweep running at the
 * same time either removed it before (the row is written anew) or finds it fresh and
 * leaves it. When the content was already stored, the staged copy is dropped.
 */
export async function commitStagedBlob(trx: Knex, staged: StagedBlob): Promise<StoredBlob> {
  const { sha256, size, head } = staged;
  if (staged.storage === 'filesystem') await trx.raw('select pg_advisory_xact_lock_shared(?, ?)', [FILE_LOCK_SPACE, fileLockKey(sha256)]);
  const { rows } = await trx.raw(
    `insert into blobs (sha256, size, storage, created_at) values (?, ?, ?, ?)
     on conflict (sha256) do update set created_at = excluded.created_at
     returning (xmax = 0) as inserted, storage`,
    [sha256, size, staged.storage, new Date()],
  );
  const inserted = rows[0].inserted as boolean;
  if (staged.storage === 'database') {
    if (inserted) await trx('blob_chunks').where({ sha256: staged.temp }).update({ sha256 });
    await trx('blobs').where({ sha256: staged.temp }).delete();
  } else {
    const final = blobPath(sha256);
    // the row may say `database` (stored before a change of BLOB_STORE): then the file is not needed
    if (rows[0].storage === 'filesystem' && !fs.existsSync(final)) {
      fs.mkdirSync(path.dirname(final), { recursive: true });
      fs.renameSync(staged.temp, final);
    } else {
      fs.rmSync(staged.temp, { force: true });
    }
  }
  return { sha256, size, head };
}

/** Removes staged bytes that will not be linked (safe after a commit too: then nothing is left). */
export async function discardStagedBlob(knex: Knex, staged: StagedBlob): Promise<void> {
  if (staged.storage === 'filesystem') fs.rmSync(staged.temp, { force: true });
  else await knex('blobs').where({ sha256: staged.temp }).delete();
}

/** What bytes already in memory are stored as: their hash (computed unless known), size and first bytes. */
export function blobOf(bytes: Buffer, sha256?: string): StoredBlob {
  return { sha256: sha256 ?? sha256Of(bytes), size: bytes.length, head: bytes.subarray(0, HEAD_BYTES) };
}

/** The hex sha256 of bytes (the CPU pool computes it off the event loop for inbound mail). */
export function sha256Of(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/**
 * Stores bytes already in memory (raw messages, decoded attachments), keyed by their
 * sha256 (see blobOf), inside `trx`. In the database the blob rows with their first chunks
 * go in a few statements, about a megabyte of bytes each (the bytes as separate parameters,
 * which node-postgres sends in binary), then a statement per further chunk of the blobs
 * that were new; on disk, a file each.
 */
export async function putBlobBuffers(trx: Knex, blobs: Map<string, Buffer>): Promise<void> {
  if (blobs.size === 0) return;
  if (config().blobStore === 'filesystem') {
    for (const [sha256, bytes] of [...blobs].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const temp = path.join(config().blobDir, 'tmp', crypto.randomBytes(16).toString('hex'));
      fs.mkdirSync(path.dirname(temp), { recursive: true });
      fs.writeFileSync(temp, bytes, { mode: 0o600 });
      try {
        await commitStagedBlob(trx, { ...blobOf(bytes), sha256, storage: 'filesystem', temp });
      } finally {
        fs.rmSync(temp, { force: true });
      }
    }
    return;
  }
  const at = new Date();
  for (const group of byFirstChunks([...blobs])) {
    const { rows } = await trx.raw(
      `with u (sha256, size, data) as (values ${group.map(() => '(?::text, ?::bigint, ?::bytea)').join(', ')}),
            b as (insert into blobs (sha256, size, storage, created_at) select sha256, size, 'database', ? from u
                  on conflict (sha256) do nothing returning sha256)
       insert into blob_chunks (sha256, seq, data) select u.sha256, 0, u.data from u join b using (sha256) returning sha256`,
      [...group.flatMap(([sha256, bytes]) => [sha256, bytes.length, bytes.subarray(0, CHUNK_BYTES)]), at],
    );
    for (const { sha256 } of rows as { sha256: string }[]) {
      const bytes = blobs.get(sha256)!;
      for (let seq = 1; seq * CHUNK_BYTES < bytes.length; seq++) {
        await trx('blob_chunks').insert({ sha256, seq, data: bytes.subarray(seq * CHUNK_BYTES, (seq + 1) * CHUNK_BYTES) });
      }
    }
  }
}

/**
 * Blobs in groups whose first chunks add up to at most CHUNK_BYTES (a blob on its own when
 * its first chunk is bigger), a statement each: node-postgres builds a statement's whole
 * message on the event loop, copying its bytes again each time its buffer grows, so
 * a batch of a hundred big messages in one statement held the loop for as long as that took.
 */
function byFirstChunks(list: [string, Buffer][]): [string, Buffer][][] {
  const groups: [string, Buffer][][] = [];
  let group: [string, Buffer][] = [];
  let bytes = 0;
  for (const blob of list) {
    const first = Math.min(blob[1].length, CHUNK_BYTES);
    if (group.length > 0 && bytes + first > CHUNK_BYTES) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(blob);
    bytes += first;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** The bytes of a blob, chunk by chunk. */
export async function* readBlob(knex: Knex, sha256: string): AsyncGenerator<Buffer> {
  const blob = await knex('blobs').where({ sha256 }).first('storage');
  if (!blob) throw new AppError(404, 'not_found', 'the file content is missing');
  if (blob.storage === 'filesystem') {
    yield* fs.createReadStream(blobPath(sha256)) as AsyncIterable<Buffer>;
    return;
  }
  for (let seq = 0; ; seq++) {
    const row = await knex('blob_chunks').where({ sha256, seq }).first('data');
    if (!row) return;
    yield row.data as Buffer;
  }
}

/** Reads a whole (small) blob into memory. */
export async function readBlobBuffer(knex: Knex, sha256: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of readBlob(knex, sha256)) parts.push(chunk);
  return Buffer.concat(parts);
}

/** Removes the blob when nothing references it any more (its file after the commit). */
export async function releaseBlob(trx: Knex.Transaction, sha256: string): Promise<boolean> {
  const blob = await trx('blobs').where({ sha256 }).forUpdate().first('storage');
  if (!blob) return false;
  for (const [table, column] of REFERENCES) {
    if (await trx(table).where(column, sha256).first(column)) return false;
  }
  await trx('blobs').where({ sha256 }).delete();
  if (blob.storage === 'filesystem') {
    trx.executionPromise.then(() => removeOrphanFile(db(), sha256)).catch(() => undefined);
  }
  return true;
}

/**
 * Removes a blob's file when no row names it. The exclusive advisory lock waits for no
 * one: a transaction linking the same content holds it shared until it commits, and then
 * the file stays (it is tried again by the next sweep if it is still an orphan then).
 */
async function removeOrphanFile(knex: Knex, sha256: string): Promise<boolean> {
  return knex.transaction(async (t) => {
    const { rows } = await t.raw('select pg_try_advisory_xact_lock(?, ?) as ok', [FILE_LOCK_SPACE, fileLockKey(sha256)]);
    if (!rows[0].ok || (await t('blobs').where({ sha256 }).first('sha256'))) return false;
    fs.rmSync(blobPath(sha256), { force: true });
    return true;
  });
}

/** REFERENCES, and every foreign key to `blobs` the schema has (whether or not its module was loaded here). */
async function referencingColumns(knex: Knex): Promise<[string, string][]> {
  const { rows } = await knex.raw(
    `select cl.relname as table_name, a.attname as column_name
       from pg_constraint c
       join pg_class cl on cl.oid = c.conrelid
       join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
      where c.contype = 'f' and c.confrelid = to_regclass('blobs') and cl.relname <> 'blob_chunks'`,
  );
  const all = [...REFERENCES];
  for (const r of rows as { table_name: string; column_name: string }[]) {
    if (!all.some(([t, c]) => t === r.table_name && c === r.column_name)) all.push([r.table_name, r.column_name]);
  }
  return all;
}

export interface SweepResult {
  /** Temporary rows of uploads that never finished. */
  temporary: number;
  /** Blobs no row uses any more. */
  unlinked: number;
  /** Files under BLOB_DIR with no blob row (temporary files included). */
  files: number;
}

const SWEEP_BATCH = 500;

/**
 * Removes what nothing links and is older than `olderThanSeconds` (wall clock): temporary
 * rows and files of uploads that were aborted or crashed, blobs no table references, and
 * files under BLOB_DIR that no blob row names. The grace period must outlast the longest
 * upload (a staged blob is unlinked until its last byte). A blob linked while the sweep
 * runs is kept: the row lock of the linking upsert, the foreign keys (RESTRICT) and the
 * file lock see to that.
 */
export async function sweepUnlinkedBlobs(knex: Knex, olderThanSeconds: number): Promise<SweepResult> {
  const cutoff = new Date(Date.now() - olderThanSeconds * 1000);
  const refs = await referencingColumns(knex);
  const unlinked = (q: Knex.QueryBuilder) => {
    q.where('blobs.created_at', '<', cutoff);
    for (const [table, column] of refs) {
      q.whereNotExists((sub) =>
        sub
          .select(knex.raw('1'))
          .from(table)
          .whereRaw('?? = blobs.sha256', [`${table}.${column}`]),
      );
    }
    return q;
  };
  const result: SweepResult = { temporary: 0, unlinked: 0, files: 0 };
  for (;;) {
    const batch: string[] = (await unlinked(knex('blobs').select('sha256').limit(SWEEP_BATCH))).map((r: { sha256: string }) => r.sha256);
    if (!batch.length) break;
    let removed: { sha256: string; storage: string }[];
    try {
      removed = await unlinked(knex('blobs').whereIn('sha256', batch)).delete().returning(['sha256', 'storage']);
    } catch (e) {
      // a row linked one of them meanwhile (23503): go one by one, keeping that one
      if ((e as { code?: string }).code !== '23503') throw e;
      removed = [];
      for (const sha256 of batch) {
        const one = await unlinked(knex('blobs').where({ sha256 }))
          .delete()
          .returning(['sha256', 'storage'])
          .catch(() => []);
        removed.push(...one);
      }
    }
    for (const r of removed) {
      if (r.sha256.startsWith('tmp_')) result.temporary++;
      else result.unlinked++;
      if (r.storage === 'filesystem' && (await removeOrphanFile(knex, r.sha256))) result.files++;
    }
    if (batch.length < SWEEP_BATCH || removed.length === 0) break;
  }
  result.files += await sweepFiles(knex, cutoff);
  return result;
}

/** Temporary files older than `cutoff`, and blob files no row names. */
async function sweepFiles(knex: Knex, cutoff: Date): Promise<number> {
  const root = config().blobDir;
  if (!fs.existsSync(root)) return 0;
  const old = (file: string) => fs.statSync(file, { throwIfNoEntry: false })?.mtime ?? new Date();
  let removed = 0;
  for (const level1 of fs.readdirSync(root)) {
    const dir1 = path.join(root, level1);
    if (level1 === 'tmp') {
      for (const name of fs.readdirSync(dir1)) {
        const file = path.join(dir1, name);
        if (old(file) < cutoff) {
          fs.rmSync(file, { force: true });
          removed++;
        }
      }
      continue;
    }
    if (!/^[0-9a-f]{2}$/.test(level1) || !fs.statSync(dir1).isDirectory()) continue;
    for (const level2 of fs.readdirSync(dir1)) {
      const dir2 = path.join(dir1, level2);
      if (!/^[0-9a-f]{2}$/.test(level2) || !fs.statSync(dir2).isDirectory()) continue;
      const candidates = fs.readdirSync(dir2).filter((n) => /^[0-9a-f]{64}$/.test(n) && old(path.join(dir2, n)) < cutoff);
      if (!candidates.length) continue;
      const known = new Set((await knex('blobs').whereIn('sha256', candidates).select('sha256')).map((r: { sha256: string }) => r.sha256));
      for (const sha256 of candidates) if (!known.has(sha256) && (await removeOrphanFile(knex, sha256))) removed++;
    }
  }
  return removed;
}
