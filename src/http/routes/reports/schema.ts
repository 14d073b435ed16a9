import { z } from 'zod';
import { date, queryId } from '../../validation';

/** The customer report: whose, and which days (local days in the config's time zone, both included). */
export const customerReportQuery = z.object({
  customer_id: queryId().describe('the customer'),
  from: date().optional().describe('first day, Y-m-d'),
  to: date().optional().describe('last day (included), Y-m-d'),
});
