import type Router from '@koa/router';
import type { Model } from 'objection';
import type { Crud } from '../../../services/crud';
import { replyTemplates, resolveTemplate, ticketTemplates, valuesFor } from '../../../services/templates/cannedTemplates';
import { crudRoutes } from '../../crudRoutes';
import type { Presenter } from '../../present';
import { route } from '../../route';
import { pathId } from '../../validation';
import { presentReplyTemplate, presentTicketTemplate } from './presenter';
import { replyTemplateBody, showTemplateQuery, ticketTemplateBody } from './schema';

const tag = 'Templates';

function showResolved<M extends Model>(router: Router, path: string, what: string, service: Pick<Crud<M>, 'show'>, present: Presenter<M>): void {
  route(router, {
    method: 'get', path: `${path}/:id`, tag, summary: `Show a ${what}; with ticket_id, its variables resolved for that ticket`,
    query: showTemplateQuery,
    errors: [404],
    handler: async ({ params, query, actor }) => {
      const template = present(await service.show(pathId(params.id, what))) as { body: string; subject?: string };
      if (!query.ticket_id) return template;
      return resolveTemplate(template, await valuesFor(query.ticket_id, actor));
    },
  });
}

export function registerTemplateRoutes(router: Router): void {
  const replyPath = '/v1/reply_templates';
  showResolved(router, replyPath, 'reply template', replyTemplates, presentReplyTemplate);
  crudRoutes(router, {
    path: replyPath, tag, what: 'reply template', service: replyTemplates, present: presentReplyTemplate, writeAccess: 'agent',
    only: ['list', 'create', 'update', 'delete'],
    body: replyTemplateBody,
  });

  const ticketPath = '/v1/ticket_templates';
  showResolved(router, ticketPath, 'ticket template', ticketTemplates, presentTicketTemplate);
  crudRoutes(router, {
    path: ticketPath, tag, what: 'ticket template', service: ticketTemplates, present: presentTicketTemplate, writeAccess: 'agent',
    only: ['list', 'create', 'update', 'delete'],
    body: ticketTemplateBody,
  });
}
