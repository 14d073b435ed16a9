/**
 * Existence checks that give the spec's answers: an unknown id in the path is a 404, an
 * unknown id inside a body is a 400 naming the field.
 */
import type { Knex } from 'knex';
import { invalid, notFound } from '../errors';
import { conn } from '../db/transaction';

/** Throws 400 naming `field` unless `table` has a row with that id. */
export async function requireReference(trx: Knex | undefined, table: string, id: number | null | undefined, field: string): Promise<void> {
  if (id === null || id === undefined) return;
  const row = await conn(trx)(table).where({ id }).first('id');
  if (!row) throw invalid({ [field]: `no ${table.replace(/_/g, ' ')} with id ${id}` });
}

/** Throws 404 unless `row` exists; returns it typed. */
export function found<T>(row: T | undefined | null, what: string, id: unknown): T {
  if (row === undefined || row === null) throw notFound(what, id);
  return row;
}
