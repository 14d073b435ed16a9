/**
 * Ticket and reply templates: canned texts with template variables, checked when saved
 * (an unknown variable or a syntax error is a 400 then, not a surprise when sent) and
 * resolved against a ticket when shown with one.
 */
import type { Knex } from 'knex';
import { invalid } from '../../errors';
import { ReplyTemplate } from '../../models/ReplyTemplate';
import { TicketTemplate } from '../../models/TicketTemplate';
import { crud } from '../crud';
import { sanitizeBody, stripTags } from '../html/sanitize';
import { requireReference } from '../lookup';
import { loadTicket } from '../tickets/loadTicket';
import { ticketTemplateValues } from '../tickets/templateValues';
import { type TemplateValues, resolveVariables, templateProblems } from './variables';

function checkVariables(fields: Record<string, unknown>, names: string[]): void {
  const problems: Record<string, string> = {};
  for (const name of names) {
    if (typeof fields[name] !== 'string') continue;
    const found = templateProblems(fields[name] as string);
    if (found.length) problems[name] = found.join('; ');
  }
  if (Object.keys(problems).length) throw invalid(problems, 'the template does not compile');
}

export const replyTemplates = crud<ReplyTemplate>({
  model: ReplyTemplate,
  what: 'reply template',
  prepare: async (_trx, fields) => {
    checkVariables(fields, ['body']);
    return fields.body === undefined ? fields : { ...fields, body: sanitizeBody(fields.body as string) };
  },
});

export const ticketTemplates = crud<TicketTemplate>({
  model: TicketTemplate,
  what: 'ticket template',
  prepare: async (trx: Knex, fields) => {
    checkVariables(fields, ['subject', 'body']);
    await requireReference(trx, 'priorities', fields.priority_id as number | undefined, 'priority_id');
    await requireReference(trx, 'ticket_categories', fields.ticket_category_id as number | undefined, 'ticket_category_id');
    await requireReference(trx, 'ticket_sub_categories', fields.ticket_sub_category_id as number | undefined, 'ticket_sub_category_id');
    const out = { ...fields };
    if (typeof out.subject === 'string') out.subject = stripTags(out.subject);
    if (typeof out.body === 'string') out.body = sanitizeBody(out.body);
    return out;
  },
});

/** The values for resolving a template against ticket `ticketId` written by agent `agent`. */
export async function valuesFor(
  ticketId: number,
  agent: { name: string; email: string },
  trx?: Knex,
): Promise<TemplateValues> {
  const ticket = await loadTicket(trx, ticketId);
  return { ...(await ticketTemplateValues(trx, ticket)), 'agent.name': agent.name, 'agent.email': agent.email };
}

/** A template's texts with the variables resolved. */
export function resolveTemplate<T extends { body: string; subject?: string }>(template: T, values: TemplateValues): T {
  return {
    ...template,
    body: resolveVariables(template.body, values),
    ...(template.subject !== undefined ? { subject: resolveVariables(template.subject, values) } : {}),
  };
}
