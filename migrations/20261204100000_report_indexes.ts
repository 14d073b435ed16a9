/**
 * The customer report at a million tickets (issue 12): the tickets active in a period are
 * found by four range scans (customerReportData.ts): the customer's tickets opened in it,
 * closings in it, time spent in it and customer-visible messages in it. Each range gets
 * its index, so a report costs what its period holds, not the customer's whole history.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index tickets_customer_opened_index on tickets (ticketable_id, (coalesce(opened_at, created_at)))');
  await knex.raw('create index time_segments_spent_index on time_segments ((coalesce(started_at, created_at)))');
  await knex.raw('create index replies_visible_created_index on replies (created_at) where customer_visible');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists replies_visible_created_index');
  await knex.raw('drop index if exists time_segments_spent_index');
  await knex.raw('drop index if exists tickets_customer_opened_index');
}
