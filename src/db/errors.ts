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
    case '22003':
    case '22P02':
    case '22007':
    case '22008':
      return invalid({ value: 'is out of range or malformed' });
    default:
      return undefined;
  }
}
