/**
 * Customer reports (`GET /v1/ticketing/customer_report`): the last PDF made for a customer
 * and a period, its bytes in the blob store, and the fingerprint of what it showed. A
 * request whose fingerprint still matches is answered with the stored bytes; any other
 * makes a new PDF that replaces the row. The foreign key to `blobs` keeps the bytes from
 * being swept while the row names them (the blob sweep finds referencing columns by their
 * foreign keys).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('customer_reports', (t) => {
    t.increments('id');
    t.integer('customer_id').notNullable().references('customers.id').onDelete('CASCADE');
    /** The period, local days (the config's time zone), both included. */
    t.date('period_from').notNullable();
    t.date('period_to').notNullable();
    /** sha256 of what the report showed (see reportFingerprint). */
    t.string('fingerprint', 64).notNullable();
    t.string('pdf_sha256', 64).notNullable().references('blobs.sha256').onDelete('RESTRICT');
    t.integer('pdf_size').notNullable();
    /** When this PDF was made (business clock). */
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.unique(['customer_id', 'period_from', 'period_to']);
    t.index('pdf_sha256');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('customer_reports');
}
