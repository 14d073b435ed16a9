import type { Contact } from '../../../models/Contact';

export function presentContact(c: Contact): Record<string, unknown> {
  return {
    id: c.id,
    contactable_type: c.contactable_type,
    contactable_id: c.contactable_id,
    name: c.name,
    email: c.email,
    created_at: c.created_at,
    updated_at: c.updated_at,
  };
}
