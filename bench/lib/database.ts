/**
 * Databases for benchmarks, on the test server (TEST_DATABASE_URL): a fresh migrated one,
 * its URL, and one admin connection for creating and dropping them.
 */
import pg from 'pg';
import type { Knex } from 'knex';
import { createKnex, useDatabase } from '../../src/db/knex';
import { migrateLatest } from '../../src/db/migrate';

const SERVER = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** `work` on a connection to the server's maintenance database, closed after. */
export async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: SERVER });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The URL of database `name` on the test server. */
export function databaseUrl(name: string): string {
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function freshDatabase(name: string): Promise<{ knex: Knex; url: string }> {
  await admin(async (c) => {
    await c.query(`drop database if exists ${name} with (force)`);
    await c.query(`create database ${name}`);
  });
  const url = databaseUrl(name);
  const knex = createKnex(url, 10);
  await migrateLatest(knex);
  useDatabase(knex);
  return { knex, url };
}

export async function dropDatabase(name: string): Promise<void> {
  await admin((c) => c.query(`drop database if exists ${name} with (force)`));
}
