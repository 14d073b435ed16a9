/**
 * Request schemas of the support sheet routes; they validate and they document.
 */
import { z } from 'zod';
import { id, queryId, text } from '../../validation';

export const createSupportSheetBody = z.object({
  customer_id: id(),
  title: text(),
  content: z.string().max(1_000_000).default('').describe('HTML, sanitized on save'),
});

export const updateSupportSheetBody = z.object({ customer_id: id(), title: text(), content: z.string().max(1_000_000) }).partial();

/** Filters of the support sheet list. */
export const supportSheetListFilters = { customer_id: queryId().optional().describe("one customer's sheets") };
