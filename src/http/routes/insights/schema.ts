/**
 * Query schemas of the insights routes: the range (`Y-m-d` days in the configured time
 * zone), the filters, and the history's interval.
 */
import { z } from 'zod';
import { parseDate } from '../../../datetime';
import { queryId } from '../../validation';

/** Years kept to four digits, ten years ahead included (the range limit is computed on `Y-m-d` text). */
const FIRST_DAY = '1000-01-01';
const LAST_DAY = '9989-12-31';

const day = (what: string) =>
  z
    .string()
    .refine((s) => parseDate(s) !== undefined, 'must be a date as Y-m-d')
    .refine((s) => s >= FIRST_DAY && s <= LAST_DAY, `must be between ${FIRST_DAY} and ${LAST_DAY}`)
    .optional()
    .describe(what)
    .meta({ format: 'Y-m-d', example: '2026-11-27' });

export const insightsQuery = z.object({
  from: day('first day of the range, included (default: 12 months before to)'),
  to: day('last day of the range, included (default: today in the configured time zone)'),
  team_id: queryId().optional().describe('only tickets of this support team'),
  customer_id: queryId().optional().describe('only tickets of this customer'),
  assignee_id: queryId().optional().describe('only tickets assigned to this user'),
});

export const fullInsightsQuery = insightsQuery.extend({
  interval: z.enum(['day', 'week', 'month']).default('month').describe('history buckets: day, week (from Monday) or month'),
});
