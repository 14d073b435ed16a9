import type Router from '@koa/router';
import { categories, subCategories } from '../../../services/catalog/categories';
import { listPriorities } from '../../../services/catalog/priorities';
import { statuses } from '../../../services/catalog/statuses';
import { crudRoutes } from '../../crudRoutes';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { presentCategory, presentPriority, presentStatus, presentSubCategory } from './presenter';
import { categoryBody, priorityListQuery, statusBody, subCategoryBody, subCategoryListFilters } from './schema';

export function registerCatalogRoutes(router: Router): void {
  crudRoutes(router, {
    path: '/v1/ticketing/statuses',
    tag: 'Statuses',
    what: 'status',
    service: statuses,
    present: presentStatus,
    body: statusBody,
    describe: { delete: 'Delete a status; its tickets are left without a status' },
  });

  route(router, {
    method: 'get',
    path: '/v1/ticketing/priorities',
    tag: 'Priorities',
    summary: 'Every priority, by id (read-only reference data)',
    query: priorityListQuery,
    handler: async ({ query, ctx }) => pagedBody(ctx, await listPriorities(query), presentPriority),
  });

  crudRoutes(router, {
    path: '/v1/ticketing/categories',
    tag: 'Categories',
    what: 'category',
    service: categories,
    present: presentCategory,
    body: categoryBody,
    describe: {
      list: 'Categories with their sub-category counts',
      show: 'A category with its sub-categories',
      delete: 'Delete a category and its sub-categories; 409 while tickets use it',
    },
  });

  crudRoutes(router, {
    path: '/v1/ticketing/sub-categories',
    tag: 'Categories',
    what: 'sub-category',
    service: subCategories,
    present: presentSubCategory,
    body: subCategoryBody,
    listQuery: subCategoryListFilters,
    describe: { list: 'Sub-categories with their category and default priority', delete: 'Delete a sub-category; 409 while tickets use it' },
  });
}
