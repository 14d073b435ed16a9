/**
 * A real Dovecot IMAP server for the tests: a throwaway config and folder, a static
 * password (any user name logs in, so each test can use a fresh user), plain IMAP on a
 * free port of 127.0.0.1. Stop and start it again to test outages.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';

export const DOVECOT_PASSWORD = 'secret';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export class Dovecot {
  private constructor(
    readonly dir: string,
    readonly port: number,
    /** With `tls`: the implicit-TLS (imaps) port and the server's self-signed certificate. */
    readonly tlsPort?: number,
    readonly certificatePem?: string,
  ) {}

  /**
   * With `tls: true` the server has a self-signed certificate for 127.0.0.1, offers
   * STARTTLS on `port`, speaks TLS from the start on `tlsPort`, and refuses to log anyone in
   * over a connection that is not encrypted. `maxLineLength` sets the longest command line
   * the server takes (`imap_max_line_length`, Dovecot's default 64k), such as the 8k that
   * RFC 7162 asks clients to keep to.
   */
  static async start(opts: { tls?: boolean; maxLineLength?: string } = {}): Promise<Dovecot> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dovecot-'));
    fs.chmodSync(dir, 0o755);
    for (const sub of ['run', 'state', 'home']) fs.mkdirSync(path.join(dir, sub));
    execFileSync('chown', ['mail:mail', path.join(dir, 'home')]);
    const port = await freePort();
    const tlsPort = opts.tls ? await freePort() : undefined;
    if (opts.tls) {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '2',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          path.join(dir, 'key.pem'),
          '-out',
          path.join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
    }
    const tlsConfig = opts.tls
      ? `ssl = required
ssl_cert = <${dir}/cert.pem
ssl_key = <${dir}/key.pem
disable_plaintext_auth = yes`
      : `ssl = no
disable_plaintext_auth = no`;
    fs.writeFileSync(
      path.join(dir, 'dovecot.conf'),
      `listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap
${tlsConfig}
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_fsync = never
default_login_user = dovenull
default_internal_user = dovecot
passdb {
  driver = static
  args = password=${DOVECOT_PASSWORD}
}
userdb {
  driver = static
  args = uid=mail gid=mail home=${dir}/home/%u
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${tlsPort ?? 0}
    ssl = yes
  }
}
protocol imap {
  mail_max_userip_connections = 500
  imap_max_line_length = ${opts.maxLineLength ?? '64k'}
}
`,
    );
    const server = new Dovecot(dir, port, tlsPort, opts.tls ? fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8') : undefined);
    await server.resume();
    return server;
  }

  /** Starts (again) the server on the same port and folder. */
  async resume(): Promise<void> {
    // stdio ignored: the daemon keeps inherited pipes open, which would block execFileSync
    execFileSync('dovecot', ['-c', path.join(this.dir, 'dovecot.conf')], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !(await portOpen(this.port)); i++) await new Promise((r) => setTimeout(r, 50));
  }

  /** The server's master process and every process it started (sessions, logins). */
  private processes(): number[] {
    const pidFile = path.join(this.dir, 'run', 'master.pid');
    if (!fs.existsSync(pidFile)) return [];
    const master = Number(fs.readFileSync(pidFile, 'utf8'));
    const pairs = execFileSync('ps', ['-eo', 'pid=,ppid='])
      .toString()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number));
    return [master, ...pairs.filter(([, ppid]) => ppid === master).map(([pid]) => pid!)];
  }

  /** Freezes the server (SIGSTOP): its connections stay open and nothing answers, as a stalled server. */
  freeze(): void {
    for (const pid of this.processes()) process.kill(pid, 'SIGSTOP');
  }

  /** Lets a frozen server run on. */
  thaw(): void {
    for (const pid of this.processes()) process.kill(pid, 'SIGCONT');
  }

  /** Stops the server and every session it serves, as an outage would (its mail stays). */
  async stop(): Promise<void> {
    const pidFile = path.join(this.dir, 'run', 'master.pid');
    if (!fs.existsSync(pidFile)) return;
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    const children = execFileSync('ps', ['-eo', 'pid=,ppid='])
      .toString()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number))
      .filter(([, ppid]) => ppid === pid)
      .map(([child]) => child!);
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    // Dovecot lets sessions it already handed to imap processes run on: end them too
    for (const child of children) {
      try {
        process.kill(child, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  async destroy(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** A connected client for `user`. */
  async client(user: string): Promise<ImapFlow> {
    const c = new ImapFlow({
      host: '127.0.0.1',
      port: this.port,
      secure: false,
      auth: { user, pass: DOVECOT_PASSWORD },
      logger: false,
      ...(this.certificatePem ? { tls: { ca: [this.certificatePem] } } : {}),
    });
    await c.connect();
    return c;
  }

  /** Appends raw messages to a user's folder; returns their UIDs. */
  async append(user: string, messages: Buffer[], folder = 'INBOX', flags: string[] = []): Promise<number[]> {
    const c = await this.client(user);
    try {
      const uids: number[] = [];
      for (const m of messages) {
        const r = await c.append(folder, m, flags);
        if (r && typeof r === 'object' && 'uid' in r && r.uid) uids.push(Number(r.uid));
      }
      return uids;
    } finally {
      await c.logout();
    }
  }

  /**
   * Writes messages straight into `user`'s Maildir as files (home=DIR/home/%u,
   * mail_location maildir:~/Maildir): thousands take seconds, where APPEND takes minutes,
   * and bytes IMAP would refuse (NUL) go in as they are. Unread ones go to new/, those
   * `seen(i)` says were read to cur/ with the S flag. Dovecot numbers them when a client
   * next opens the folder, in file name order (time, then the M number): UIDs follow `i`.
   */
  /** The folder of a user's Maildir (INBOX), where writeMaildir puts messages. */
  maildir(user: string): string {
    return path.join(this.dir, 'home', user, 'Maildir');
  }

  writeMaildir(user: string, messages: (Buffer | string)[], seen: (i: number) => boolean = () => false): void {
    const home = path.join(this.dir, 'home', user);
    const maildir = this.maildir(user);
    for (const sub of ['cur', 'new', 'tmp']) fs.mkdirSync(path.join(maildir, sub), { recursive: true });
    const time = Math.floor(Date.now() / 1000);
    messages.forEach((m, i) => {
      const name = `${time}.M${String(i).padStart(6, '0')}P${process.pid}.test`;
      fs.writeFileSync(seen(i) ? path.join(maildir, 'cur', `${name}:2,S`) : path.join(maildir, 'new', name), m);
    });
    execFileSync('chown', ['-R', 'mail:mail', home]);
  }

  /** UIDs and flags of a user's folder. */
  async list(user: string, folder = 'INBOX'): Promise<{ uid: number; flags: string[] }[]> {
    const c = await this.client(user);
    try {
      const box = await c.mailboxOpen(folder);
      if (!box.exists) return [];
      const out: { uid: number; flags: string[] }[] = [];
      for await (const m of c.fetch('1:*', { uid: true, flags: true })) out.push({ uid: m.uid, flags: [...(m.flags ?? [])] });
      return out;
    } finally {
      await c.logout();
    }
  }
}

/** Installs Debian's dovecot-imapd when the machine lacks it (fresh CI machines). */
export function ensureDovecotInstalled(): void {
  try {
    execFileSync('which', ['dovecot'], { stdio: 'ignore' });
    return;
  } catch {
    // not installed
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 });
  execFileSync('apt-get', ['install', '-y', 'dovecot-imapd'], { stdio: 'ignore', env, timeout: 300_000 });
}
