/**
 * Services take an optional transaction: they join it when given, open one otherwise.
 */
import type { Knex } from 'knex';
import { db } from './knex';

export type Trx = Knex.Transaction;

/** Runs `work` in `trx` when given, else in a new transaction. */
export async function inTransaction<T>(trx: Knex | Trx | undefined, work: (trx: Trx) => Promise<T>): Promise<T> {
  if (trx && (trx as Trx).isTransaction) return work(trx as Trx);
  return (trx ?? db()).transaction(work);
}

/** The given transaction, or the process's database for plain reads. */
export function conn(trx?: Knex | Trx): Knex {
  return trx ?? db();
}
