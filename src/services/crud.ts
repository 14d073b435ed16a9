/**
 * The plain resources (statuses, categories, teams, templates, sheets, ...) share one shape
 * of use cases: list a page, show one, create, update, delete. A resource states only what
 * is its own: how to check and normalise fields, what to refuse on delete, which relations
 * and computed columns to show.
 */
import type { Knex } from 'knex';
import type { Model, ModelClass, QueryBuilder } from 'objection';
import { conn, inTransaction } from '../db/transaction';
import { type Page, type PageRequest, fetchModelPage } from '../db/pagination';
import { found } from './lookup';

export interface Resource<M extends Model> {
  model: ModelClass<M>;
  /** Singular name for messages: "status 12 not found". */
  what: string;
  /** Checks (400/404/409) and normalises the fields of a create or update. */
  prepare?: (trx: Knex, fields: Record<string, unknown>, existing?: M) => Promise<Record<string, unknown>>;
  /** Refuses (409) or prepares a deletion. */
  beforeDelete?: (trx: Knex, row: M) => Promise<void>;
  /** Runs after a create or update, in the same transaction (e.g. keep points right). */
  afterWrite?: (trx: Knex, row: M, existing?: M) => Promise<void>;
  /** Adds computed columns and relations to lists and shows. */
  decorate?: (q: QueryBuilder<M, M[]>, mode: 'list' | 'show') => void;
  /** Applies list filters from the query string. */
  filter?: (q: QueryBuilder<M, M[]>, query: Record<string, unknown>) => void;
  orderBy?: string;
}

export interface Crud<M extends Model> {
  list(query: Record<string, unknown> & { page: PageRequest }, trx?: Knex): Promise<Page<M>>;
  show(id: number, trx?: Knex): Promise<M>;
  create(fields: Record<string, unknown>, trx?: Knex): Promise<M>;
  update(id: number, fields: Record<string, unknown>, trx?: Knex): Promise<M>;
  remove(id: number, trx?: Knex): Promise<void>;
}

/** The five use cases of `res`. */
export function crud<M extends Model>(res: Resource<M>): Crud<M> {
  const table = res.model.tableName;
  const base = (trx: Knex | undefined) => res.model.query(conn(trx)) as unknown as QueryBuilder<M, M[]>;

  const show = async (id: number, trx?: Knex): Promise<M> => {
    const q = base(trx).where(`${table}.id`, id);
    res.decorate?.(q, 'show');
    const [row] = await q;
    return found(row, res.what, id);
  };

  const lockOne = async (t: Knex, id: number): Promise<M> => found(((await base(t).where(`${table}.id`, id).forUpdate()) as M[])[0], res.what, id);

  return {
    async list(query, trx) {
      const q = base(trx).orderBy(`${table}.${res.orderBy ?? 'id'}`);
      res.filter?.(q, query);
      res.decorate?.(q, 'list');
      return fetchModelPage(q, query.page);
    },
    show,
    async create(fields, trx) {
      return inTransaction(trx, async (t) => {
        const values = res.prepare ? await res.prepare(t, fields) : fields;
        const row = (await base(t).insertAndFetch(values as never)) as unknown as M;
        await res.afterWrite?.(t, row);
        return show(row.$id() as number, t);
      });
    },
    async update(id, fields, trx) {
      return inTransaction(trx, async (t) => {
        const existing = await lockOne(t, id);
        const values = res.prepare ? await res.prepare(t, fields, existing) : fields;
        const row = (Object.keys(values).length ? await existing.$query(t).patchAndFetch(values as never) : existing) as M;
        await res.afterWrite?.(t, row, existing);
        return show(id, t);
      });
    },
    async remove(id, trx) {
      await inTransaction(trx, async (t) => {
        const row = await lockOne(t, id);
        await res.beforeDelete?.(t, row);
        await row.$query(t).delete();
      });
    },
  };
}
