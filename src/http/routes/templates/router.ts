import type Router from '@koa/router';
import { z } from 'zod';
import { TEMPLATE_VARIABLES } from '../../../services/templates/variables';
import { replyTemplates, resolveTemplate, ticketTemplates, valuesFor } from '../../../services/templates/cannedTemplates';
import type { Model } from 'objection';
import type { Crud } from '../../../services/crud';
import { crudRoutes } from '../../crudRoutes';
import { route } from '../../route';
import { id, pathId, queryId, text } from '../../validation';

const tag = 'Templates';
const variables = `Variables: ${TEMPLATE_VARIABLES.map((v) => `{{${v}}}`).join(', ')}.`;

function showResolved(router: Router, path: string, what: string, service: Pick<Crud<Model>, 'show'>): void {
  route(router, {
    method: 'get', path: `${path}/:id`, tag, summary: `Show a ${what}; with ticket_id, its variables resolved for that ticket`,
    query: z.object({ ticket_id: queryId().optional() }),
    errors: [404],
    handler: async ({ params, query, actor }) => {
      const template = (await service.show(pathId(params.id, what))).toJSON() as { body: string; subject?: string };
      if (!query.ticket_id) return template;
      return resolveTemplate(template, await valuesFor(query.ticket_id, actor));
    },
  });
}

export function registerTemplateRoutes(router: Router): void {
  const replyPath = '/v1/reply_templates';
  showResolved(router, replyPath, 'reply template', replyTemplates);
  crudRoutes(router, {
    path: replyPath, tag, what: 'reply template', service: replyTemplates, writeAccess: 'agent',
    only: ['list', 'create', 'update', 'delete'],
    body: z.object({ name: text(), body: z.string().min(1).max(200_000).describe(`HTML. ${variables}`) }),
  });

  const ticketPath = '/v1/ticket_templates';
  showResolved(router, ticketPath, 'ticket template', ticketTemplates);
  crudRoutes(router, {
    path: ticketPath, tag, what: 'ticket template', service: ticketTemplates, writeAccess: 'agent',
    only: ['list', 'create', 'update', 'delete'],
    body: z.object({
      name: text(),
      subject: text(998).describe(variables),
      body: z.string().min(1).max(200_000).describe(`HTML. ${variables}`),
      priority_id: id().nullable().optional(),
      ticket_category_id: id().nullable().optional(),
      ticket_sub_category_id: id().nullable().optional(),
    }),
  });
}
