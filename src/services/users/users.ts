/**
 * Agents and admins.
 */
import type { Knex } from 'knex';
import { conn, inTransaction } from '../../db/transaction';
import { AppError, conflict } from '../../errors';
import { type Page, type PageRequest, fetchModelPage } from '../../db/pagination';
import { type Role, User } from '../../models/User';
import { found } from '../lookup';

export interface UserFields {
  name?: string;
  email?: string;
  alternate_emails?: string[];
  role?: Role;
  active?: boolean;
}

const normalize = (emails: string[]) => [...new Set(emails.map((e) => e.trim().toLowerCase()))];

async function assertEmailFree(t: Knex, email: string, exceptId?: number): Promise<void> {
  const q = t('users').whereRaw('lower(email) = lower(?)', [email]);
  if (exceptId) q.whereNot({ id: exceptId });
  if (await q.first('id')) {
    throw new AppError(409, 'email_taken', `another user already uses ${email}`, {
      fields: { email: 'is already used by another user' },
    });
  }
}

export async function findUserByEmail(email: string, trx?: Knex): Promise<User | undefined> {
  return User.query(conn(trx)).whereRaw('lower(email) = lower(?)', [email]).first();
}

export async function listUsers(opts: { page: PageRequest }, trx?: Knex): Promise<Page<User>> {
  return fetchModelPage(User.query(conn(trx)).orderBy('id'), opts.page);
}

export async function showUser(id: number, trx?: Knex): Promise<User> {
  return found(await User.query(conn(trx)).findById(id), 'user', id);
}

export async function createUser(fields: Required<Pick<UserFields, 'name' | 'email'>> & UserFields, trx?: Knex) {
  return inTransaction(trx, async (t) => {
    await assertEmailFree(t, fields.email);
    return User.query(t).insertAndFetch({
      name: fields.name,
      email: fields.email.toLowerCase(),
      alternate_emails: normalize(fields.alternate_emails ?? []),
      role: fields.role ?? 'agent',
      active: fields.active ?? true,
    });
  });
}

/** Counts admins other than `exceptId` who can still sign in. */
async function otherActiveAdmins(t: Knex, exceptId: number): Promise<number> {
  const [{ n }] = await t('users').where({ role: 'admin', active: true }).whereNot({ id: exceptId }).count({ n: '*' });
  return Number(n);
}

export async function updateUser(id: number, fields: UserFields, trx?: Knex): Promise<User> {
  return inTransaction(trx, async (t) => {
    const user = found(await User.query(t).findById(id).forUpdate(), 'user', id);
    if (fields.email !== undefined) await assertEmailFree(t, fields.email, id);
    const losesAdmin = user.role === 'admin' && (fields.role === 'agent' || fields.active === false);
    if (losesAdmin && (await otherActiveAdmins(t, id)) === 0) throw conflict('the last active admin must stay an active admin');
    const patch: Partial<User> = { ...fields };
    if (fields.email) patch.email = fields.email.toLowerCase();
    if (fields.alternate_emails) patch.alternate_emails = normalize(fields.alternate_emails);
    return user.$query(t).patchAndFetch(patch);
  });
}

export async function deleteUser(id: number, trx?: Knex): Promise<void> {
  await inTransaction(trx, async (t) => {
    const user = found(await User.query(t).findById(id).forUpdate(), 'user', id);
    if (user.role === 'admin' && (await otherActiveAdmins(t, id)) === 0) throw conflict('the last active admin cannot be deleted');
    await user.$query(t).delete();
  });
}
