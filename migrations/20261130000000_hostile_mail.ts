/**
 * Hostile mail: failed attempts counted per mailbox and UID (a message that throws twice in
 * a row is recorded `failed` and the cursor moves on); the end of a first `unseen` import,
 * so an interrupted one resumes where it was; and the suppression list (undeliverable
 * addresses) with an id, the message whose bounce suppressed it, and what kind of report
 * it was.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('inbound_attempts', (t) => {
    t.integer('mailbox_id').notNullable().references('mailboxes.id').onDelete('CASCADE');
    t.bigInteger('imap_uid').notNullable();
    t.integer('failures').notNullable().defaultTo(0);
    t.text('last_error');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['mailbox_id', 'imap_uid']);
  });
  await knex.schema.alterTable('mailboxes', (t) => {
    /** While a first `unseen` import runs: the last UID it covers (the cursor reaches it when done). */
    t.bigInteger('import_until');
  });
  await knex.raw('alter table undeliverable_addresses add column id serial unique');
  await knex.schema.alterTable('undeliverable_addresses', (t) => {
    t.integer('outbound_email_id').references('outbound_emails.id').onDelete('SET NULL');
    t.string('source', 16).notNullable().defaultTo('bounce');
    t.check(`source in ('bounce', 'complaint')`, [], 'undeliverable_addresses_source_check');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('undeliverable_addresses', (t) => {
    t.dropChecks(['undeliverable_addresses_source_check']);
    t.dropColumn('source');
    t.dropColumn('outbound_email_id');
    t.dropColumn('id');
  });
  await knex.schema.alterTable('mailboxes', (t) => t.dropColumn('import_until'));
  await knex.schema.dropTable('inbound_attempts');
}
