import type Router from '@koa/router';
import { z } from 'zod';
import { supportSheets } from '../../../services/sheets/supportSheets';
import { crudRoutes } from '../../crudRoutes';
import { id, queryId, text } from '../../validation';

export function registerSupportSheetRoutes(router: Router): void {
  crudRoutes(router, {
    path: '/v1/ticketing/support_sheets', tag: 'Support sheets', what: 'support sheet', service: supportSheets,
    writeAccess: 'agent',
    stampOnCreate: (actor) => ({ author_id: actor.id }),
    body: z.object({
      customer_id: id(),
      title: text(),
      content: z.string().max(1_000_000).default('').describe('HTML, sanitized on save'),
    }),
    updateBody: z.object({ customer_id: id(), title: text(), content: z.string().max(1_000_000) }).partial(),
    listQuery: { customer_id: queryId().optional().describe("one customer's sheets") },
  });
}
