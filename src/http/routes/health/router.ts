import type Router from '@koa/router';
import { db } from '../../../db/knex';
import { route } from '../../route';

export function registerHealthRoutes(router: Router): void {
  route(router, {
    method: 'get',
    path: '/health',
    tag: 'System',
    summary: 'Liveness and database reachability',
    access: 'public',
    returns: '`{"status": "ok", "database": "ok"}`',
    handler: async ({ ctx }) => {
      try {
        await db().raw('select 1');
        return { status: 'ok', database: 'ok' };
      } catch {
        ctx.status = 503;
        ctx.body = { status: 'degraded', database: 'unreachable' };
        return undefined;
      }
    },
  });
}
