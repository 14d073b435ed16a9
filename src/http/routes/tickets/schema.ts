/**
 * Request schemas of the ticket routes; they validate and they document.
 */
import { z } from 'zod';
import { SEARCH_INCLUDES, type SearchInclude } from '../../../services/tickets/listTickets';
import { listQuery } from '../../listQuery';
import { dateTime, date, id, queryBool, queryId, text } from '../../validation';

const tags = z.array(z.string().trim().min(1).max(64)).max(50);
const html = z.string().max(1_000_000);

export const ticketableQuery = z.object({
  ticketable_type: z.string().describe('App\\Customer'),
  ticketable_id: queryId(),
});

export const ticketListQuery = listQuery({
  ticketable_type: z.string().optional().describe('with ticketable_id: every ticket of that entity, open or closed'),
  ticketable_id: queryId().optional(),
});

export const createBody = z.object({
  subject: text(998).describe('HTML stripped on save'),
  body: html.describe('HTML, sanitized on save'),
  priority_id: id(),
  ticket_category_id: id(),
  ticket_sub_category_id: id(),
  estimated_resolution_date: dateTime().optional(),
  tags: tags.optional(),
  team_id: id().nullable().optional(),
  status_id: id().nullable().optional(),
  contract_id: id().nullable().optional(),
  contact_id: id().nullable().optional().describe('primary contact, a contact of the customer'),
  billable: z.boolean().optional(),
  close: z.boolean().optional().describe('close the ticket right after creating it'),
});

export const updateBody = z
  .object({
    subject: text(998),
    body: html,
    ticketable_type: z.string(),
    ticketable_id: id(),
    team_id: id().nullable(),
    priority_id: id(),
    ticket_category_id: id(),
    ticket_sub_category_id: id(),
    status_id: id().nullable(),
    tags,
    estimated_resolution_date: dateTime(),
    assignee_id: id().nullable(),
    opened_at: dateTime(),
    contract_id: id().nullable(),
    billable: z.boolean(),
    billed: z.boolean(),
    close: z.boolean().describe('true closes the ticket now'),
    closure: z.boolean().describe('true requests a closure (closes after closure_delay_hours unless the customer answers); false cancels it'),
  })
  .partial();

const filterBool = queryBool().optional();

export const searchQuery = listQuery(
  {
    'filter[number]': z.string().max(64).optional(),
    'filter[email]': z.string().max(320).optional(),
    'filter[body]': z.string().max(1000).optional(),
    'filter[ticketable_type]': z.string().optional(),
    'filter[ticketable_id]': queryId().optional(),
    'filter[assignee_id]': queryId().optional(),
    'filter[status_id]': queryId().optional(),
    'filter[priority_id]': queryId().optional(),
    'filter[team_id]': queryId().optional(),
    'filter[open]': filterBool,
    'filter[closed]': filterBool,
    'filter[my_tickets]': filterBool,
    'filter[my_teams_tickets]': filterBool,
  },
  { include: Object.keys(SEARCH_INCLUDES) as SearchInclude[] },
);

export const invoicingBody = z.object({
  time: z.number().int().min(1).max(1_000_000).describe('minutes, at least 1'),
  reference: z.string().trim().max(255).optional(),
  ticket_date: date().optional(),
  contact_id: id().optional(),
});

export const assignBody = z.object({ assignee_id: id() });

export const amendBody = z.object({
  time: z
    .union([
      z.number(),
      z
        .string()
        .regex(/^-?\d+(\.\d+)?$/, 'must be a number')
        .transform(Number),
    ])
    .pipe(
      z
        .number()
        .int('must be a whole number of minutes')
        .min(-1_000_000)
        .max(1_000_000)
        .refine((n) => n !== 0, 'must not be 0'),
    )
    .describe('signed minutes to add (negative to remove)'),
});

export const exportQuery = z.object({
  with_segments: queryBool().optional().describe('true adds a second sheet with the time segments of the tickets'),
});

export const associatesBody = z.object({
  associated: z.array(id()).max(500),
  unassociated: z.array(id()).max(500),
});
