import type Router from '@koa/router';
import { z } from 'zod';
import { clearSuppression, listSuppressions } from '../../../services/suppressions/suppressions';
import { listQuery } from '../../listQuery';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { pathId } from '../../validation';

const path = '/v1/ticketing/suppressions';
const tag = 'Suppressions';

export function registerSuppressionRoutes(router: Router): void {
  route(router, {
    method: 'get', path, tag,
    summary: 'Addresses no mail goes to: marked undeliverable by a bounce or complaint linked to a message we sent them',
    query: listQuery({ 'filter[address]': z.string().trim().min(1).max(320).optional().describe('part of the address, any case') }),
    handler: async ({ query, ctx }) => pagedBody(ctx, await listSuppressions({ page: query, address: query['filter[address]'] }), (s) => s),
  });
  route(router, {
    method: 'delete', path: `${path}/:id`, tag, access: 'admin', errors: [404],
    summary: 'Clear a suppression: the address gets mail again',
    handler: async ({ params }) => {
      await clearSuppression(pathId(params.id, 'suppression'));
      return { response: 'element deleted' };
    },
  });
}
