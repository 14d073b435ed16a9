import type Router from '@koa/router';
import { clearSuppression, listSuppressions } from '../../../services/suppressions/suppressions';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { pathId } from '../../validation';
import { presentSuppression } from './presenter';
import { suppressionListQuery } from './schema';

const path = '/v1/ticketing/suppressions';
const tag = 'Suppressions';

export function registerSuppressionRoutes(router: Router): void {
  route(router, {
    method: 'get',
    path,
    tag,
    summary: 'Addresses no mail goes to: marked undeliverable by a bounce or complaint linked to a message we sent them',
    query: suppressionListQuery,
    handler: async ({ query, ctx }) => pagedBody(ctx, await listSuppressions({ page: query, address: query['filter[address]'] }), presentSuppression),
  });
  route(router, {
    method: 'delete',
    path: `${path}/:id`,
    tag,
    access: 'admin',
    errors: [404],
    summary: 'Clear a suppression: the address gets mail again',
    handler: async ({ params }) => {
      await clearSuppression(pathId(params.id, 'suppression'));
      return { response: 'element deleted' };
    },
  });
}
