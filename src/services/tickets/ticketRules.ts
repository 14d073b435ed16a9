/**
 * Checks shared by creating and updating a ticket: every id in the body must exist (400
 * naming the field), the sub-category must belong to the category, the contact to the
 * customer; the customer itself (`ticketable_*`) answers 404.
 */
import type { Knex } from 'knex';
import { AppError, invalid, notFound } from '../../errors';
import { conn } from '../../db/transaction';
import { requireReference } from '../lookup';

export const CUSTOMER_TYPE = 'App\\Customer';

/** 400 for a type other than App\Customer, 404 for an unknown customer. */
export async function requireTicketable(trx: Knex | undefined, type: string, id: number): Promise<void> {
  if (type !== CUSTOMER_TYPE) {
    throw new AppError(400, 'invalid_ticketable_type', `ticketable_type must be ${CUSTOMER_TYPE}`, {
      fields: { ticketable_type: `must be ${CUSTOMER_TYPE}` },
    });
  }
  const row = await conn(trx)('customers').where({ id }).first('id');
  if (!row) throw notFound('customer', id);
}

export interface TicketRefs {
  priority_id?: number | null;
  ticket_category_id?: number | null;
  ticket_sub_category_id?: number | null;
  status_id?: number | null;
  team_id?: number | null;
  contract_id?: number | null;
  assignee_id?: number | null;
  contact_id?: number | null;
}

/** Validates every reference of a ticket as it will be after the change. */
export async function checkTicketRefs(trx: Knex | undefined, refs: TicketRefs, customerId: number): Promise<void> {
  await requireReference(trx, 'priorities', refs.priority_id, 'priority_id');
  await requireReference(trx, 'ticket_categories', refs.ticket_category_id, 'ticket_category_id');
  await requireReference(trx, 'ticket_statuses', refs.status_id, 'status_id');
  await requireReference(trx, 'support_teams', refs.team_id, 'team_id');
  await requireReference(trx, 'support_contracts', refs.contract_id, 'contract_id');
  await requireReference(trx, 'users', refs.assignee_id, 'assignee_id');
  if (refs.ticket_sub_category_id) {
    const sub = await conn(trx)('ticket_sub_categories').where({ id: refs.ticket_sub_category_id }).first();
    if (!sub) throw invalid({ ticket_sub_category_id: `no ticket sub categories with id ${refs.ticket_sub_category_id}` });
    if (refs.ticket_category_id && sub.ticket_category_id !== refs.ticket_category_id) {
      throw invalid({ ticket_sub_category_id: 'does not belong to ticket_category_id' });
    }
  }
  if (refs.contact_id) {
    const contact = await conn(trx)('contacts').where({ id: refs.contact_id }).first();
    if (!contact) throw invalid({ contact_id: `no contacts with id ${refs.contact_id}` });
    if (contact.contactable_id !== customerId) throw invalid({ contact_id: "is not a contact of the ticket's customer" });
  }
}
