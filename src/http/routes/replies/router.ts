import type Router from '@koa/router';
import { z } from 'zod';
import { createReply } from '../../../services/replies/createReply';
import { listReplies } from '../../../services/replies/listReplies';
import { listQuery } from '../../listQuery';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { queryId } from '../../validation';
import { presentReply } from './presenter';

const tag = 'Replies';

const ticketQuery = listQuery({ ticket_id: queryId() });

const replyBody = z.object({
  body: z.string().max(1_000_000).describe('HTML, sanitized on save'),
  close: z.boolean().describe('close the ticket after the reply'),
  send_to_assignee: z.boolean().describe("mail the reply to the ticket's assignee"),
  send_to_contacts: z.boolean().describe("mail the reply to the ticket's contacts (makes it customer-visible)"),
  notify_team: z.boolean().optional().describe("mail the ticket's team (not persisted)"),
  notify_customer: z.boolean().optional().describe('same as send_to_contacts (not persisted)'),
  attachment_ids: z
    .array(z.number().int().positive())
    .max(100)
    .optional()
    .describe("attachments uploaded beforehand (to this ticket, or to nothing) that go with the reply and its mail"),
});

export function registerReplyRoutes(router: Router): void {
  route(router, {
    method: 'get', path: '/v1/replies', tag, errors: [404],
    summary: "A ticket's replies, oldest first",
    query: ticketQuery,
    handler: async ({ query, ctx }) =>
      pagedBody(ctx, await listReplies({ ticketId: query.ticket_id, page: query }), presentReply),
  });

  route(router, {
    method: 'post', path: '/v1/replies', tag, status: 201, errors: [404],
    summary: 'Add a reply; customer-visible when sent to the contacts, else an internal note',
    query: z.object({ ticket_id: queryId() }),
    body: replyBody,
    handler: async ({ query, body, actor }) =>
      presentReply(await createReply({ ...body, ticketId: query.ticket_id, actorId: actor.id })),
  });
}
