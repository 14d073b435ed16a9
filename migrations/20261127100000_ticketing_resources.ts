/**
 * The ticketing resources around tickets: shared contracts, support sheets, ticket and
 * reply templates, the daily points summary, and who uploaded an attachment.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('shared_support_contracts', (t) => {
    t.increments('id');
    t.integer('support_contract_id').notNullable().references('support_contracts.id').onDelete('CASCADE');
    t.integer('customer_id').notNullable().references('customers.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['support_contract_id', 'customer_id']);
    t.index('customer_id');
  });

  await knex.schema.createTable('support_sheets', (t) => {
    t.increments('id');
    t.integer('customer_id').notNullable().references('customers.id').onDelete('CASCADE');
    t.string('title', 255).notNullable();
    t.text('content').notNullable().defaultTo('');
    t.integer('author_id').references('users.id').onDelete('SET NULL');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index('customer_id');
  });

  await knex.schema.createTable('ticket_templates', (t) => {
    t.increments('id');
    t.string('name', 255).notNullable();
    t.text('subject').notNullable();
    t.text('body').notNullable();
    t.integer('priority_id').references('priorities.id').onDelete('SET NULL');
    t.integer('ticket_category_id').references('ticket_categories.id').onDelete('SET NULL');
    t.integer('ticket_sub_category_id').references('ticket_sub_categories.id').onDelete('SET NULL');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('reply_templates', (t) => {
    t.increments('id');
    t.string('name', 255).notNullable();
    t.text('body').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('daily_points_summaries', (t) => {
    t.increments('id');
    t.integer('support_contract_id').notNullable().references('support_contracts.id').onDelete('CASCADE');
    t.date('day').notNullable();
    t.decimal('points_total', 12, 2).notNullable();
    t.decimal('points_current', 12, 2).notNullable();
    t.decimal('points_consumed', 12, 2).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['support_contract_id', 'day']);
  });

  await knex.schema.alterTable('attachments', (t) => {
    t.integer('uploaded_by').references('users.id').onDelete('SET NULL');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('attachments', (t) => t.dropColumn('uploaded_by'));
  for (const table of ['daily_points_summaries', 'reply_templates', 'ticket_templates', 'support_sheets', 'shared_support_contracts']) {
    await knex.schema.dropTableIfExists(table);
  }
}
