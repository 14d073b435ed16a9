/**
 * `helpdesk user create` and `helpdesk token create|revoke`. `user create` and
 * `token create` print the new token on stdout and nothing else.
 */
import { config } from '../../config';
import { db } from '../../db/knex';
import { migrateLatest } from '../../db/migrate';
import { openDatabase } from '../../db/open';
import { createToken, revokeTokens } from '../../services/auth/tokens';
import { createUser, findUserByEmail } from '../../services/users/users';
import { UsageError, parse, required } from '../args';

async function withDatabase<T>(work: () => Promise<T>): Promise<T> {
  const database = await openDatabase(config());
  try {
    await migrateLatest(db());
    return await work();
  } finally {
    await database.close();
  }
}

export async function userCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'create') throw new UsageError('usage: helpdesk user create --email E --name N [--role admin|agent]');
  const { values } = parse(rest, {
    email: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string', default: 'agent' },
  });
  const email = required(values, 'email');
  const name = required(values, 'name');
  const role = values.role as string;
  if (role !== 'admin' && role !== 'agent') throw new UsageError('--role must be admin or agent');
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new UsageError('--email must be an email address');
  const token = await withDatabase(async () => {
    const user = await db().transaction(async (trx) => {
      const u = await createUser({ email, name, role }, trx);
      return { u, token: await createToken({ userId: u.id, name: 'cli', trx }) };
    });
    return user.token;
  });
  process.stdout.write(`${token}\n`);
  return 0;
}

export async function tokenCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'create' && sub !== 'revoke') throw new UsageError('usage: helpdesk token create|revoke --email E');
  const { values } = parse(rest, { email: { type: 'string' } });
  const email = required(values, 'email');
  return withDatabase(async () => {
    const user = await findUserByEmail(email);
    if (!user) throw new UsageError(`no user with email ${email}`);
    if (sub === 'create') {
      process.stdout.write(`${await createToken({ userId: user.id, name: 'cli' })}\n`);
    } else {
      const n = await revokeTokens({ userId: user.id });
      process.stderr.write(`revoked ${n} token(s) of ${user.email}\n`);
    }
    return 0;
  });
}
