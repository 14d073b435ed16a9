/**
 * pino on stderr (stdout is kept for what commands print), secrets redacted. JSON lines,
 * or, for a person at a terminal (LOG_FORMAT, default `pretty` when stderr is a TTY),
 * pino-pretty's readable lines.
 */
import pino from 'pino';
import { prettyFactory } from 'pino-pretty';
import { config } from './config';

const redact = {
  paths: [
    'password',
    '*.password',
    'imap_password',
    '*.imap_password',
    'token',
    '*.token',
    'secret',
    '*.secret',
    'authorization',
    '*.authorization',
    'headers.authorization',
    'req.headers.authorization',
    'databaseUrl',
    'smtpUrl',
  ],
  censor: '[redacted]',
};

/**
 * pino-pretty run in this thread on each line pino wrote (so after redaction), written
 * synchronously like the JSON: a line logged just before `process.exit` is not lost, as
 * it could be with pino's transport worker.
 */
function prettyDestination(): pino.DestinationStream {
  const prettify = prettyFactory({
    colorize: Boolean(process.stderr.isTTY),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
  const out = pino.destination({ fd: 2, sync: true });
  return { write: (line: string) => out.write(prettify(line)) };
}

function build(): pino.Logger {
  let level = 'info';
  let format: 'pretty' | 'json' = process.stderr.isTTY ? 'pretty' : 'json';
  try {
    ({ logLevel: level, logFormat: format } = config());
  } catch {
    // a bad configuration is reported by the CLI; logging still works meanwhile
  }
  const destination = format === 'pretty' ? prettyDestination() : pino.destination({ fd: 2, sync: true });
  return pino({ level, redact, base: { pid: process.pid } }, destination);
}

/** The root logger; use `logger.child({...})` to carry request, mailbox or job context. */
export const logger: pino.Logger = build();

export type Logger = pino.Logger;

/** Hides the password of a URL before it is logged or shown. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
