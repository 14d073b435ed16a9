/**
 * zod helpers shared by every route schema, the translation of zod issues into the spec's
 * 400 (`details.fields` names each bad field), and the text rule every input passes first.
 */
import { z } from 'zod';
import { parseDate, parseDateTime, parseDayMonthYear } from '../datetime';
import { AppError, invalid } from '../errors';
import { cleanText } from '../text/cleanText';

interface Slot {
  holder: Record<string, unknown> | unknown[];
  key: string | number;
  parent?: Slot;
}

function pathOf(slot: Slot): string {
  const keys: (string | number)[] = [];
  for (let s: Slot | undefined = slot; s; s = s.parent) keys.unshift(s.key);
  return keys.join('.');
}

/**
 * Applies SPEC §2's text rule to parsed input, in place, before any schema sees it: a NUL
 * anywhere (a string or a key) is a 400 naming the field (`details.fields["subject"]`,
 * `"contacts.0.name"`, or the query parameter), and the other control characters, lone
 * surrogates included, are removed from strings silently (tab, CR and LF stay), so none
 * reaches the database. The walk uses its own stack: a deeply nested body cannot overflow
 * the call stack.
 */
export function cleanInput<T>(value: T, where: 'body' | 'query'): T {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'string' && value.includes('\u0000')) throw nulIn(where);
    return typeof value === 'string' ? (cleanText(value) as T) : value;
  }
  const stack: Slot[] = [];
  const push = (holder: Slot['holder'], parent?: Slot) => {
    if (Array.isArray(holder)) for (let i = holder.length - 1; i >= 0; i--) stack.push({ holder, key: i, parent });
    else for (const key of Object.keys(holder).reverse()) stack.push({ holder, key, parent });
  };
  push(value as Slot['holder']);
  while (stack.length) {
    const slot = stack.pop()!;
    if (typeof slot.key === 'string' && slot.key.includes('\u0000')) throw nulIn(where, slot);
    const item = (slot.holder as Record<string | number, unknown>)[slot.key];
    if (typeof item === 'string') {
      if (item.includes('\u0000')) throw nulIn(where, slot);
      const clean = cleanText(item);
      if (clean !== item) (slot.holder as Record<string | number, unknown>)[slot.key] = clean;
    } else if (item !== null && typeof item === 'object') push(item as Slot['holder'], slot);
  }
  return value;
}

function nulIn(where: 'body' | 'query', slot?: Slot): AppError {
  let field: string = where;
  if (slot) {
    let top = slot;
    while (top.parent) top = top.parent;
    // a query parameter is named as sent (`filter[email]`, repeated or not)
    field = where === 'query' ? String(top.key) : pathOf(slot);
  }
  // a key may hold the NUL itself: name it escaped
  const name = JSON.stringify(field).slice(1, -1);
  return invalid({ [name]: 'must not contain a NUL character (\\u0000)' }, `invalid ${where}: NUL in ${name}`);
}

/**
 * Validates `value` against `schema`, or throws 400 naming every bad field. The query of a
 * list route is declared with `listQuery` (listQuery.ts), which holds SPEC §2's rule for
 * unknown keys, filters, includes and sorts.
 */
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
