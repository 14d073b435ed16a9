/**
 * Migrations from `migrations/`, recorded by name without extension so a history made from
 * the `.ts` sources also fits a compiled `dist/` run. Several processes may migrate at
 * once: an advisory lock makes them take turns.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';

const MIGRATIONS_DIR = path.resolve(__dirname, '../../migrations');
const LOCK_KEY = 727_001; // pg_advisory_lock key for migrations

interface MigrationModule {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

class DirectorySource implements Knex.MigrationSource<string> {
  async getMigrations(): Promise<string[]> {
    return fs
      .readdirSync(MIGRATIONS_DIR)
      .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
      .map((f) => f.replace(/\.(ts|js)$/, ''))
      .filter((name, i, all) => all.indexOf(name) === i)
      .sort();
  }

  getMigrationName(name: string): string {
    return name;
  }

  async getMigration(name: string): Promise<MigrationModule> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path.join(MIGRATIONS_DIR, name)) as MigrationModule;
  }
}

async function withMigrationLock<T>(knex: Knex, work: () => Promise<T>): Promise<T> {
  return knex.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(?)', [LOCK_KEY]);
    return work();
  });
}

/** Applies every pending migration; returns the names applied. */
export async function migrateLatest(knex: Knex): Promise<string[]> {
  return withMigrationLock(knex, async () => {
    const [, applied] = (await knex.migrate.latest({ migrationSource: new DirectorySource() })) as [number, string[]];
    return applied;
  });
}

/** Rolls back the last batch; returns the names rolled back. */
export async function migrateRollback(knex: Knex): Promise<string[]> {
  return withMigrationLock(knex, async () => {
    const [, undone] = (await knex.migrate.rollback({ migrationSource: new DirectorySource() })) as [number, string[]];
    return undone;
  });
}

export interface MigrationStatus {
  /** Migrations of this version not yet applied to the database. */
  pending: string[];
  /** Migrations the database recorded that this version does not have (a newer version ran). */
  unknown: string[];
}

/** What `migrateLatest` would do, read only: unlike knex's `migrate.list`, it creates no table. */
export async function migrationStatus(knex: Knex): Promise<MigrationStatus> {
  const known = await new DirectorySource().getMigrations();
  const applied: string[] = (await knex.schema.hasTable('knex_migrations'))
    ? (await knex('knex_migrations').select('name')).map((r: { name: string }) => r.name.replace(/\.(ts|js)$/, ''))
    : [];
  return {
    pending: known.filter((name) => !applied.includes(name)),
    unknown: applied.filter((name) => !known.includes(name)),
  };
}
