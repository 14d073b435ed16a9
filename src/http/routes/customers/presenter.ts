import type { Customer } from '../../../models/Customer';
import { presentContact } from '../contacts/presenter';

/** A customer, with its contacts when loaded. */
export function presentCustomer(c: Customer): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: c.id,
    name: c.name,
    email_domains: c.email_domains,
    created_at: c.created_at,
    updated_at: c.updated_at,
  };
  if (c.contacts) out.contacts = c.contacts.map(presentContact);
  return out;
}
