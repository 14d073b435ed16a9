/**
 * The values template variables resolve to for one ticket.
 */
import type { Knex } from 'knex';
import { conn } from '../../db/transaction';
import type { Ticket } from '../../models/Ticket';
import type { TemplateValues } from '../templates/variables';

export interface TicketNames {
  contact?: { name: string; email: string };
  customer?: string | null;
  status?: string | null;
  priority?: string | null;
}

/** The values from a ticket and the names it refers to, already loaded. */
export function ticketTemplateValuesFrom(ticket: Pick<Ticket, 'number' | 'subject'>, names: TicketNames): TemplateValues {
  return {
    'ticket.number': ticket.number,
    'ticket.subject': ticket.subject,
    'ticket.status': names.status,
    'ticket.priority': names.priority,
    'contact.name': names.contact?.name,
    'contact.email': names.contact?.email,
    'customer.name': names.customer,
  };
}

export async function ticketTemplateValues(trx: Knex | undefined, ticket: Ticket): Promise<TemplateValues> {
  const db = conn(trx);
  const [customer, contact, status, priority] = await Promise.all([
    db('customers').where({ id: ticket.ticketable_id }).first('name'),
    ticket.contact_id ? db('contacts').where({ id: ticket.contact_id }).first('name', 'email') : undefined,
    ticket.status_id ? db('ticket_statuses').where({ id: ticket.status_id }).first('name') : undefined,
    db('priorities').where({ id: ticket.priority_id }).first('name'),
  ]);
  return ticketTemplateValuesFrom(ticket, { contact, customer: customer?.name, status: status?.name, priority: priority?.name });
}
