/**
 * Query schema of the outbound email list; it validates and it documents.
 */
import { z } from 'zod';
import { listQuery } from '../../listQuery';
import { queryId } from '../../validation';

const STATES = ['queued', 'sent', 'failed', 'bounced', 'suppressed'] as const;

export const outboundListQuery = listQuery({
  'filter[state]': z.enum(STATES).optional(),
  'filter[ticket_id]': queryId().optional(),
  'filter[template]': z.string().max(64).optional(),
  'filter[message_id]': z.string().max(998).optional(),
});
