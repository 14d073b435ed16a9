/**
 * Email out: what the mailer records about each message it claims and sends, and the log
 * of automatic mail per recipient that the hourly limit counts.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbound_emails', (t) => {
    t.string('from_address', 320);
    t.text('reply_to');
    /** Recipients left out of the message (suppressed), with their reasons. */
    t.jsonb('dropped_recipients').notNullable().defaultTo('[]');
    /** Recipients the SMTP server refused while accepting the others. */
    t.jsonb('rejected_recipients').notNullable().defaultTo('[]');
    t.text('last_response');
    t.timestamp('last_attempt_at', { useTz: true });
    /** When it was queued, or queued again by a retry: the retry window counts from here. */
    t.timestamp('queued_at', { useTz: true });
  });
  await knex.raw('update outbound_emails set queued_at = created_at');
  await knex.raw(`create index outbound_emails_state_index on outbound_emails (state, id)`);

  await knex.schema.createTable('auto_mail_sends', (t) => {
    t.bigIncrements('id');
    t.string('address', 320).notNullable();
    t.integer('outbound_email_id').references('outbound_emails.id').onDelete('CASCADE');
    t.timestamp('sent_at', { useTz: true }).notNullable();
    t.index(['address', 'sent_at']);
    t.index('sent_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('auto_mail_sends');
  await knex.raw('drop index if exists outbound_emails_state_index');
  await knex.schema.alterTable('outbound_emails', (t) => {
    for (const c of ['from_address', 'reply_to', 'dropped_recipients', 'rejected_recipients', 'last_response', 'last_attempt_at', 'queued_at']) t.dropColumn(c);
  });
}
