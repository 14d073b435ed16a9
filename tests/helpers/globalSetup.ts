/**
 * Before the integration tests: drop what earlier runs left, then migrate the template.
 */
import { createKnex } from '../../src/db/knex';
import { migrateLatest } from '../../src/db/migrate';
import { TEMPLATE_DATABASE, admin, databaseUrl } from './testDatabase';

export default async function globalSetup(): Promise<void> {
  await admin(async (c) => {
    const stale = await c.query(`select datname from pg_database where datname like 'hd_test_%'`);
    for (const row of stale.rows) await c.query(`drop database if exists ${row.datname} with (force)`);
    await c.query(`drop database if exists ${TEMPLATE_DATABASE} with (force)`);
    await c.query(`create database ${TEMPLATE_DATABASE}`);
  });
  const knex = createKnex(databaseUrl(TEMPLATE_DATABASE), 2);
  try {
    await migrateLatest(knex);
  } finally {
    await knex.destroy();
  }
}
