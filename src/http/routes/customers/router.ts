import type Router from '@koa/router';
import { createCustomer, deleteCustomer, listCustomers, showCustomer, updateCustomer } from '../../../services/customers/customers';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { pathId } from '../../validation';
import { presentCustomer } from './presenter';
import { createCustomerBody, customerListQuery, updateCustomerBody } from './schema';

const tag = 'Customers';

export function registerCustomerRoutes(router: Router): void {
  route(router, {
    method: 'get',
    path: '/v1/customers',
    tag,
    summary: 'Customers, by id',
    query: customerListQuery,
    handler: async ({ query, ctx }) => pagedBody(ctx, await listCustomers({ page: query, search: query.search }), presentCustomer),
  });
  route(router, {
    method: 'post',
    path: '/v1/customers',
    tag,
    status: 201,
    summary: 'Create a customer',
    body: createCustomerBody,
    handler: async ({ body }) => presentCustomer(await createCustomer(body)),
  });
  route(router, {
    method: 'get',
    path: '/v1/customers/:id',
    tag,
    summary: 'A customer with its contacts',
    handler: async ({ params }) => presentCustomer(await showCustomer(pathId(params.id, 'customer'))),
  });
  route(router, {
    method: 'put',
    path: '/v1/customers/:id',
    tag,
    summary: 'Update a customer',
    body: updateCustomerBody,
    handler: async ({ params, body }) => presentCustomer(await updateCustomer(pathId(params.id, 'customer'), body)),
  });
  route(router, {
    method: 'delete',
    path: '/v1/customers/:id',
    tag,
    errors: [409],
    summary: 'Delete a customer and its contacts (409 while it has tickets)',
    handler: async ({ params }) => {
      await deleteCustomer(pathId(params.id, 'customer'));
      return { response: 'element deleted' };
    },
  });
}
