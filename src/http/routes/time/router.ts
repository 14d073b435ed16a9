import type Router from '@koa/router';
import { createSegment, deleteSegment, endTracking, listSegments, showSegment, startTracking, updateSegment } from '../../../services/time/timeSegments';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { pathId } from '../../validation';
import { presentTimeSegment, presentTracking } from './presenter';
import { createSegmentBody, endTrackingBody, segmentListQuery, startTrackingBody, updateSegmentBody } from './schema';

const tag = 'Time';

export function registerTimeRoutes(router: Router): void {
  const path = '/v1/ticketing/time_segments';
  route(router, {
    method: 'get',
    path,
    tag,
    summary: 'Time segments (filter by ticket or user)',
    query: segmentListQuery,
    handler: async ({ query, ctx }) => pagedBody(ctx, await listSegments({ ...query, page: query }), presentTimeSegment),
  });
  route(router, {
    method: 'post',
    path,
    tag,
    status: 201,
    summary: 'Add time to a ticket (its time and points follow)',
    body: createSegmentBody,
    handler: async ({ body, actor }) => presentTimeSegment(await createSegment(body, actor.id)),
  });
  route(router, {
    method: 'get',
    path: `${path}/:id`,
    tag,
    summary: 'A time segment',
    handler: async ({ params }) => presentTimeSegment(await showSegment(pathId(params.id, 'time segment'))),
  });
  route(router, {
    method: 'put',
    path: `${path}/:id`,
    tag,
    summary: 'Change a time segment',
    body: updateSegmentBody,
    handler: async ({ params, body }) => presentTimeSegment(await updateSegment(pathId(params.id, 'time segment'), body)),
  });
  route(router, {
    method: 'delete',
    path: `${path}/:id`,
    tag,
    summary: 'Delete a time segment',
    handler: async ({ params }) => {
      await deleteSegment(pathId(params.id, 'time segment'));
      return { response: 'element deleted' };
    },
  });
  route(router, {
    method: 'post',
    path: '/v1/ticketing/start_tracking',
    tag,
    status: 201,
    errors: [404],
    summary: "Start the caller's timer on a ticket, closing the one running (one timer per user)",
    body: startTrackingBody,
    handler: async ({ body, actor }) =>
      presentTracking(await startTracking({ userId: actor.id, ticketId: body.ticket_id, previousTicketId: body.previous_ticket_id })),
  });
  route(router, {
    method: 'post',
    path: '/v1/ticketing/end_tracking',
    tag,
    errors: [404, 409],
    summary: "Stop the caller's running timer (409 when none runs)",
    body: endTrackingBody,
    handler: async ({ body, actor }) => presentTimeSegment(await endTracking({ userId: actor.id, ticketId: body.ticket_id })),
  });
}
