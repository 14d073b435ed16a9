/**
 * Runs the real `helpdesk` binary (from the sources) as a child process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

export const BIN = path.resolve(__dirname, '../../bin/helpdesk');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment for a child: ours, with `overrides` applied (undefined removes a variable). */
export function childEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HELPDESK_FROM_SOURCE: '1' };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs `helpdesk ...args` to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`helpdesk ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts `helpdesk ...args` in the background. */
export function startCli(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return { child, output: () => output };
}

/** Resolves with the exit code once `child` exits. */
export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

/**
 * Starts `helpdesk start --roles ROLE --no-migrate` on the test database `databaseUrl`,
 * with `overrides` on top of the test environment.
 */
export function startRole(role: string, databaseUrl: string, overrides: Record<string, string | undefined> = {}) {
  const env = childEnv({ DATABASE_URL: databaseUrl, HELPDESK_SECRET: process.env.HELPDESK_SECRET, LOG_LEVEL: 'warn', ...overrides });
  return startCli(['start', '--roles', role, '--no-migrate'], env);
}
