/**
 * The one place that reads process.env. Every setting is validated at start; a bad value
 * stops the process with a message naming the variable.
 */
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { validate as validCron } from 'node-cron';
import { z } from 'zod';

const MB = 1024 * 1024;

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const seconds = (def: number) => z.coerce.number().positive().default(def);

/**
 * One DNS server of DNS_SERVERS as node's resolver takes it: `ip`, `ip:port` or
 * `[ipv6]:port`; undefined when it is none of these.
 */
export function dnsServer(entry: string): string | undefined {
  const s = entry.trim();
  const port = (p: string) => /^\d{1,5}$/.test(p) && Number(p) >= 1 && Number(p) <= 65535;
  if (net.isIP(s)) return s;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    const host = s.slice(1, close);
    return close > 0 && net.isIPv6(host) && s[close + 1] === ':' && port(s.slice(close + 2)) ? s : undefined;
  }
  const colon = s.lastIndexOf(':');
  return colon > 0 && net.isIPv4(s.slice(0, colon)) && port(s.slice(colon + 1)) ? s : undefined;
}

const schema = z
  .object({
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
    HELPDESK_DATA_DIR: z.string().min(1).default('./data'),
    BLOB_STORE: z.enum(['database', 'filesystem']).default('database'),
    BLOB_DIR: z.string().min(1).optional(),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: int(3000, 0).refine((p) => p < 65536, 'must be a port number'),
    HELPDESK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
      .optional(),
    MAIL_FROM: z.string().email().default('helpdesk@localhost'),
    MAIL_DOMAIN: z.string().min(1).optional(),
    CHROMIUM_PATH: z.string().min(1).default('/usr/bin/chromium'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
    IMAP_POLL_SECONDS: seconds(30),
    IMAP_BACKOFF_MAX_SECONDS: seconds(300),
    IMAP_BATCH_MESSAGES: int(400, 1),
    INBOUND_MAX_BYTES: int(50 * MB, 1),
    INBOUND_CPU_SECONDS: seconds(10),
    INBOUND_CPU_THREADS: int(Math.max(1, Math.min(4, os.availableParallelism())), 1),
    ATTACHMENT_MAX_BYTES: int(25 * MB, 1),
    UPLOAD_IDLE_SECONDS: seconds(30),
    JSON_BODY_MAX_BYTES: int(2 * MB, 1),
    AUTO_MAIL_PER_HOUR: int(10, 0),
    EMBEDDED_PG_PORT: int(54329, 1).refine((p) => p < 65536, 'must be a port number'),
    CONTENT_URL_TTL_SECONDS: seconds(7 * 24 * 3600),
    DB_POOL_MAX: int(10, 1),
    MAILER_POLL_SECONDS: seconds(1),
    MAILER_BATCH_SIZE: int(50, 1),
    MAILER_LEASE_SECONDS: seconds(300),
    MAILER_RETRY_BASE_SECONDS: seconds(60),
    MAILER_RETRY_MAX_DELAY_SECONDS: seconds(4 * 3600),
    MAILER_GIVE_UP_SECONDS: seconds(24 * 3600),
    SMTP_POOL_CONNECTIONS: int(5, 1),
    JOB_RUNS_KEEP_DAYS: int(14, 1),
    RAW_MAIL_KEEP_DAYS: int(0, 0),
    TLS_CA_FILE: z.string().min(1).optional(),
    DNS_SERVERS: z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((e) => e.trim())
          .filter(Boolean),
      )
      .refine((list) => list.length > 0 && list.every((e) => dnsServer(e) !== undefined), 'must be a comma-separated list of ip[:port] ([ipv6]:port)')
      .optional(),
  })
  .superRefine((env, ctx) => {
    if (env.DATABASE_URL && !env.HELPDESK_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['HELPDESK_SECRET'],
        message: 'is required when DATABASE_URL is set',
      });
    }
  });

