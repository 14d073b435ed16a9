/**
 * API tokens: `hd_<selector>_<verifier>`. The selector finds the row; only the sha256 of the
 * verifier is stored, and it is compared in constant time. A token is shown once.
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { now } from '../../clock';
import { conn } from '../../db/transaction';
import { ApiToken } from '../../models/ApiToken';
import { User } from '../../models/User';

const PATTERN = /^hd_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

/** Issues a new token for `userId` and returns it in clear (the only time it exists so). */
export async function createToken(opts: { userId: number; name?: string; trx?: Knex }): Promise<string> {
  const selector = crypto.randomBytes(12).toString('hex');
  const verifier = crypto.randomBytes(32).toString('base64url');
  await ApiToken.query(conn(opts.trx)).insert({
    user_id: opts.userId,
    selector,
    verifier_hash: sha256(verifier),
    name: opts.name ?? null,
    created_at: now(),
  });
  return `hd_${selector}_${verifier}`;
}

/** Revokes every token of `userId`; returns how many were active. */
export async function revokeTokens(opts: { userId: number; trx?: Knex }): Promise<number> {
  return ApiToken.query(conn(opts.trx)).patch({ revoked_at: now() }).where({ user_id: opts.userId }).whereNull('revoked_at');
}

/** The active user a bearer token belongs to, or undefined. */
export async function authenticate(token: string, trx?: Knex): Promise<User | undefined> {
  const m = PATTERN.exec(token);
  if (!m) return undefined;
  const [, selector, verifier] = m as unknown as [string, string, string];
  const row = await ApiToken.query(conn(trx)).findOne({ selector }).whereNull('revoked_at');
  const expected = Buffer.from(row?.verifier_hash ?? sha256('no such token'), 'hex');
  const given = Buffer.from(sha256(verifier), 'hex');
  if (!crypto.timingSafeEqual(expected, given) || !row) return undefined;
  const user = await User.query(conn(trx)).findById(row.user_id).where({ active: true });
  return user ?? undefined;
}

/** Whether some active admin holds a token that is not revoked (else nobody can administer through the API). */
export async function adminHasToken(trx?: Knex): Promise<boolean> {
  const row = await conn(trx)('api_tokens as t')
    .join('users as u', 'u.id', 't.user_id')
    .where({ 'u.role': 'admin', 'u.active': true })
    .whereNull('t.revoked_at')
    .first('t.id');
  return row !== undefined;
}
