/**
 * Which step a message's last failed attempt failed in (issue 11): `fetch` (the server did
 * not send it) or `pipeline` (reading or deciding it threw). Only a message whose fetch
 * failed MAX_ATTEMPTS times in a row is held without its bytes; one that failed in the
 * pipeline is recorded `failed` with them (see mailboxWorker.ts and ingest.ts).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('inbound_attempts', (t) => {
    t.string('stage', 16).notNullable().defaultTo('pipeline');
    t.check(`stage in ('fetch', 'pipeline')`, [], 'inbound_attempts_stage_check');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('inbound_attempts', (t) => {
    t.dropChecks('inbound_attempts_stage_check');
    t.dropColumn('stage');
  });
}
