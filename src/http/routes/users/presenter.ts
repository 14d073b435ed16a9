/**
 * A user (agent or admin) as the API shows it: SPEC §2's fields with the row's id and
 * times. Tokens live in their own table and leave only once, when issued.
 */
import type { User } from '../../../models/User';
import { type Presenter, presenter } from '../../present';

export const USER_FIELDS = ['id', 'name', 'email', 'alternate_emails', 'role', 'active', 'created_at', 'updated_at'] as const;

export const presentUser: Presenter<User> = presenter(USER_FIELDS);

/** The answer of a token issue: the token, shown this once, and whose it is. */
export function presentIssuedToken(token: string, userId: number): Record<string, unknown> {
  return { token, user_id: userId };
}
