/**
 * The CLI against a given DATABASE_URL: concurrent migrations, user and token commands,
 * and clear errors for bad configuration and usage.
 */
import { childEnv, runCli } from '../../helpers/cli';
import { admin, databaseUrl } from '../../helpers/testDatabase';

jest.setTimeout(120_000);

const name = `hd_test_${process.pid}_cli`;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  await admin(async (c) => {
    await c.query(`drop database if exists ${name} with (force)`);
    await c.query(`create database ${name}`);
  });
  env = childEnv({ DATABASE_URL: databaseUrl(name), HELPDESK_SECRET: 'cli-test-secret-0123456789' });
});

afterAll(async () => {
  await admin((c) => c.query(`drop database if exists ${name} with (force)`));
});

test('several processes can migrate at once', async () => {
  const results = await Promise.all([1, 2, 3].map(() => runCli(['migrate'], env)));
  expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
  const applied = results.filter((r) => r.stdout.startsWith('applied'));
  expect(applied).toHaveLength(1);
  expect(results.filter((r) => r.stdout.startsWith('nothing to do'))).toHaveLength(2);
});

test('user create prints only the token; bad input is a usage error', async () => {
  const ok = await runCli(['user', 'create', '--email', 'agent@example.test', '--name', 'Agent'], env);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/^hd_\S+\n$/);
  const dup = await runCli(['user', 'create', '--email', 'AGENT@example.test', '--name', 'Again'], env);
  expect(dup.code).not.toBe(0);
  expect(dup.stdout).toBe('');
  const bad = await runCli(['user', 'create', '--email', 'x@y.test'], env);
  expect(bad.code).toBe(64);
  expect(bad.stderr).toMatch(/--name is required/);
  const role = await runCli(['user', 'create', '--email', 'x@y.test', '--name', 'X', '--role', 'root'], env);
  expect(role.code).toBe(64);
  const nobody = await runCli(['token', 'create', '--email', 'nobody@example.test'], env);
  expect(nobody.code).toBe(64);
  expect(nobody.stderr).toMatch(/no user/);
});

test('a bad configuration value stops with a message naming the variable', async () => {
  const r = await runCli(['migrate'], { ...env, PORT: 'not-a-port' });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/PORT/);
  const unknown = await runCli(['frobnicate'], env);
  expect(unknown.code).toBe(64);
});

test('migrate --rollback undoes and migrate redoes', async () => {
  const back = await runCli(['migrate', '--rollback'], env);
  expect(back.code).toBe(0);
  expect(back.stdout).toMatch(/rolled back/);
  const again = await runCli(['migrate'], env);
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(/applied/);
});
