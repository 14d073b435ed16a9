import type Router from '@koa/router';
import { z } from 'zod';
import { categories, subCategories } from '../../../services/catalog/categories';
import { listPriorities } from '../../../services/catalog/priorities';
import { statuses } from '../../../services/catalog/statuses';
import { crudRoutes } from '../../crudRoutes';
import { listQuery } from '../../listQuery';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { id, queryId, text } from '../../validation';

const color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #2563eb');

export function registerCatalogRoutes(router: Router): void {
  crudRoutes(router, {
    path: '/v1/ticketing/statuses', tag: 'Statuses', what: 'status', service: statuses,
    body: z.object({
      name: text(),
      color: color.nullable().optional(),
      auto_for: z.enum(['default', 'on_admin_reply', 'on_customer_reply']).nullable().optional()
        .describe('the event on which tickets move to this status automatically; one status each'),
      position: z.number().int().min(0).max(10_000).optional(),
    }),
    describe: { delete: 'Delete a status; its tickets are left without a status' },
  });

  route(router, {
    method: 'get', path: '/v1/ticketing/priorities', tag: 'Priorities',
    summary: 'Every priority, by id (read-only reference data)',
    query: listQuery({}),
    handler: async ({ query, ctx }) => pagedBody(ctx, await listPriorities(query), (p) => p.toJSON()),
  });

  crudRoutes(router, {
    path: '/v1/ticketing/categories', tag: 'Categories', what: 'category', service: categories,
    body: z.object({ name: text(), description: z.string().max(10_000).nullable().optional() }),
    describe: {
      list: 'Categories with their sub-category counts',
      show: 'A category with its sub-categories',
      delete: 'Delete a category and its sub-categories; 409 while tickets use it',
    },
  });

  crudRoutes(router, {
    path: '/v1/ticketing/sub-categories', tag: 'Categories', what: 'sub-category', service: subCategories,
    body: z.object({ ticket_category_id: id(), name: text(), priority_id: id().nullable().optional().describe('default priority') }),
    listQuery: { ticket_category_id: queryId().optional() },
    describe: { list: 'Sub-categories with their category and default priority', delete: 'Delete a sub-category; 409 while tickets use it' },
  });
}
