/**
 * Request schemas of the template routes; they validate and they document.
 */
import { z } from 'zod';
import { TEMPLATE_VARIABLES } from '../../../services/templates/variables';
import { id, queryId, text } from '../../validation';

const variables = `Variables: ${TEMPLATE_VARIABLES.map((v) => `{{${v}}}`).join(', ')}.`;
const html = () => z.string().min(1).max(200_000).describe(`HTML. ${variables}`);

/** The show's query: with ticket_id, the variables are resolved for that ticket. */
export const showTemplateQuery = z.object({ ticket_id: queryId().optional() });

export const replyTemplateBody = z.object({ name: text(), body: html() });

export const ticketTemplateBody = z.object({
  name: text(),
  subject: text(998).describe(variables),
  body: html(),
  priority_id: id().nullable().optional(),
  ticket_category_id: id().nullable().optional(),
  ticket_sub_category_id: id().nullable().optional(),
});
