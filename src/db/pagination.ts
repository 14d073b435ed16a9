/**
 * Every list is paged: `page` (from 1) and `per_page` (default 50, at most 500). One page
 * of a query, with the total count; the HTTP side (src/http/pagination.ts) answers it with
 * `X-Total-Count` and a `Link` header.
 */
import type { Knex } from 'knex';
import type { Model, QueryBuilder } from 'objection';
export interface PageRequest {
  page: number;
  per_page: number;
}

export interface Page<T> {
  rows: T[];
  total: number;
  page: number;
  per_page: number;
}

/** Runs an Objection `query` (not yet limited) for one page, with the total count. */
export async function fetchModelPage<M extends Model>(query: QueryBuilder<M>, req: PageRequest): Promise<Page<M>> {
  const { results, total } = await query.page(req.page - 1, req.per_page);
  return { rows: results, total, page: req.page, per_page: req.per_page };
}

/** Runs a Knex `query` (not yet limited) for one page, with the total count. */
export async function fetchPage<T>(query: Knex.QueryBuilder, req: PageRequest): Promise<Page<T>> {
  const countQuery = query.clone().clearSelect().clearOrder().count<{ count: number }[]>('* as count');
  const [rows, [{ count }]] = await Promise.all([
    query
      .clone()
      .limit(req.per_page)
      .offset((req.page - 1) * req.per_page),
    countQuery,
  ]);
  return { rows: rows as T[], total: Number(count), page: req.page, per_page: req.per_page };
}
