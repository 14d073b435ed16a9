import type Router from '@koa/router';
import { listOutboundEmails, retryOutboundEmail, showOutboundEmail } from '../../../services/outbox/outboundEmails';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { pathId } from '../../validation';
import { presentOutboundEmail } from './presenter';
import { outboundListQuery } from './schema';

export function registerOutboundRoutes(router: Router): void {
  const path = '/v1/ticketing/outbound_emails';
  const tag = 'Outbound emails';
  route(router, {
    method: 'get',
    path,
    tag,
    summary: 'Every message sent or queued, newest first',
    query: outboundListQuery,
    handler: async ({ query, ctx }) =>
      pagedBody(
        ctx,
        await listOutboundEmails({
          page: query,
          state: query['filter[state]'],
          ticket_id: query['filter[ticket_id]'],
          template: query['filter[template]'],
          message_id: query['filter[message_id]'],
        }),
        presentOutboundEmail,
      ),
  });
  route(router, {
    method: 'get',
    path: `${path}/:id`,
    tag,
    errors: [404],
    summary: 'One message: recipients, state, attempts, last error, bounce',
    handler: async ({ params }) => presentOutboundEmail(await showOutboundEmail(pathId(params.id, 'outbound email'))),
  });
  route(router, {
    method: 'post',
    path: `${path}/:id/retry`,
    tag,
    errors: [404, 409],
    summary:
      'Send now: a failed, bounced or suppressed message is queued again (same Message-ID), a waiting one falls due; 409 `being_sent` while a mailer sends it',
    handler: async ({ params }) => presentOutboundEmail(await retryOutboundEmail(pathId(params.id, 'outbound email'))),
  });
}
