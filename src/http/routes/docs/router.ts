import type Router from '@koa/router';
import { openApiDocument } from '../../openapi';
import { route } from '../../route';
import { docsPage } from './page';

export function registerDocsRoutes(router: Router): void {
  route(router, {
    method: 'get',
    path: '/openapi.json',
    tag: 'System',
    summary: 'This API described as OpenAPI 3.1',
    access: 'public',
    handler: async () => openApiDocument(),
  });
  route(router, {
    method: 'get',
    path: '/docs',
    tag: 'System',
    summary: 'A page that renders the OpenAPI document',
    access: 'public',
    produces: 'text/html',
    handler: async ({ ctx }) => {
      ctx.type = 'text/html; charset=utf-8';
      ctx.set('Content-Security-Policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'");
      ctx.body = docsPage();
      return undefined;
    },
  });
}
