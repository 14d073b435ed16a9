/**
 * For the inbound pipeline's batches (see src/mail/inbound/batchWrites.ts): replies are
 * written before the inbound messages they came from, so that link is checked at commit;
 * blob chunks (raw messages, attachments) are compressed with lz4 where the server has
 * it, several times faster to write than the default pglz. The trigram index on ticket
 * numbers (partial-number search) gets no pending list: with one, every lookup scanned
 * the whole list (2 ms each after a few thousand new tickets), and the planner picks that
 * index even for `number = ?`.
 */
import type { Knex } from 'knex';

async function hasLz4(knex: Knex): Promise<boolean> {
  const { rows } = await knex.raw(`select 1 from pg_settings where name = 'default_toast_compression' and 'lz4' = any(enumvals)`);
  return rows.length > 0;
}

export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table replies alter constraint replies_inbound_email_id_foreign deferrable initially deferred');
  if (await hasLz4(knex)) await knex.raw('alter table blob_chunks alter column data set compression lz4');
  await knex.raw('alter index tickets_number_trgm set (fastupdate = off)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table replies alter constraint replies_inbound_email_id_foreign not deferrable');
  if (await hasLz4(knex)) await knex.raw('alter table blob_chunks alter column data set compression pglz');
  await knex.raw('alter index tickets_number_trgm reset (fastupdate)');
}
