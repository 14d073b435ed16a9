import type { User } from '../../../models/User';

export function presentUser(u: User): Record<string, unknown> {
  return {
    id: u.id,
    name: u.name,
    email: u.email,
    alternate_emails: u.alternate_emails,
    role: u.role,
    active: u.active,
    created_at: u.created_at,
    updated_at: u.updated_at,
  };
}
