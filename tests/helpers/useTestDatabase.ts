/**
 * Gives the calling test file its own migrated database for all its tests.
 */
import type { Knex } from 'knex';
import { closeDatabase, createKnex, db, useDatabase } from '../../src/db/knex';
import { cloneTemplate, databaseUrl, dropDatabase } from './testDatabase';

export function useTestDatabase(): { knex: () => Knex; url: () => string } {
  let name = '';
  beforeAll(async () => {
    name = await cloneTemplate();
    useDatabase(createKnex(databaseUrl(name), 5));
  });
  afterAll(async () => {
    await closeDatabase();
    if (name) await dropDatabase(name);
  });
  return { knex: () => db(), url: () => databaseUrl(name) };
}
