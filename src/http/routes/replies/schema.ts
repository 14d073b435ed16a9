/**
 * Request schemas of the reply routes; they validate and they document.
 */
import { z } from 'zod';
import { listQuery } from '../../listQuery';
import { queryId } from '../../validation';

export const replyListQuery = listQuery({ ticket_id: queryId() });

export const replyTicketQuery = z.object({ ticket_id: queryId() });

export const replyBody = z.object({
  body: z.string().max(1_000_000).describe('HTML, sanitized on save'),
  close: z.boolean().describe('close the ticket after the reply'),
  send_to_assignee: z.boolean().describe("mail the reply to the ticket's assignee"),
  send_to_contacts: z.boolean().describe("mail the reply to the ticket's contacts (makes it customer-visible)"),
  notify_team: z.boolean().optional().describe("mail the ticket's team (not persisted)"),
  notify_customer: z.boolean().optional().describe('same as send_to_contacts (not persisted)'),
  attachment_ids: z
    .array(z.number().int().positive())
    .max(100)
    .optional()
    .describe('attachments uploaded beforehand (to this ticket, or to nothing) that go with the reply and its mail'),
});
