/**
 * zod helpers shared by every route schema, and the translation of zod issues into the
 * spec's 400 (`details.fields` names each bad field).
 */
import { z } from 'zod';
import { parseDate, parseDateTime, parseDayMonthYear } from '../datetime';
import { AppError, invalid } from '../errors';

/** Validates `value` against `schema`, or throws 400 naming every bad field. */
export function validate<T>(schema: z.ZodType<T>, value: unknown, where: 'body' | 'query'): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const fields: Record<string, string> = {};
  for (const issue of parsed.error.issues) {
    const key = issue.path.length ? issue.path.join('.') : where;
    fields[key] ??= issue.message;
  }
  throw invalid(fields, `invalid ${where}: ${Object.keys(fields).join(', ')}`);
}

/** A positive integer id from a path segment, or 404 for `what`. */
export function pathId(raw: string | undefined, what: string): number {
  if (raw === undefined || !/^[1-9][0-9]{0,9}$/.test(raw) || Number(raw) > 2_147_483_647) {
    throw new AppError(404, 'not_found', `${what} ${raw ?? ''} not found`.replace(/\s+$/, ''), {
      resource: what,
      id: raw,
    });
  }
  return Number(raw);
}

/** A database id. */
export const id = () => z.number().int().positive().max(2_147_483_647);

/** An id in a query string. */
export const queryId = () => z.coerce.number().int().positive().max(2_147_483_647);

/** `true`/`false`/`1`/`0` in a query string. */
export const queryBool = () =>
  z
    .enum(['true', 'false', '1', '0', ''])
    .transform((v) => v === 'true' || v === '1')
    .describe('true or false');

/** `Y-m-d H:i:s` in UTC, parsed to a Date. */
export const dateTime = () =>
  z
    .string()
    .transform((s, ctx) => {
      const d = parseDateTime(s);
      if (!d) ctx.addIssue({ code: 'custom', message: 'must be a datetime as Y-m-d H:i:s' });
      return d as Date;
    })
    .meta({ format: 'Y-m-d H:i:s', example: '2026-11-27 14:00:00' });

/** `Y-m-d`, parsed to midnight UTC. */
export const date = () =>
  z
    .string()
    .transform((s, ctx) => {
      const d = parseDate(s);
      if (!d) ctx.addIssue({ code: 'custom', message: 'must be a date as Y-m-d' });
      return d as Date;
    })
    .meta({ format: 'Y-m-d', example: '2026-11-27' });

/** `d/m/Y`, parsed to midnight UTC. */
export const dayMonthYear = () =>
  z
    .string()
    .transform((s, ctx) => {
      const d = parseDayMonthYear(s);
      if (!d) ctx.addIssue({ code: 'custom', message: 'must be a date as d/m/Y' });
      return d as Date;
    })
    .meta({ format: 'd/m/Y', example: '27/11/2026' });

/** A trimmed, non-empty string of at most `max` characters. */
export const text = (max = 255) => z.string().trim().min(1, 'must not be empty').max(max);

/** An email address, lower-cased. */
export const email = () => z.string().trim().toLowerCase().pipe(z.email('must be an email address')).pipe(z.string().max(320));

/** Page and page size of a list route. */
export const pageQuery = {
  page: z.coerce.number().int().min(1).default(1).describe('page number, from 1'),
  per_page: z.coerce.number().int().min(1).max(500).default(50).describe('rows per page, at most 500'),
};
