/**
 * The query string of every list route, in one place. SPEC §2:
 *
 * - `page` (from 1) and `per_page` (default 50, at most 500);
 * - an unknown top-level key (`foo=1`, a cache-buster `_=123`) is ignored, as Laravel does;
 * - an unknown `filter[...]`, `include` or `sort` value is a 400 naming the allowed ones, as
 *   Spatie's query builder does. A list that offers no include or sort refuses any.
 *
 * Every list route declares its query with `listQuery`, never with a bare `z.object`, so a
 * client sees one behaviour everywhere. The 400 is the usual `validation_failed`, with
 * `details.fields` keyed by the parameter as sent (`filter[nope]`, `include`, `sort`).
 */
import { z } from 'zod';
import type { PageRequest } from '../db/pagination';

const pageQuery = {
  page: z.coerce.number().int().min(1).default(1).describe('page number, from 1'),
  per_page: z.coerce.number().int().min(1).max(500).default(50).describe('rows per page, at most 500'),
};

/** What a list offers besides its own filters. */
export interface ListNames<I extends string, S extends string> {
  /** Relations `include=a,b` may add. */
  include?: readonly I[];
  /** Fields `sort=a,-b` may order by (a leading `-` for descending). */
  sort?: readonly S[];
}

/** A sort name as sent: `field` or `-field`. */
export type SortName<S extends string> = S | `-${S}`;

/** The validated query of a list: its own params, the page, and the includes and sorts asked for. */
export type ListQuery<Shape extends z.ZodRawShape, I extends string = never, S extends string = never> = z.output<z.ZodObject<Shape>> &
  PageRequest & { include: I[]; sort: SortName<S>[] };

const listSchemas = new WeakSet<z.ZodType>();

/** Whether `schema` was built by `listQuery` (so the route follows SPEC §2's list rules). */
export function isListQuery(schema: unknown): boolean {
  return schema instanceof z.ZodType && listSchemas.has(schema);
}

/**
 * The query schema of a list route: `shape` holds its own params (`filter[...]` keys and
 * plain ones such as `ticket_id`); `names` the includes and sorts it offers.
 */
export function listQuery<Shape extends z.ZodRawShape, I extends string = never, S extends string = never>(
  shape: Shape,
  names: ListNames<I, S> = {},
): z.ZodType<ListQuery<Shape, I, S>, Record<string, unknown>> {
  const allowed = {
    filter: Object.keys(shape).filter(isFilterKey),
    include: [...(names.include ?? [])] as string[],
    sort: [...(names.sort ?? [])] as string[],
  };
  const declared = { ...shape, ...pageQuery, ...namesParams(allowed) };
  const schema = z
    .looseObject(declared)
    // named even when another parameter is bad too, so one answer lists every problem
    .superRefine(refuseUnknownNames(allowed), { when: (payload) => isRecord(payload.value) })
    .transform((query) => keepDeclared(query, Object.keys({ ...shape, ...pageQuery })) as ListQuery<Shape, I, S>);
  listSchemas.add(schema);
  return schema;
}

type Allowed = Record<'filter' | 'include' | 'sort', string[]>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFilterKey(key: string): boolean {
  return key.startsWith('filter[');
}

/** `include` and `sort` as the document shows them, only where the list offers some. */
function namesParams(allowed: Allowed): Record<string, z.ZodType> {
  const params: Record<string, z.ZodType> = {};
  if (allowed.include.length)
    params.include = z
      .string()
      .optional()
      .describe(`comma-separated: ${allowed.include.join(', ')}`);
  if (allowed.sort.length) {
    params.sort = z
      .string()
      .optional()
      .describe(`comma-separated, a leading - for descending: ${allowed.sort.join(', ')}`);
  }
  return params;
}

/** The names in `a,b` (or in a repeated parameter), blanks dropped. */
function namesIn(value: unknown): string[] {
  const parts = Array.isArray(value) ? value : [value];
  return parts
    .filter((v): v is string => typeof v === 'string')
    .flatMap((v) => v.split(','))
    .map((n) => n.trim())
    .filter(Boolean);
}

function allowedText(names: string[]): string {
  return `allowed: ${names.length ? names.join(', ') : 'none'}`;
}

/**
 * SPEC §2's rule for names a list does not know (Spatie's): one issue per unknown
 * `filter[...]` key, and one for `include` and one for `sort` listing the unknown names.
 * Other unknown keys are not looked at: they are ignored.
 */
function refuseUnknownNames(allowed: Allowed) {
  return (query: Record<string, unknown>, ctx: z.RefinementCtx): void => {
    for (const key of Object.keys(query).filter(isFilterKey)) {
      if (!allowed.filter.includes(key)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `unknown filter; ${allowedText(allowed.filter)}` });
      }
    }
    for (const param of ['include', 'sort'] as const) {
      const field = (name: string) => (param === 'sort' ? name.replace(/^-/, '') : name);
      const unknown = namesIn(query[param]).filter((name) => !allowed[param].includes(field(name)));
      if (unknown.length) {
        ctx.addIssue({ code: 'custom', path: [param], message: `unknown ${param} ${unknown.join(', ')}; ${allowedText(allowed[param])}` });
      }
    }
  };
}

/** The parsed query without the keys the list does not know (Laravel's rule), `include` and `sort` as lists. */
function keepDeclared(query: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const kept: Record<string, unknown> = { include: namesIn(query.include), sort: namesIn(query.sort) };
  for (const key of keys) if (key in query) kept[key] = query[key];
  return kept;
}
