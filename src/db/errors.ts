/**
 * PostgreSQL errors mapped to domain errors in one place, by SQLSTATE, never by message.
 */
import { AppError, conflict, invalid } from '../errors';

export interface PgError {
  code?: string;
  constraint?: string;
  column?: string;
  table?: string;
}

/** Column names named by our constraints (`<table>_<column>_foreign`, `..._unique`). */
function fieldOf(err: PgError): string {
  if (err.column) return err.column;
  const m = /^[a-z_]+?_([a-z_]+?)_(foreign|unique|check)$/.exec(err.constraint ?? '');
  return m?.[1] ?? err.constraint ?? 'unknown';
}

/** The driver's error under Objection's wrapper, if any. */
export function pgError(e: unknown): PgError | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const native = (e as { nativeError?: unknown }).nativeError;
  return (native && typeof native === 'object' ? native : e) as PgError;
}

/** An AppError for a database error we understand, else undefined. */
export function mapDbError(e: unknown): AppError | undefined {
  const err = pgError(e) as PgError;
  if (!err || typeof err.code !== 'string') return undefined;
  switch (err.code) {
    case '23505':
      return conflict('that value is already taken', { constraint: err.constraint });
    case '23503':
      // insert/update naming a row that does not exist, or delete of a row still in use
      return new AppError(409, 'conflict', 'the change breaks a reference between records', {
        constraint: err.constraint,
      });
    case '23502':
      return invalid({ [fieldOf(err)]: 'is required' });
    case '23514':
      return invalid({ [fieldOf(err)]: 'is not an allowed value' });
    case '22001':
      return invalid({ value: 'is too long' });
    case '22021':
    case '22P05':
      // a NUL or bytes that are not text: the API checks input first, this is the backstop
      return invalid({ value: 'contains a character that is not allowed (NUL or invalid text)' });
    case '22003':
    case '22P02':
    case '22007':
    case '22008':
      return invalid({ value: 'is out of range or malformed' });
    default:
      return undefined;
  }
}

/** SQLSTATE classes and driver codes that mean the database cannot be reached right now. */
const CONNECTION_SQLSTATE = /^(08|57P)/;
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', '3D000']);

/**
 * Whether `e` says the database is unreachable (down, restarting, the connection lost),
 * not that this work is wrong: the caller backs off and records nothing. Keyed on error
 * codes and SQLSTATE classes (08 connection exception, 57P operator intervention), never
 * on message text. Knex's pool timeout is recognised by its class. node-postgres'
 * "Connection terminated unexpectedly" has no code: the failure path's own write then
 * meets the unreachable database and is recognised there (see ingest.ts).
 */
export function isConnectionError(e: unknown): boolean {
  for (
    let err = e as { code?: unknown; name?: string; nativeError?: unknown; cause?: unknown } | undefined, depth = 0;
    err && typeof err === 'object' && depth < 4;
    depth++
  ) {
    if (typeof err.code === 'string' && (CONNECTION_SQLSTATE.test(err.code) || CONNECTION_CODES.has(err.code))) return true;
    if (err.name === 'KnexTimeoutError') return true;
    err = (err.nativeError ?? err.cause) as typeof err;
  }
  return false;
}
