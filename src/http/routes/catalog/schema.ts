/**
 * Request schemas of the catalog routes (statuses, priorities, categories, sub-categories);
 * they validate and they document.
 */
import { z } from 'zod';
import { listQuery } from '../../listQuery';
import { id, queryId, text } from '../../validation';

const color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #2563eb');

export const statusBody = z.object({
  name: text(),
  color: color.nullable().optional(),
  auto_for: z
    .enum(['default', 'on_admin_reply', 'on_customer_reply'])
    .nullable()
    .optional()
    .describe('the event on which tickets move to this status automatically; one status each'),
  position: z.number().int().min(0).max(10_000).optional(),
});

export const priorityListQuery = listQuery({});

export const categoryBody = z.object({ name: text(), description: z.string().max(10_000).nullable().optional() });

export const subCategoryBody = z.object({
  ticket_category_id: id(),
  name: text(),
  priority_id: id().nullable().optional().describe('default priority'),
});

/** Filters of the sub-category list. */
export const subCategoryListFilters = { ticket_category_id: queryId().optional() };
