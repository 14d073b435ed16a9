/**
 * The Excel export reads a customer's tickets in id order, a batch at a time (keyset
 * paging). On the `(ticketable_type, ticketable_id)` index each batch would read and sort
 * every ticket of the customer again; this one hands each batch straight over.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index tickets_ticketable_id_id_index on tickets (ticketable_id, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists tickets_ticketable_id_id_index');
}
