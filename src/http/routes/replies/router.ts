import type Router from '@koa/router';
import { createReply } from '../../../services/replies/createReply';
import { listReplies } from '../../../services/replies/listReplies';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { presentReply } from './presenter';
import { replyBody, replyListQuery, replyTicketQuery } from './schema';

const tag = 'Replies';

export function registerReplyRoutes(router: Router): void {
  route(router, {
    method: 'get',
    path: '/v1/replies',
    tag,
    errors: [404],
    summary: "A ticket's replies, oldest first",
    query: replyListQuery,
    handler: async ({ query, ctx }) => pagedBody(ctx, await listReplies({ ticketId: query.ticket_id, page: query }), presentReply),
  });

  route(router, {
    method: 'post',
    path: '/v1/replies',
    tag,
    status: 201,
    errors: [404],
    summary: 'Add a reply; customer-visible when sent to the contacts, else an internal note',
    query: replyTicketQuery,
    body: replyBody,
    handler: async ({ query, body, actor }) => presentReply(await createReply({ ...body, ticketId: query.ticket_id, actorId: actor.id })),
  });
}
