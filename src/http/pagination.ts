/**
 * Every list route is paged (see src/db/pagination.ts), answered with `X-Total-Count` and
 * a `Link` header.
 */
import type { Context } from 'koa';
import type { Page } from '../db/pagination';

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
