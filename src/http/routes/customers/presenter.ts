/**
 * A customer as the API shows it (SPEC §2's fields with the row's id and times).
 */
import type { Customer } from '../../../models/Customer';
import { type Presenter, presenter } from '../../present';
import { presentContact } from '../contacts/presenter';

/** `contacts` only where loaded (the show). */
export const CUSTOMER_FIELDS = ['id', 'name', 'email_domains', 'created_at', 'updated_at', 'contacts'] as const;

/** A customer, with its contacts when loaded. */
export const presentCustomer: Presenter<Customer> = presenter(CUSTOMER_FIELDS, {
  contacts: (c) => c.contacts?.map(presentContact),
});
