/**
 * Customers: the organisations tickets, contacts and contracts belong to.
 * `email_domains` lets mail from a new address at that domain become a contact.
 */
import type { Knex } from 'knex';
import { conn, inTransaction } from '../../db/transaction';
import { conflict } from '../../errors';
import { type Page, type PageRequest, fetchModelPage } from '../../db/pagination';
import { Customer } from '../../models/Customer';
import { found } from '../lookup';

export interface CustomerFields {
  name?: string;
  email_domains?: string[];
}

const normalizeDomains = (domains: string[]) => [...new Set(domains.map((d) => d.trim().toLowerCase()))];

export async function listCustomers(opts: { page: PageRequest; search?: string }, trx?: Knex): Promise<Page<Customer>> {
  const q = Customer.query(conn(trx)).orderBy('id');
  if (opts.search) q.where('name', 'ilike', `%${opts.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  return fetchModelPage(q, opts.page);
}

export async function showCustomer(id: number, trx?: Knex): Promise<Customer> {
  return found(await Customer.query(conn(trx)).findById(id).withGraphFetched('contacts'), 'customer', id);
}

export async function createCustomer(fields: Required<Pick<CustomerFields, 'name'>> & CustomerFields, trx?: Knex) {
  return Customer.query(conn(trx)).insertAndFetch({
    name: fields.name,
    email_domains: normalizeDomains(fields.email_domains ?? []),
  });
}

export async function updateCustomer(id: number, fields: CustomerFields, trx?: Knex): Promise<Customer> {
  return inTransaction(trx, async (t) => {
    const customer = found(await Customer.query(t).findById(id).forUpdate(), 'customer', id);
    const patch: Partial<Customer> = {};
    if (fields.name !== undefined) patch.name = fields.name;
    if (fields.email_domains !== undefined) patch.email_domains = normalizeDomains(fields.email_domains);
    return customer.$query(t).patchAndFetch(patch);
  });
}

/** Deletes a customer and its contacts; refused (409) while tickets belong to it. */
export async function deleteCustomer(id: number, trx?: Knex): Promise<void> {
  await inTransaction(trx, async (t) => {
    const customer = found(await Customer.query(t).findById(id).forUpdate(), 'customer', id);
    const tickets = await t('tickets').where({ ticketable_id: id }).first('id');
    if (tickets) throw conflict('the customer still has tickets; delete or move them first');
    await customer.$query(t).delete();
  });
}
