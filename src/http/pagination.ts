/**
 * Every list route is paged: `page` (from 1) and `per_page` (default 50, at most 500),
 * answered with `X-Total-Count` and a `Link` header.
 */
import type { Context } from 'koa';
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
    query.clone().limit(req.per_page).offset((req.page - 1) * req.per_page),
    countQuery,
  ]);
  return { rows: rows as T[], total: Number(count), page: req.page, per_page: req.per_page };
}

/** Sets `X-Total-Count` and `Link` for `page` and returns its rows. */
export function pagedBody<T, R>(ctx: Context, page: Page<T>, present: (row: T) => R): R[] {
  const last = Math.max(1, Math.ceil(page.total / page.per_page));
  const link = (p: number, rel: string) => {
    const url = new URL(ctx.href);
    url.searchParams.set('page', String(p));
    url.searchParams.set('per_page', String(page.per_page));
    return `<${url.pathname}${url.search}>; rel="${rel}"`;
  };
  const links = [link(1, 'first')];
  if (page.page > 1) links.push(link(Math.min(page.page - 1, last), 'prev'));
  if (page.page < last) links.push(link(page.page + 1, 'next'));
  links.push(link(last, 'last'));
  ctx.set('X-Total-Count', String(page.total));
  ctx.set('Link', links.join(', '));
  return page.rows.map(present);
}
