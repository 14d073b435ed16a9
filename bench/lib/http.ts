/**
 * HTTP for the API benchmarks: an app listening on a free port, a keep-alive GET that
 * resolves with the status and headers, and the floor they are compared with: a bare Koa
 * route doing one primary-key query through knex.
 */
import http from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import type { Knex } from 'knex';

export function listen(app: Koa): Promise<{ server: http.Server; port: number }> {
  return new Promise((resolve) => {
    const server = http.createServer(app.callback()).listen(0, '127.0.0.1', () => {
      resolve({ server, port: (server.address() as { port: number }).port });
    });
  });
}

/** The floor: Koa + @koa/router + one primary-key lookup through knex, at `/tickets/:id`. */
export function floorApp(knex: Knex): Koa {
  const app = new Koa();
  const router = new Router();
  router.get('/tickets/:id', async (ctx) => {
    ctx.body = await knex('tickets')
      .where({ id: Number(ctx.params.id) })
      .first();
  });
  app.use(router.routes());
  return app;
}

export const FLOOR = 'bare Koa route, one primary-key query through knex';

export const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** GETs `path`, reads the body away; rejects on any status but 200. */
export function get(port: number, path: string, token?: string): Promise<http.IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    const req = http.get({ host: '127.0.0.1', port, path, agent: keepAlive, headers }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(res.headers) : reject(new Error(`${path}: ${res.statusCode}`))));
    });
    req.on('error', reject);
  });
}
