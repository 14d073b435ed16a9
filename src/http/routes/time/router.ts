import type Router from '@koa/router';
import { z } from 'zod';
import {
  createSegment,
  deleteSegment,
  endTracking,
  listSegments,
  showSegment,
  startTracking,
  updateSegment,
} from '../../../services/time/timeSegments';
import { listQuery } from '../../listQuery';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { dateTime, id, pathId, queryId } from '../../validation';

const tag = 'Time';
const fields = z.object({
  ticket_id: id(),
  user_id: id().nullable().optional().describe('who spent the time (default: the caller)'),
  started_at: dateTime().nullable().optional(),
  ended_at: dateTime().nullable().optional(),
  minutes: z.number().int().min(-100_000).max(100_000).optional().describe('default: from started_at and ended_at'),
  billable: z.boolean().optional(),
  note: z.string().max(10_000).nullable().optional(),
});

export function registerTimeRoutes(router: Router): void {
  const path = '/v1/ticketing/time_segments';
  route(router, {
    method: 'get', path, tag, summary: 'Time segments (filter by ticket or user)',
    query: listQuery({ ticket_id: queryId().optional(), user_id: queryId().optional() }),
    handler: async ({ query, ctx }) => pagedBody(ctx, await listSegments({ ...query, page: query }), (s) => s.toJSON()),
  });
  route(router, {
    method: 'post', path, tag, status: 201, summary: "Add time to a ticket (its time and points follow)", body: fields,
    handler: async ({ body, actor }) => (await createSegment(body, actor.id)).toJSON(),
  });
  route(router, {
    method: 'get', path: `${path}/:id`, tag, summary: 'A time segment',
    handler: async ({ params }) => (await showSegment(pathId(params.id, 'time segment'))).toJSON(),
  });
  route(router, {
    method: 'put', path: `${path}/:id`, tag, summary: 'Change a time segment', body: fields.partial(),
    handler: async ({ params, body }) => (await updateSegment(pathId(params.id, 'time segment'), body)).toJSON(),
  });
  route(router, {
    method: 'delete', path: `${path}/:id`, tag, summary: 'Delete a time segment',
    handler: async ({ params }) => {
      await deleteSegment(pathId(params.id, 'time segment'));
      return { response: 'element deleted' };
    },
  });
  route(router, {
    method: 'post', path: '/v1/ticketing/start_tracking', tag, status: 201, errors: [404],
    summary: "Start the caller's timer on a ticket, closing the one running (one timer per user)",
    body: z.object({ ticket_id: id(), previous_ticket_id: id().optional() }),
    handler: async ({ body, actor }) => {
      const r = await startTracking({ userId: actor.id, ticketId: body.ticket_id, previousTicketId: body.previous_ticket_id });
      return { started: r.started.toJSON(), stopped: r.stopped?.toJSON() ?? null };
    },
  });
  route(router, {
    method: 'post', path: '/v1/ticketing/end_tracking', tag, errors: [404, 409],
    summary: "Stop the caller's running timer (409 when none runs)",
    body: z.object({ ticket_id: id().optional() }),
    handler: async ({ body, actor }) => (await endTracking({ userId: actor.id, ticketId: body.ticket_id })).toJSON(),
  });
}
