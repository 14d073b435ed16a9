/**
 * Email in: mailboxes with their IMAP settings and cursor, every message received, the
 * addresses found undeliverable, and the marks inbound mail leaves on tickets and replies.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mailboxes', (t) => {
    t.increments('id');
    t.string('name', 255).notNullable();
    t.string('email', 320).notNullable();
    t.string('imap_host', 255);
    t.integer('imap_port').notNullable().defaultTo(993);
    t.boolean('imap_secure').notNullable().defaultTo(true);
    t.string('imap_username', 320);
    t.text('imap_password_encrypted');
    t.string('imap_folder', 255).notNullable().defaultTo('INBOX');
    t.string('after_import', 16).notNullable().defaultTo('seen');
    t.string('move_to', 255);
    t.integer('team_id').references('support_teams.id').onDelete('SET NULL');
    t.integer('priority_id').references('priorities.id').onDelete('SET NULL');
    t.integer('ticket_category_id').references('ticket_categories.id').onDelete('SET NULL');
    t.integer('ticket_sub_category_id').references('ticket_sub_categories.id').onDelete('SET NULL');
    t.string('unknown_sender', 16).notNullable().defaultTo('quarantine');
    t.string('import_existing', 8).notNullable().defaultTo('unseen');
    t.boolean('active').notNullable().defaultTo(true);
    t.bigInteger('uid_validity');
    t.bigInteger('last_uid');
    t.timestamp('last_polled_at', { useTz: true });
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check(`after_import in ('seen', 'move', 'delete')`, [], 'mailboxes_after_import_check');
    t.check(`unknown_sender in ('quarantine', 'create_contact', 'reject')`, [], 'mailboxes_unknown_sender_check');
    t.check(`import_existing in ('unseen', 'all', 'none')`, [], 'mailboxes_import_existing_check');
    t.check(`after_import <> 'move' or move_to is not null`, [], 'mailboxes_move_to_check');
  });
  await knex.raw('create unique index mailboxes_email_unique on mailboxes (lower(email))');

  await knex.schema.createTable('inbound_emails', (t) => {
    t.increments('id');
    t.integer('mailbox_id').references('mailboxes.id').onDelete('SET NULL');
    t.string('message_id', 998).notNullable();
    t.string('from', 320);
    t.string('from_name', 998);
    t.jsonb('to').notNullable().defaultTo('[]');
    t.jsonb('cc').notNullable().defaultTo('[]');
    t.text('subject');
    t.timestamp('received_at', { useTz: true }).notNullable();
    t.timestamp('sent_at', { useTz: true });
    t.bigInteger('size').notNullable();
    t.integer('attachments_count').notNullable().defaultTo(0);
    t.string('outcome', 16).notNullable();
    t.text('reason');
    t.specificType('flags', 'text[]').notNullable().defaultTo('{}');
    t.integer('ticket_id').references('tickets.id').onDelete('SET NULL');
    t.integer('reply_id').references('replies.id').onDelete('SET NULL');
    t.integer('outbound_email_id').references('outbound_emails.id').onDelete('SET NULL');
    t.string('raw_sha256', 64).notNullable().references('blobs.sha256').onDelete('RESTRICT');
    t.bigInteger('imap_uid');
    t.text('error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check(
      `outcome in ('ticket_created', 'reply_added', 'duplicate', 'auto_reply', 'bounce', 'loop', 'quarantined', 'rejected', 'failed')`,
      [],
      'inbound_emails_outcome_check',
    );
    t.index('outcome');
    t.index('ticket_id');
  });
  await knex.raw('create unique index inbound_emails_mailbox_message_unique on inbound_emails (coalesce(mailbox_id, 0), message_id)');
  await knex.raw('create index inbound_emails_message_id_index on inbound_emails (message_id)');

  await knex.schema.createTable('undeliverable_addresses', (t) => {
    t.string('address', 320).primary();
    t.text('reason').notNullable();
    t.integer('inbound_email_id').references('inbound_emails.id').onDelete('SET NULL');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.alterTable('replies', (t) => {
    t.specificType('flags', 'text[]').notNullable().defaultTo('{}');
    t.integer('inbound_email_id').references('inbound_emails.id').onDelete('SET NULL');
  });
  await knex.schema.alterTable('tickets', (t) => {
    t.specificType('flags', 'text[]').notNullable().defaultTo('{}');
    t.integer('mailbox_id').references('mailboxes.id').onDelete('SET NULL');
    t.integer('previous_ticket_id').references('tickets.id').onDelete('SET NULL');
  });
  await knex.schema.alterTable('outbound_emails', (t) => {
    t.integer('mailbox_id').references('mailboxes.id').onDelete('SET NULL');
    t.integer('bounce_inbound_email_id').references('inbound_emails.id').onDelete('SET NULL');
    t.text('bounce_reason');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbound_emails', (t) => {
    t.dropColumn('mailbox_id');
    t.dropColumn('bounce_inbound_email_id');
    t.dropColumn('bounce_reason');
  });
  await knex.schema.alterTable('tickets', (t) => {
    t.dropColumn('flags');
    t.dropColumn('mailbox_id');
    t.dropColumn('previous_ticket_id');
  });
  await knex.schema.alterTable('replies', (t) => {
    t.dropColumn('flags');
    t.dropColumn('inbound_email_id');
  });
  await knex.schema.dropTableIfExists('undeliverable_addresses');
  await knex.schema.dropTableIfExists('inbound_emails');
  await knex.schema.dropTableIfExists('mailboxes');
}
