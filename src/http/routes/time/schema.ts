/**
 * Request schemas of the time routes (segments and the caller's timer); they validate and
 * they document.
 */
import { z } from 'zod';
import { listQuery } from '../../listQuery';
import { dateTime, id, queryId } from '../../validation';

const fields = z.object({
  ticket_id: id(),
  user_id: id().nullable().optional().describe('who spent the time (default: the caller)'),
  started_at: dateTime().nullable().optional(),
  ended_at: dateTime().nullable().optional(),
  minutes: z.number().int().min(-100_000).max(100_000).optional().describe('default: from started_at and ended_at'),
  billable: z.boolean().optional(),
  note: z.string().max(10_000).nullable().optional(),
});

export const segmentListQuery = listQuery({ ticket_id: queryId().optional(), user_id: queryId().optional() });

export const createSegmentBody = fields;

export const updateSegmentBody = fields.partial();

export const startTrackingBody = z.object({ ticket_id: id(), previous_ticket_id: id().optional() });

export const endTrackingBody = z.object({ ticket_id: id().optional() });
