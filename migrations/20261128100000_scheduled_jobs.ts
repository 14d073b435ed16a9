/**
 * Scheduled jobs: the claim of each (job, slot) that makes a scheduled run happen once
 * across any number of scheduler instances, and what the contract job records.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('job_runs', (t) => {
    t.bigIncrements('id');
    t.string('job', 64).notNullable();
    t.timestamp('slot', { useTz: true }).notNullable();
    t.string('claimed_by', 255).notNullable();
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('finished_at', { useTz: true });
    t.jsonb('summary');
    t.text('error');
    t.unique(['job', 'slot']);
    t.index('started_at');
  });
  await knex.schema.alterTable('support_contracts', (t) => {
    /** When it was last renewed (a points alert may go again after it). */
    t.timestamp('renewed_at', { useTz: true });
    /** When the job found it past its end without a renewal. */
    t.timestamp('expired_at', { useTz: true });
  });
  await knex.raw(`create index tickets_pending_closure_index on tickets (closure_requested_at) where open and closure`);
  await knex.raw(`create index replies_ticket_visible_index on replies (ticket_id, created_at desc) where customer_visible and not auto_closure_message`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists replies_ticket_visible_index');
  await knex.raw('drop index if exists tickets_pending_closure_index');
  await knex.schema.alterTable('support_contracts', (t) => {
    t.dropColumn('renewed_at');
    t.dropColumn('expired_at');
  });
  await knex.schema.dropTable('job_runs');
}
