/**
 * Contacts: people at a customer. One address is one person of one customer, compared
 * case-insensitively.
 */
import type { Knex } from 'knex';
import { conn, inTransaction } from '../../db/transaction';
import { AppError, invalid } from '../../errors';
import { type Page, type PageRequest, fetchModelPage } from '../../db/pagination';
import { Contact } from '../../models/Contact';
import { found } from '../lookup';
import { requireTicketable } from '../tickets/ticketRules';

export interface ContactFields {
  contactable_type?: string;
  contactable_id?: number;
  name?: string;
  email?: string;
}

async function assertEmailFree(t: Knex, email: string, exceptId?: number): Promise<void> {
  const q = t('contacts').whereRaw('lower(email) = lower(?)', [email]);
  if (exceptId) q.whereNot({ id: exceptId });
  const taken = await q.first('id');
  if (taken) {
    throw new AppError(409, 'email_taken', `another contact already uses ${email}`, {
      fields: { email: 'is already used by another contact' },
      contact_id: taken.id,
    });
  }
}

export async function listContacts(opts: { page: PageRequest; contactable_id?: number; email?: string }, trx?: Knex): Promise<Page<Contact>> {
  const q = Contact.query(conn(trx)).orderBy('id');
  if (opts.contactable_id) q.where({ contactable_id: opts.contactable_id });
  if (opts.email) q.whereRaw('lower(email) = lower(?)', [opts.email]);
  return fetchModelPage(q, opts.page);
}

export async function showContact(id: number, trx?: Knex): Promise<Contact> {
  return found(await Contact.query(conn(trx)).findById(id), 'contact', id);
}

export async function createContact(fields: Required<ContactFields>, trx?: Knex): Promise<Contact> {
  return inTransaction(trx, async (t) => {
    await requireTicketable(t, fields.contactable_type, fields.contactable_id);
    await assertEmailFree(t, fields.email);
    return Contact.query(t).insertAndFetch(fields);
  });
}

export async function updateContact(id: number, fields: ContactFields, trx?: Knex): Promise<Contact> {
  return inTransaction(trx, async (t) => {
    const contact = found(await Contact.query(t).findById(id).forUpdate(), 'contact', id);
    if (fields.contactable_type !== undefined || fields.contactable_id !== undefined) {
      await requireTicketable(t, fields.contactable_type ?? contact.contactable_type, fields.contactable_id ?? contact.contactable_id);
    }
    if (fields.email !== undefined) await assertEmailFree(t, fields.email, id);
    if (Object.keys(fields).length === 0) throw invalid({ body: 'name at least one field to change' });
    return contact.$query(t).patchAndFetch(fields);
  });
}

export async function deleteContact(id: number, trx?: Knex): Promise<void> {
  await inTransaction(trx, async (t) => {
    const contact = found(await Contact.query(t).findById(id).forUpdate(), 'contact', id);
    await contact.$query(t).delete();
  });
}
