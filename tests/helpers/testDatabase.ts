/**
 * One database per test file: the migrations run once into a template database (global
 * setup), and each file clones it, which takes a fraction of a second.
 */
import crypto from 'node:crypto';
import pg from 'pg';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/**
 * Each run has its own template, named after the run's main process (global setup sets it
 * before the workers start), so two runs on one server never touch each other's databases.
 */
export function templateDatabase(): string {
  return process.env.HELPDESK_TEST_TEMPLATE ?? `hd_test_${process.pid}_template`;
}

/** The pid a test database was named after (`hd_test_<pid>_...`). */
export function ownerPid(datname: string): number | undefined {
  const m = /^hd_test_(\d+)_/.exec(datname);
  return m ? Number(m[1]) : undefined;
}

/** The URL of database `name` on the test server. */
export function databaseUrl(name: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs SQL on the test server's maintenance database. */
export async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates a fresh database cloned from the migrated template; returns its name. */
export async function cloneTemplate(): Promise<string> {
  const runPid = ownerPid(templateDatabase()) ?? process.pid;
  const name = `hd_test_${runPid}_${crypto.randomBytes(4).toString('hex')}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await admin((c) => c.query(`create database ${name} template ${templateDatabase()}`));
      return name;
    } catch (e) {
      // "source database is being accessed by other users": another file is cloning now
      if ((e as { code?: string }).code !== '55006' || attempt > 50) throw e;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
}

export async function dropDatabase(name: string): Promise<void> {
  await admin((c) => c.query(`drop database if exists ${name} with (force)`));
}
