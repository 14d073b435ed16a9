/**
 * IMAP connections for a mailbox, through imapflow, with our logger and timeouts.
 */
import { ImapFlow } from 'imapflow';
import { config } from '../../config';
import type { Logger } from '../../logger';
import { logger as rootLogger } from '../../logger';
import type { Mailbox } from '../../models/Mailbox';
import { imapPassword } from '../../services/mailboxes/mailboxes';
import { mailTlsOptions } from '../tls';

/**
 * imapflow's logger interface on top of pino, at debug level (it is chatty). isLevelEnabled
 * tells imapflow when nobody reads its debug lines: otherwise it serializes every command
 * and response for them (a FETCH of 5,000 UIDs, a SEARCH answering 5,000) on the event loop.
 */
function imapLogger(log: Logger) {
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (obj: unknown) => {
    const entry = obj as { msg?: string; err?: unknown };
    log[level]({ imap: { ...(entry as object), msg: undefined } }, `imap: ${entry?.msg ?? ''}`);
  };
  const levels: Record<string, 'debug' | 'warn' | 'error'> = { debug: 'debug', info: 'debug', warn: 'warn', error: 'error', fatal: 'error' };
  return {
    debug: at('debug'),
    info: at('debug'),
    warn: at('warn'),
    error: at('error'),
    // trace (every FETCH response) has no method here: never logged
    isLevelEnabled: (level: string) => levels[level] !== undefined && log.isLevelEnabled(levels[level]),
  };
}

/** Room over INBOUND_MAX_BYTES for a message's bytes and the size the server gave disagreeing a little. */
const LITERAL_MARGIN_BYTES = 1024 * 1024;
/** The longest line a server may send: a SEARCH answer names every UID of a mailbox (8 bytes each at ten million). */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * What one response may weigh (imapflow's defaults are 1 GB a literal, 1 GB a line, 2 GB a
 * response). A message's bytes are fetched whole only when the size the server gave is
 * within INBOUND_MAX_BYTES (otherwise only its start is): a larger literal is a server
 * whose sizes lie, and the connection fails rather than hold it. That FETCH counts a failed
 * attempt for the message, which is held without its bytes after MAX_ATTEMPTS (see
 * mailboxWorker.ts), so the mailbox moves on.
 */
function responseLimits() {
  const maxLiteralSize = config().inboundMaxBytes + LITERAL_MARGIN_BYTES;
  return { maxLiteralSize, maxLineLength: MAX_LINE_BYTES, maxResponseSize: maxLiteralSize + MAX_LINE_BYTES };
}

/** A client for the mailbox's account (not yet connected). */
export function imapClient(mailbox: Mailbox, log: Logger = rootLogger, opts: { verifyOnly?: boolean } = {}): ImapFlow {
  if (!mailbox.imap_host || !mailbox.imap_username) throw new Error('the mailbox has no IMAP host or username');
  return new ImapFlow({
    host: mailbox.imap_host,
    port: mailbox.imap_port,
    secure: mailbox.imap_secure,
    auth: { user: mailbox.imap_username, pass: imapPassword(mailbox) ?? '' },
    logger: imapLogger(log) as never,
    disableAutoIdle: true,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 5 * 60_000,
    ...responseLimits(),
    verifyOnly: opts.verifyOnly ?? false,
    // secure: TLS from the start; otherwise imapflow upgrades with STARTTLS when offered
    tls: mailTlsOptions(),
  });
}

export interface LoginTestResult {
  ok: boolean;
  greeting?: string;
  capabilities?: string[];
  error?: string;
}

/** Tries the login and answers with what the server said. */
export async function testImapLogin(mailbox: Mailbox): Promise<LoginTestResult> {
  let client: ImapFlow | undefined;
  try {
    client = imapClient(mailbox, rootLogger.child({ mailbox_id: mailbox.id }), { verifyOnly: false });
    await client.connect();
    const result: LoginTestResult = { ok: true, greeting: client.greeting, capabilities: [...client.capabilities.keys()] };
    await client.logout();
    return result;
  } catch (e) {
    const err = e as { message?: string; responseText?: string; serverResponseCode?: string };
    client?.close();
    return { ok: false, greeting: client?.greeting, error: err.responseText ?? err.message ?? String(e) };
  }
}
