/**
 * pino, JSON lines on stderr (stdout is kept for what commands print), secrets redacted.
 */
import pino from 'pino';
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

function build(): pino.Logger {
  let level = 'info';
  try {
    level = config().logLevel;
  } catch {
    // a bad configuration is reported by the CLI; logging still works meanwhile
  }
  return pino({ level, redact, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
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
