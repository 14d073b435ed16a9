/**
 * The outbox's claims and per-recipient delivery. A claim writes a token of its own on the
 * rows it takes, and an outcome is recorded only where that token is still there: a lane
 * whose send outlasted the lease can never write over the claim of the lane that took the
 * row after it. The token also tells a message being sent (token set, lease running) from
 * one waiting out its backoff (no token). Each recipient gets its own SMTP transaction
 * (its own VERP return path), so delivery is recorded per recipient, and a retry goes only
 * to those not yet delivered.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbound_emails', (t) => {
    /** The claim of the lane sending it now; null when no lane holds it. */
    t.uuid('claim_token');
    /** Recipients (lower-case addresses) the SMTP server accepted, over all attempts. */
    t.jsonb('delivered_recipients').notNullable().defaultTo('[]');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbound_emails', (t) => {
    t.dropColumn('claim_token');
    t.dropColumn('delivered_recipients');
  });
}
