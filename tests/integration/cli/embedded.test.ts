/**
 * `npm start` on a machine with no database server: the embedded PostgreSQL, and the CLI
 * working beside the running server.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { childEnv, exited, runCli, startCli } from '../../helpers/cli';
import { FatalWait, waitFor } from '../../helpers/waitFor';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

jest.setTimeout(120_000);

/** `helpdesk start` on the embedded PostgreSQL with its data in `dataDir`, once the API answers. */
async function startEmbedded(dataDir: string) {
  const [httpPort, pgPort] = [await freePort(), await freePort()];
  const env = childEnv({
    DATABASE_URL: undefined,
    HELPDESK_SECRET: undefined,
    HELPDESK_DATA_DIR: dataDir,
    PORT: String(httpPort),
    EMBEDDED_PG_PORT: String(pgPort),
    LOG_LEVEL: 'info',
  });
  const server = startCli(['start'], env);
  const base = `http://127.0.0.1:${httpPort}/api`;
  try {
    await waitFor(
      async () => {
        if (server.child.exitCode !== null) throw new FatalWait(`helpdesk start exited: ${server.output()}`);
        return (await fetch(`${base}/health`)).ok;
      },
      { timeoutMs: 90_000, what: 'the api on the embedded postgres' },
    );
  } catch (e) {
    await stopEmbedded(server);
    throw e;
  }
  return { server, env, base };
}

/** Stops it with SIGTERM; it must exit 0. Returns what it printed. */
async function stopEmbedded(server: ReturnType<typeof startCli>): Promise<string> {
  server.child.kill('SIGTERM');
  const code = await exited(server.child);
  if (code !== 0) process.stdout.write(server.output().slice(-3000));
  expect(code).toBe(0);
  return server.output();
}

test('starts on the embedded PostgreSQL and creates a user with the CLI while running', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'helpdesk-embedded-'));
  fs.chmodSync(dataDir, 0o755); // the embedded server runs as the postgres user when we are root
  const { server, env, base } = await startEmbedded(dataDir);
  try {
    const created = await runCli(['user', 'create', '--email', 'owner@example.test', '--name', 'Owner', '--role', 'admin'], env);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^hd_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/);
    expect(created.stdout).toBe(`${token}\n`);

    const me = await fetch(`${base}/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ email: 'owner@example.test', role: 'admin' });

    const second = await runCli(['token', 'create', '--email', 'owner@example.test'], env);
    expect(second.code).toBe(0);
    const revoke = await runCli(['token', 'revoke', '--email', 'owner@example.test'], env);
    expect(revoke.code).toBe(0);
    const after = await fetch(`${base}/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(after.status).toBe(401);

    expect(fs.statSync(path.join(dataDir, 'embedded-postgres.json')).mode & 0o077).toBe(0);
  } finally {
    expect(await stopEmbedded(server)).toContain('embedded postgres stopped');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

// As root, from a folder the postgres user cannot enter (a checkout under /root, `mktemp -d`):
// the server's binaries and cluster go where it can reach them, and the API answers.
const asRoot = process.getuid?.() === 0 ? test : test.skip;
asRoot('starts as root from a 0700 folder', async () => {
  const closed = fs.mkdtempSync(path.join(os.tmpdir(), 'helpdesk-private-'));
  expect(fs.statSync(closed).mode & 0o777).toBe(0o700);
  const dataDir = path.join(closed, 'data');
  let home: string | undefined;
  try {
    const { server } = await startEmbedded(dataDir);
    try {
      const found = fs.readdirSync('/var/lib/helpdesk').map((d) => path.join('/var/lib/helpdesk', d));
      home = found.find(
        (d) => fs.existsSync(path.join(d, 'data-dir')) && fs.readFileSync(path.join(d, 'data-dir'), 'utf8').trim() === fs.realpathSync(dataDir),
      );
      expect(home).toBeDefined();
      expect(fs.existsSync(path.join(home!, 'postgres', 'PG_VERSION'))).toBe(true);
      expect(fs.existsSync(path.join(home!, 'native', 'bin', 'postgres'))).toBe(true);
      // the folder stayed closed: nothing was opened up to make it work
      expect(fs.statSync(closed).mode & 0o777).toBe(0o700);
    } finally {
      expect(await stopEmbedded(server)).not.toMatch(/unhandled|EACCES/i);
    }
  } finally {
    if (home) fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(closed, { recursive: true, force: true });
  }
});
