/**
 * Ticket insights (issue 12). `reopen_count` records each time a closed ticket is opened
 * again (the open and reopen routes, a customer's mail reopening it); tickets from before
 * this migration count as never reopened. The two indexes serve the insights' ranges: the
 * tickets opened in a range (by `coalesce(opened_at, created_at)`, as the insights select
 * them) and the closures in a range (the history).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tickets', (t) => {
    t.integer('reopen_count').notNullable().defaultTo(0);
  });
  await knex.raw('create index tickets_opened_index on tickets ((coalesce(opened_at, created_at)))');
  await knex.raw('create index tickets_closed_at_index on tickets (closed_at) where closed_at is not null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists tickets_closed_at_index');
  await knex.raw('drop index if exists tickets_opened_index');
  await knex.schema.alterTable('tickets', (t) => {
    t.dropColumn('reopen_count');
  });
}
