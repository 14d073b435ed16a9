/**
 * The values template variables resolve to for one ticket.
 */
import type { Knex } from 'knex';
import { conn } from '../../db/transaction';
import type { Ticket } from '../../models/Ticket';
import type { TemplateValues } from '../templates/variables';

export async function ticketTemplateValues(trx: Knex | undefined, ticket: Ticket): Promise<TemplateValues> {
  const db = conn(trx);
  const [customer, contact, status, priority] = await Promise.all([
    db('customers').where({ id: ticket.ticketable_id }).first('name'),
    ticket.contact_id ? db('contacts').where({ id: ticket.contact_id }).first('name', 'email') : undefined,
    ticket.status_id ? db('ticket_statuses').where({ id: ticket.status_id }).first('name') : undefined,
    db('priorities').where({ id: ticket.priority_id }).first('name'),
  ]);
  return {
    'ticket.number': ticket.number,
    'ticket.subject': ticket.subject,
    'ticket.status': status?.name,
    'ticket.priority': priority?.name,
    'contact.name': contact?.name,
    'contact.email': contact?.email,
    'customer.name': customer?.name,
  };
}
