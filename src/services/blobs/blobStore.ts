/**
 * Raw messages and attachments, stored once by sha256. `database` (the default) keeps them
 * in PostgreSQL in 1 MB chunks written in the caller's transaction, so nothing is ever
 * half-stored and every process on every host sees them; `filesystem` keeps them under
 * BLOB_DIR. Each blob row says where its bytes are, so a change of BLOB_STORE reads on.
 * Writes stream: a 25 MB file never sits whole in memory.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import type { Knex } from 'knex';
import { now } from '../../clock';
import { config } from '../../config';
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

/** Stores a stream in the database in chunks, within `trx`. */
async function putInDatabase(trx: Knex, source: AsyncIterable<Buffer>, maxBytes: number): Promise<StoredBlob> {
  const temp = `tmp_${crypto.randomBytes(16).toString('hex')}`;
  const hash = crypto.createHash('sha256');
  await trx('blobs').insert({ sha256: temp, size: 0, storage: 'database', created_at: now() });
  let size = 0;
  let seq = 0;
  let head = Buffer.alloc(0);
  for await (const chunk of rechunk(source, CHUNK_BYTES)) {
    size += chunk.length;
    if (size > maxBytes) throw new BlobTooLarge(maxBytes);
    if (head.length < HEAD_BYTES) head = Buffer.concat([head, chunk.subarray(0, HEAD_BYTES - head.length)]);
    hash.update(chunk);
    await trx('blob_chunks').insert({ sha256: temp, seq: seq++, data: chunk });
  }
  const sha256 = hash.digest('hex');
  const inserted = await trx('blobs')
    .insert({ sha256, size, storage: 'database', created_at: now() })
    .onConflict('sha256')
    .ignore()
    .returning('sha256');
  if (inserted.length) await trx('blob_chunks').where({ sha256: temp }).update({ sha256 });
  await trx('blobs').where({ sha256: temp }).delete();
  return { sha256, size, head };
}

/** Stores a stream as a file under BLOB_DIR and records it within `trx`. */
async function putOnDisk(trx: Knex, source: AsyncIterable<Buffer>, maxBytes: number): Promise<StoredBlob> {
  const tmpDir = path.join(config().blobDir, 'tmp');
  fs.mkdirSync(tmpDir, { recursive: true });
  const temp = path.join(tmpDir, crypto.randomBytes(16).toString('hex'));
  const hash = crypto.createHash('sha256');
  let size = 0;
  let head = Buffer.alloc(0);
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes) return done(new BlobTooLarge(maxBytes));
      if (head.length < HEAD_BYTES) head = Buffer.concat([head, chunk.subarray(0, HEAD_BYTES - head.length)]);
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.from(source), meter, fs.createWriteStream(temp, { mode: 0o600 }));
    const sha256 = hash.digest('hex');
    const final = blobPath(sha256);
    fs.mkdirSync(path.dirname(final), { recursive: true });
    if (fs.existsSync(final)) fs.rmSync(temp);
    else fs.renameSync(temp, final);
    await trx('blobs').insert({ sha256, size, storage: 'filesystem', created_at: now() }).onConflict('sha256').ignore();
    return { sha256, size, head };
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** Stores `source` in the configured store, inside `trx`; 413 over `maxBytes`. */
export async function putBlob(trx: Knex, source: AsyncIterable<Buffer>, maxBytes: number): Promise<StoredBlob> {
  return config().blobStore === 'filesystem' ? putOnDisk(trx, source, maxBytes) : putInDatabase(trx, source, maxBytes);
}

/** What bytes already in memory are stored as: their hash, size and first bytes. */
export function blobOf(bytes: Buffer): StoredBlob {
  return { sha256: crypto.createHash('sha256').update(bytes).digest('hex'), size: bytes.length, head: bytes.subarray(0, HEAD_BYTES) };
}

/**
 * Stores bytes already in memory (raw messages, decoded attachments), keyed by their
 * sha256 (see blobOf), inside `trx`. In the database every blob row with its first chunk
 * goes in one statement (the bytes as separate parameters, which node-postgres sends in
 * binary), then a statement per further chunk of the blobs that were new; on disk, a file
 * each.
 */
export async function putBlobBuffers(trx: Knex, blobs: Map<string, Buffer>): Promise<void> {
  if (blobs.size === 0) return;
  if (config().blobStore === 'filesystem') {
    for (const bytes of blobs.values()) await putOnDisk(trx, (async function* () { yield bytes; })(), Number.MAX_SAFE_INTEGER);
    return;
  }
  const list = [...blobs];
  const { rows } = await trx.raw(
    `with u (sha256, size, data) as (values ${list.map(() => '(?::text, ?::bigint, ?::bytea)').join(', ')}),
          b as (insert into blobs (sha256, size, storage, created_at) select sha256, size, 'database', ? from u
                on conflict (sha256) do nothing returning sha256)
     insert into blob_chunks (sha256, seq, data) select u.sha256, 0, u.data from u join b using (sha256) returning sha256`,
    [...list.flatMap(([sha256, bytes]) => [sha256, bytes.length, bytes.subarray(0, CHUNK_BYTES)]), now()],
  );
  for (const { sha256 } of rows as { sha256: string }[]) {
    const bytes = blobs.get(sha256)!;
    for (let seq = 1; seq * CHUNK_BYTES < bytes.length; seq++) {
      await trx('blob_chunks').insert({ sha256, seq, data: bytes.subarray(seq * CHUNK_BYTES, (seq + 1) * CHUNK_BYTES) });
    }
  }
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
    trx.executionPromise.then(() => fs.rmSync(blobPath(sha256), { force: true })).catch(() => undefined);
  }
  return true;
}
