/**
 * Builds the Knex instance and binds Objection's models to it.
 */
import knexFactory, { Knex } from 'knex';
import { Model } from 'objection';
import pg from 'pg';
import { logger } from '../logger';

// int8 (count(*), bigserial) and numeric come back as strings by default: numbers fit here.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));
pg.types.setTypeParser(1700, (v) => Number.parseFloat(v));
// A calendar date stays the text `Y-m-d`: turning it into a Date would shift it by the zone.
pg.types.setTypeParser(1082, (v) => v);

const urls = new WeakMap<Knex, string>();

/** The URL a Knex instance made by `createKnex` connects to. */
export function urlOf(knex: Knex): string {
  const url = urls.get(knex);
  if (!url) throw new Error('not a knex instance made by createKnex');
  return url;
}

/** A Knex instance over PostgreSQL at `url`. */
export function createKnex(url: string, poolMax = 10): Knex {
  const knex = knexFactory({
    client: 'pg',
    connection: url,
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
    // knex would print its warnings on stdout, mixed with what commands print: they go to our logger
    log: {
      warn: (detail: unknown) => logger.warn({ detail: String(detail) }, 'knex warning'),
      error: (detail: unknown) => logger.error({ detail: String(detail) }, 'knex error'),
      debug: (detail: unknown) => logger.debug({ detail: String(detail) }, 'knex debug'),
      deprecate: (method: string, alternative: string) => logger.warn({ method, alternative }, 'knex deprecation'),
    },
  });
  urls.set(knex, url);
  return knex;
}

let current: Knex | undefined;

/** The process's database (set by `useDatabase`). */
export function db(): Knex {
  if (!current) throw new Error('database not opened');
  return current;
}

/** Makes `knex` the process's database and binds the models to it. */
export function useDatabase(knex: Knex): void {
  current = knex;
  Model.knex(knex);
}

/** Closes the process's database pool. */
export async function closeDatabase(): Promise<void> {
  const k = current;
  current = undefined;
  if (k) await k.destroy();
}

export type { Knex };
