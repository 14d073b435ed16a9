/**
 * Progress of `helpdesk mail import --mbox/--maildir`: one row per mailbox and archive, so
 * an interrupted import run again goes on where it stopped instead of reading the archive
 * from the start (the pipeline would drop what is stored as duplicates, but only after
 * reading every message again).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mail_imports', (t) => {
    t.increments('id');
    t.integer('mailbox_id').notNullable().references('mailboxes.id').onDelete('CASCADE');
    /** `mbox` or `maildir`. */
    t.string('format', 16).notNullable();
    /** The archive's real path. */
    t.text('path').notNullable();
    /** mbox: a hash of its first 64 KiB; a different one means another file now lies at the path. */
    t.string('fingerprint', 64);
    /** Where the next run starts: mbox `{offset, before}`, maildir `{after}` (a sort key); null from the start. */
    t.jsonb('position');
    /** Messages done so far, and how many of each outcome. */
    t.integer('messages').notNullable().defaultTo(0);
    t.jsonb('outcomes').notNullable().defaultTo('{}');
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    /** Set when a run reached the end of the archive. */
    t.timestamp('finished_at', { useTz: true });
    t.unique(['mailbox_id', 'format', 'path']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('mail_imports');
}
