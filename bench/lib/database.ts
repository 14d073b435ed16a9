/**
 * A migrated database for a benchmark, on the test server (TEST_DATABASE_URL).
 */
import pg from 'pg';
import type { Knex } from 'knex';
import { createKnex, useDatabase } from '../../src/db/knex';
import { migrateLatest } from '../../src/db/migrate';

const SERVER = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function freshDatabase(name: string): Promise<{ knex: Knex; url: string }> {
  const client = new pg.Client({ connectionString: SERVER });
  await client.connect();
  await client.query(`drop database if exists ${name} with (force)`);
  await client.query(`create database ${name}`);
  await client.end();
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  const knex = createKnex(url.toString(), 10);
  await migrateLatest(knex);
  useDatabase(knex);
  return { knex, url: url.toString() };
}

export async function dropDatabase(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER });
  await client.connect();
  await client.query(`drop database if exists ${name} with (force)`);
  await client.end();
}
