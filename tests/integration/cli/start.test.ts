/**
 * What `helpdesk start` tells the person who ran it (its closing lines on stdout), and the
 * log format: JSON lines or pino-pretty's, chosen by LOG_FORMAT, secrets redacted in both.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adminHasToken, revokeTokens } from '../../../src/services/auth/tokens';
import { BIN, childEnv, exited } from '../../helpers/cli';
import { makeUser } from '../../helpers/factories';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { FatalWait, waitFor } from '../../helpers/waitFor';

const database = useTestDatabase();
jest.setTimeout(120_000);

const FIRST_ADMIN = 'npx helpdesk user create --email you@example.com --name "You" --role admin';
let dataDir: string;

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'helpdesk-start-'));
});
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

/** `node ...args` in the background, its stdout and stderr kept apart. */
function spawnNode(args: string[], env: NodeJS.ProcessEnv) {
  const child: ChildProcess = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => (out.stdout += d));
  child.stderr!.on('data', (d) => (out.stderr += d));
  return { child, out };
}

/** Starts on the test database (an API port the system picks), waits for the closing lines, stops. */
async function startAndStop(args: string[], overrides: Record<string, string>) {
  const env = childEnv({ DATABASE_URL: database.url(), HELPDESK_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', ...overrides });
  const { child, out } = spawnNode([BIN, 'start', ...args], env);
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new FatalWait(`helpdesk start exited: ${out.stdout}${out.stderr}`);
        return out.stdout.includes('data directory:') && out.stdout.endsWith('\n');
      },
      { timeoutMs: 60_000, what: 'the closing lines of the start-up' },
    );
    // the admin hint comes in the same write as the data directory; give a stray line a moment
    await new Promise((r) => setTimeout(r, 200));
    const url = /API (http:\/\/\S+), docs (http:\/\/\S+)/.exec(out.stdout);
    const [health, docs] = url ? await Promise.all([fetch(`${url[1]}/health`), fetch(url[2]!)]) : [];
    return { lines: out.stdout.trimEnd().split('\n'), url, health: health?.status, docs: docs?.status, docsType: docs?.headers.get('content-type'), out };
  } finally {
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  }
}

test('start ends with the API and docs URLs, the data directory and, while no admin has a token, how to make one', async () => {
  const first = await startAndStop([], { LOG_FORMAT: 'json' });
  expect(first.lines).toEqual([
    expect.stringMatching(/^helpdesk is running: API http:\/\/127\.0\.0\.1:\d+\/api, docs http:\/\/127\.0\.0\.1:\d+\/api\/docs$/),
    `data directory: ${dataDir}`,
    `no admin has an API token yet; make the first one with: ${FIRST_ADMIN}`,
  ]);
  expect(first.health).toBe(200);
  expect(first.docs).toBe(200);
  expect(first.docsType).toMatch(/text\/html/);

  await makeUser('admin');
  const second = await startAndStop(['--roles', 'api'], { LOG_FORMAT: 'json' });
  expect(second.lines).toEqual([expect.stringMatching(/^helpdesk is running: API /), `data directory: ${dataDir}`]);
});

test('only an active admin with a token that is not revoked counts as having one', async () => {
  const agent = await makeUser('agent');
  const admin = await makeUser('admin');
  expect(await adminHasToken()).toBe(true);
  await database.knex()('users').where({ role: 'admin' }).whereNot({ id: admin.user.id }).update({ active: false });
  await revokeTokens({ userId: admin.user.id });
  expect(await adminHasToken()).toBe(false);
  await database.knex()('users').where({ id: agent.user.id }).update({ role: 'admin', active: false });
  expect(await adminHasToken()).toBe(false);
  await database.knex()('users').where({ id: agent.user.id }).update({ active: true });
  expect(await adminHasToken()).toBe(true);
});

test('LOG_FORMAT=json: every stderr line is a JSON object; pretty: readable lines, none JSON', async () => {
  const json = await startAndStop(['--roles', 'api'], { LOG_FORMAT: 'json' });
  const jsonLines = json.out.stderr.trimEnd().split('\n');
  expect(jsonLines.length).toBeGreaterThan(1);
  for (const line of jsonLines) expect(JSON.parse(line)).toEqual(expect.objectContaining({ level: expect.any(Number), msg: expect.any(String) }));
  expect(jsonLines.map((l) => JSON.parse(l).msg)).toContain('api listening');

  const pretty = await startAndStop(['--roles', 'api'], { LOG_FORMAT: 'pretty' });
  const prettyLines = pretty.out.stderr.trimEnd().split('\n');
  expect(pretty.out.stderr).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: api listening$/m);
  expect(pretty.out.stderr).toMatch(/^ {4}port: \d+$/m);
  // not a terminal here: no colour codes in a forced pretty format
  expect(pretty.out.stderr).not.toContain('\u001b[');
  for (const line of prettyLines) expect(() => JSON.parse(line)).toThrow();
  // the lines on stdout are the same in both formats
  expect(pretty.lines.slice(1)).toEqual(json.lines.slice(1));
});

test('secrets are redacted in both formats', async () => {
  const script = `require('tsx/cjs');
const { logger } = require(${JSON.stringify(path.resolve(__dirname, '../../../src/logger.ts'))});
logger.info({ password: 'pw-1f2e', mailbox: { imap_password: 'pw-3d4c' }, authorization: 'Bearer pw-5b6a', smtpUrl: 'smtp://u:pw-7980@h' }, 'with secrets');`;
  for (const format of ['json', 'pretty']) {
    const { child, out } = spawnNode(['-e', script], childEnv({ LOG_FORMAT: format, LOG_LEVEL: 'info' }));
    expect(await exited(child)).toBe(0);
    expect(out.stderr).toContain('with secrets');
    expect(out.stderr).toContain('[redacted]');
    expect(out.stderr).not.toMatch(/pw-[0-9a-f]{4}/);
    if (format === 'json') expect(JSON.parse(out.stderr).password).toBe('[redacted]');
    else expect(out.stderr).toMatch(/^ {4}password: "\[redacted\]"$/m);
  }
});