export interface Config {
  readonly databaseUrl?: string;
  readonly dataDir: string;
  readonly blobStore: 'database' | 'filesystem';
  readonly blobDir: string;
  readonly host: string;
  readonly port: number;
  readonly secret?: string;
  readonly smtpUrl?: string;
  readonly mailFrom: string;
  readonly mailDomain: string;
  readonly chromiumPath: string;
  readonly logLevel: string;
  /** `pretty` (pino-pretty, for a person at a terminal) or `json` (JSON lines, for machines). */
  readonly logFormat: 'pretty' | 'json';
  readonly imapPollSeconds: number;
  readonly imapBackoffMaxSeconds: number;
  readonly imapBatchMessages: number;
  readonly inboundMaxBytes: number;
  /** Longest a message may take to be read (parse, strip, sanitize) before it is held as too complex. */
  readonly inboundCpuSeconds: number;
  /** Worker threads that read inbound messages. */
  readonly inboundCpuThreads: number;
  readonly attachmentMaxBytes: number;
  /** An upload that sends no bytes for this long is ended (408) and leaves nothing behind. */
  readonly uploadIdleSeconds: number;
  readonly jsonBodyMaxBytes: number;
  readonly autoMailPerHour: number;
  readonly embeddedPgPort: number;
  readonly contentUrlTtlSeconds: number;
  readonly dbPoolMax: number;
  /** How often an idle mailer looks for due messages. */
  readonly mailerPollSeconds: number;
  /** Messages claimed per transaction. */
  readonly mailerBatchSize: number;
  /** How long a claimed message is held before another mailer may take it (a crash). */
  readonly mailerLeaseSeconds: number;
  /** First retry delay of a temporary failure; it doubles up to the cap. */
  readonly mailerRetryBaseSeconds: number;
  readonly mailerRetryMaxDelaySeconds: number;
  /** A message still failing this long after it was queued fails for good. */
  readonly mailerGiveUpSeconds: number;
  readonly smtpPoolConnections: number;
  /** Schedules set by `SCHEDULE_<JOB>` variables (e.g. SCHEDULE_AUTO_CLOSURE), by variable name. */
  readonly schedules: Readonly<Record<string, string>>;
  /** How long the scheduler keeps its (job, slot) claims. */
  readonly jobRunsKeepDays: number;
  /**
   * Days a raw message is kept once its ticket is closed (or it has no ticket); 0 (the
   * default) keeps every raw message forever. Quarantined and failed mail is never removed.
   */
  readonly rawMailKeepDays: number;
  /** PEM file of certificate authorities trusted for IMAP and SMTP servers, beside the system's. */
  readonly tlsCaFile?: string;
  /**
   * DNS servers for checking inbound mail's authenticity (SPF, DKIM, DMARC, ARC), as
   * `ip`, `ip:port` or `[ipv6]:port`; undefined: the system's (/etc/resolv.conf).
   */
  readonly dnsServers?: readonly string[];
}

/** Raised when the environment holds a bad value; `problems` names each variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/**
 * Parses an environment (process.env by default) into a frozen Config. `terminal` says
 * whether the logs go to a terminal (stderr is a TTY): LOG_FORMAT defaults to `pretty`
 * there and to `json` anywhere else (a file, a pipe, journald, a container's log).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, terminal = Boolean(process.stderr.isTTY)): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const schedules: Record<string, string> = {};
  const badSchedules: string[] = [];
  for (const [key, value] of Object.entries(cleaned)) {
    if (!key.startsWith('SCHEDULE_') || value === undefined) continue;
    if (validCron(value)) schedules[key] = value;
    else badSchedules.push(`${key}: must be a cron expression such as "*/15 * * * *"`);
  }
  if (badSchedules.length) throw new ConfigError(badSchedules);
  const dataDir = path.resolve(e.HELPDESK_DATA_DIR);
  return Object.freeze({
    databaseUrl: e.DATABASE_URL,
    dataDir,
    blobStore: e.BLOB_STORE,
    blobDir: path.resolve(e.BLOB_DIR ?? path.join(dataDir, 'blobs')),
    host: e.HOST,
    port: e.PORT,
    secret: e.HELPDESK_SECRET,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    mailDomain: e.MAIL_DOMAIN ?? e.MAIL_FROM.split('@')[1]!,
    chromiumPath: e.CHROMIUM_PATH,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? (terminal ? 'pretty' : 'json'),
    imapPollSeconds: e.IMAP_POLL_SECONDS,
    imapBackoffMaxSeconds: e.IMAP_BACKOFF_MAX_SECONDS,
    imapBatchMessages: e.IMAP_BATCH_MESSAGES,
    inboundMaxBytes: e.INBOUND_MAX_BYTES,
    inboundCpuSeconds: e.INBOUND_CPU_SECONDS,
    inboundCpuThreads: e.INBOUND_CPU_THREADS,
    attachmentMaxBytes: e.ATTACHMENT_MAX_BYTES,
    uploadIdleSeconds: e.UPLOAD_IDLE_SECONDS,
    jsonBodyMaxBytes: e.JSON_BODY_MAX_BYTES,
    autoMailPerHour: e.AUTO_MAIL_PER_HOUR,
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    contentUrlTtlSeconds: e.CONTENT_URL_TTL_SECONDS,
    dbPoolMax: e.DB_POOL_MAX,
    mailerPollSeconds: e.MAILER_POLL_SECONDS,
    mailerBatchSize: e.MAILER_BATCH_SIZE,
    mailerLeaseSeconds: e.MAILER_LEASE_SECONDS,
    mailerRetryBaseSeconds: e.MAILER_RETRY_BASE_SECONDS,
    mailerRetryMaxDelaySeconds: e.MAILER_RETRY_MAX_DELAY_SECONDS,
    mailerGiveUpSeconds: e.MAILER_GIVE_UP_SECONDS,
    smtpPoolConnections: e.SMTP_POOL_CONNECTIONS,
    schedules,
    jobRunsKeepDays: e.JOB_RUNS_KEEP_DAYS,
    rawMailKeepDays: e.RAW_MAIL_KEEP_DAYS,
    tlsCaFile: e.TLS_CA_FILE ? path.resolve(e.TLS_CA_FILE) : undefined,
    dnsServers: e.DNS_SERVERS ? Object.freeze([...e.DNS_SERVERS]) : undefined,
  });
}

let current: Config | undefined;

/** The process's configuration, read from process.env on first use. */
export function config(): Config {
  current ??= loadConfig();
  return current;
}

/** Replaces the process's configuration (tests, and the CLI after it resolved defaults). */
export function setConfig(next: Config): void {
  current = next;
}
