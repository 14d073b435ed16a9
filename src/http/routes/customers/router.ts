import type Router from '@koa/router';
import { z } from 'zod';
import {
  createCustomer,
  deleteCustomer,
  listCustomers,
  showCustomer,
  updateCustomer,
} from '../../../services/customers/customers';
import { listQuery } from '../../listQuery';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { pathId, text } from '../../validation';
import { presentCustomer } from './presenter';

const tag = 'Customers';
const domain = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a domain like example.com');
const fields = z.object({ name: text(), email_domains: z.array(domain).max(100) });

export function registerCustomerRoutes(router: Router): void {
  route(router, {
    method: 'get', path: '/v1/customers', tag, summary: 'Customers, by id',
    query: listQuery({ search: z.string().max(255).optional().describe('part of the name') }),
    handler: async ({ query, ctx }) => pagedBody(ctx, await listCustomers({ page: query, search: query.search }), presentCustomer),
  });
  route(router, {
    method: 'post', path: '/v1/customers', tag, status: 201, summary: 'Create a customer',
    body: fields.partial({ email_domains: true }),
    handler: async ({ body }) => presentCustomer(await createCustomer(body)),
  });
  route(router, {
    method: 'get', path: '/v1/customers/:id', tag, summary: 'A customer with its contacts',
    handler: async ({ params }) => presentCustomer(await showCustomer(pathId(params.id, 'customer'))),
  });
  route(router, {
    method: 'put', path: '/v1/customers/:id', tag, summary: 'Update a customer',
    body: fields.partial(),
    handler: async ({ params, body }) => presentCustomer(await updateCustomer(pathId(params.id, 'customer'), body)),
  });
  route(router, {
    method: 'delete', path: '/v1/customers/:id', tag, errors: [409],
    summary: 'Delete a customer and its contacts (409 while it has tickets)',
    handler: async ({ params }) => {
      await deleteCustomer(pathId(params.id, 'customer'));
      return { response: 'element deleted' };
    },
  });
}
