/**
 * Ticket insights (issue 12): aggregations, averages (over the range and per calendar
 * year) and the history of openings and closings, computed in SQL from the definitions
 * of figures.ts, never by loading tickets. Days, weeks (from Monday), months and years are
 * those of the configured time zone: the range bounds and the buckets are taken with
 * `AT TIME ZONE`, so a day across a DST change is still one local day.
 *
 * Two sources give the same answers (a test proves it):
 * - the rollups (rollups.ts): per local day sums kept by triggers, for the insights of
 *   every ticket (no team, customer or assignee filter) while they are in the configured
 *   zone: at a million tickets a year's range reads a few thousand rows;
 * - the tickets, with the facts stored on them: for filtered insights, which select a
 *   part of the tickets through the opening index, and while the rollups are rebuilt.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { localDate } from '../../datetime';
import { conn } from '../../db/transaction';
import { invalid } from '../../errors';
import { getSettings } from '../config/settings';
import { AVERAGE_FIGURES, COUNT_FIGURES, DIMENSIONS, type Figure, HISTORY_FIGURES, OPENED_AT, SUPPORT_REQUEST, TICKET_COLUMNS, TICKET_FACTS } from './figures';
import { ROLLUP_ROWS, rollupZone } from './rollups';

export type Interval = 'day' | 'week' | 'month';

/** The range and filters as asked (dates as `Y-m-d`); missing bounds take the defaults. */
export interface InsightsInput {
  from?: string;
  to?: string;
  team_id?: number;
  customer_id?: number;
  assignee_id?: number;
}

/** A resolved range: both days included, in `timezone`. */
export interface Scope {
  from: string;
  to: string;
  timezone: string;
  team_id?: number;
  customer_id?: number;
  assignee_id?: number;
  /** Where the figures are read from (see the module's comment); `definitions`: each fact computed afresh, for the proofs. */
  source: Source;
}

export type Source = 'rollups' | 'tickets' | 'definitions';

/** The longest range asked for, in years (a bound on the buckets a history returns). */
export const MAX_RANGE_YEARS = 10;

type Value = number | null;
export type Figures = Record<string, Value>;
export type Breakdown = Record<string, string | number | null>[];
export type Aggregations = Record<string, Value | Breakdown>;
/** `year`, `from`, `to` and the averages. */
export type YearlyAverages = Record<string, string | Value>;
export interface HistoryBucket {
  start: string;
  end: string;
  [figure: string]: string | number;
}

const FILTERS = [
  { field: 'team_id', column: 't.team_id', table: 'support_teams' },
  { field: 'customer_id', column: 't.ticketable_id', table: 'customers' },
  { field: 'assignee_id', column: 't.assignee_id', table: 'users' },
] as const;

/** `Y-m-d` `years` from `day` (a 29 February falls back to the 28th), plus `days`. */
function shiftDate(day: string, years: number, days: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const lastDay = new Date(Date.UTC(y + years, m, 0)).getUTCDate();
  return new Date(Date.UTC(y + years, m - 1, Math.min(d, lastDay) + days)).toISOString().slice(0, 10);
}

/**
 * The range and filters to compute over: `to` defaults to today (in the time zone),
 * `from` to 12 months before `to` (the day after the same date a year before). 400 naming
 * each bad field: `from` after `to`, a range of `MAX_RANGE_YEARS` years or more, an
 * unknown team, customer or assignee.
 */
export async function resolveScope(input: InsightsInput, trx?: Knex, asked?: Source): Promise<Scope> {
  const { timezone } = await getSettings(trx);
  const to = input.to ?? localDate(now(), timezone);
  const from = input.from ?? shiftDate(to, -1, 1);
  const problems: Record<string, string> = {};
  if (from > to) problems.from = `must not be after to (${to})`;
  else if (to >= shiftDate(from, MAX_RANGE_YEARS, 0)) problems.to = `must be less than ${MAX_RANGE_YEARS} years after from (${from})`;
  for (const f of FILTERS) {
    const id = input[f.field];
    if (id !== undefined && !(await conn(trx)(f.table).where({ id }).first('id'))) problems[f.field] = `no ${f.table.replace(/_/g, ' ')} with id ${id}`;
  }
  if (Object.keys(problems).length) throw invalid(problems, `invalid query: ${Object.keys(problems).join(', ')}`);
  const filtered = FILTERS.some((f) => input[f.field] !== undefined);
  const source = asked ?? (!filtered && (await rollupZone(trx)) === timezone ? 'rollups' : 'tickets');
  return { from, to, timezone, team_id: input.team_id, customer_id: input.customer_id, assignee_id: input.assignee_id, source };
}

function bindings(scope: Scope): Record<string, unknown> {
  return {
    from: scope.from,
    to: scope.to,
    tz: scope.timezone,
    team_id: scope.team_id ?? null,
    customer_id: scope.customer_id ?? null,
    assignee_id: scope.assignee_id ?? null,
  };
}

/** The tickets of the scope's filters (invoicing tickets never) whose `at` falls in the range. */
function scopedWhere(scope: Scope, at: string): string {
  const clauses = [
    SUPPORT_REQUEST,
    `${at} >= (cast(:from as date) + time '00:00') at time zone :tz`,
    `${at} < (cast(:to as date) + 1 + time '00:00') at time zone :tz`,
    ...FILTERS.filter((f) => scope[f.field] !== undefined).map((f) => `${f.column} = :${f.field}`),
  ];
  return clauses.join('\n and ');
}

/** `f`: one row per selected ticket, its columns and facts. */
function factsCte(scope: Scope): string {
  const fact = (f: (typeof TICKET_FACTS)[number]) => (scope.source === 'definitions' ? f.sql : f.stored);
  const columns = [...TICKET_COLUMNS.map((c) => `t.${c}`), ...TICKET_FACTS.map((f) => `${fact(f)} as ${f.name}`)];
  return `f as (select ${columns.join(', ')} from tickets t where ${scopedWhere(scope, OPENED_AT)})`;
}

/** `r`: the rollup rows of the range's days (the rollups source). */
const ROLLUP_CTE = `r as (select * from (${ROLLUP_ROWS}) x where x.day >= cast(:from as date) and x.day <= cast(:to as date))`;

/** The figures' rows: `f` for the tickets, `r` (the opening days' totals) for the rollups. */
function figuresSource(scope: Scope): { cte: string; from: string } {
  if (scope.source === 'rollups') return { cte: ROLLUP_CTE, from: `r where r.kind = 'opened' and r.dimension = 'total'` };
  return { cte: factsCte(scope), from: 'f' };
}

function selectFigures(figures: readonly Figure[], scope: Scope): string {
  return figures.map((f) => `${scope.source === 'rollups' ? f.rollup : f.sql} as ${f.name}`).join(',\n ');
}

/** Counts and numerics come back as strings (bigint, numeric): numbers, nulls kept. */
function numbers(row: Record<string, unknown>, figures: readonly { name: string }[]): Figures {
  return Object.fromEntries(figures.map((f) => [f.name, row[f.name] === null ? null : Number(row[f.name])]));
}

async function rows(trx: Knex | undefined, sql: string, scope: Scope, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>[]> {
  const result = await conn(trx).raw(sql, { ...bindings(scope), ...extra });
  return result.rows as Record<string, unknown>[];
}

/** `c`: the count per (dimension index, id, value) of the breakdowns. */
function breakdownCte(scope: Scope): string {
  if (scope.source === 'rollups') {
    const index = DIMENSIONS.map((d, i) => `when '${d.rollup}' then ${i}`).join(' ');
    const withTable = DIMENSIONS.filter((d) => d.table).map((d) => `'${d.rollup}'`);
    return `${ROLLUP_CTE},
     c as (select case r.dimension ${index} end as dimension,
                  case when r.dimension in (${withTable.join(', ')}) then cast(r.value as int) end as id,
                  case when r.dimension not in (${withTable.join(', ')}) then r.value end as value,
                  sum(r.tickets) as count
           from r where r.kind = 'opened' and r.dimension <> 'total'
           group by r.dimension, r.value having sum(r.tickets) > 0)`;
  }
  const values = DIMENSIONS.map((d, i) =>
    d.table ? `(${i}, cast(${d.column} as int), cast(null as text))` : `(${i}, cast(null as int), cast(${d.column} as text))`,
  );
  return `${factsCte(scope)},
     c as (select d.dimension, d.id, d.value, count(*) as count
           from f cross join lateral (values ${values.join(', ')}) as d(dimension, id, value)
           group by d.dimension, d.id, d.value)`;
}

/** Counts of the selected tickets: total, open, closed, and per status, priority, category, team, assignee, origin. */
export async function aggregations(scope: Scope, trx?: Knex): Promise<Aggregations> {
  const source = figuresSource(scope);
  const [counts] = await rows(trx, `with ${source.cte} select ${selectFigures(COUNT_FIGURES, scope)} from ${source.from}`, scope);
  const names = DIMENSIONS.map((d, i) => (d.table ? `when ${i} then (select x.name from ${d.table} x where x.id = c.id)` : '')).join(' ');
  const groups = await rows(
    trx,
    `with ${breakdownCte(scope)}
     select c.dimension, c.id, c.value, c.count, case c.dimension ${names} end as name
     from c order by c.dimension, c.count desc, c.id nulls last, c.value nulls last`,
    scope,
  );
  const result: Aggregations = numbers(counts!, COUNT_FIGURES);
  DIMENSIONS.forEach((d, i) => {
    result[d.name] = groups
      .filter((g) => g.dimension === i)
      .map((g) =>
        d.table
          ? { id: g.id as number | null, name: g.name as string | null, count: Number(g.count) }
          : { [d.key]: g.value as string | null, count: Number(g.count) },
      );
  });
  return result;
}

/** The averages over the selected tickets, with their number (`total`). */
export async function averages(scope: Scope, trx?: Knex): Promise<Figures> {
  const figures = [COUNT_FIGURES[0]!, ...AVERAGE_FIGURES];
  const source = figuresSource(scope);
  const [row] = await rows(trx, `with ${source.cte} select ${selectFigures(figures, scope)} from ${source.from}`, scope);
  return numbers(row!, figures);
}

/** The averages per calendar year of the time zone, every year the range touches (clipped to it), empty ones too. */
export async function yearlyAverages(scope: Scope, trx?: Knex): Promise<YearlyAverages[]> {
  const figures = [COUNT_FIGURES[0]!, ...AVERAGE_FIGURES];
  const first = Number(scope.from.slice(0, 4));
  const last = Number(scope.to.slice(0, 4));
  const joined =
    scope.source === 'rollups'
      ? `r on r.kind = 'opened' and r.dimension = 'total' and extract(year from r.day) = y.year`
      : 'f on extract(year from f.opened at time zone :tz) = y.year';
  const found = await rows(
    trx,
    `with ${figuresSource(scope).cte}, years as (select generate_series(cast(:first as int), cast(:last as int)) as year)
     select y.year, ${selectFigures(figures, scope)}
     from years y left join ${joined}
     group by y.year order by y.year`,
    scope,
    { first, last },
  );
  return found.map((row) => {
    const year = Number(row.year);
    const from = year === first ? scope.from : `${year}-01-01`;
    const to = year === last ? scope.to : `${year}-12-31`;
    return { year, from, to, ...numbers(row, figures) };
  });
}

/**
 * Tickets opened and closed per day, week (from Monday) or month of the range, every
 * bucket present (zeros included); the first and last buckets are clipped to the range.
 */
export async function history(scope: Scope, interval: Interval, trx?: Knex): Promise<HistoryBucket[]> {
  const bucket = (at: string) => `cast(date_trunc(:unit, ${at} at time zone :tz) as date)`;
  const counted = HISTORY_FIGURES.map((h) =>
    scope.source === 'rollups'
      ? `h_${h.name} as (select cast(date_trunc(:unit, r.day) as date) as start, sum(r.tickets) as n
                         from r where r.kind = '${h.rollup}' and r.dimension = 'total' group by 1)`
      : `h_${h.name} as (select ${bucket(h.at)} as start, count(*) as n from tickets t where ${scopedWhere(scope, h.at)} group by 1)`,
  );
  const found = await rows(
    trx,
    `with ${scope.source === 'rollups' ? `${ROLLUP_CTE},` : ''} buckets as (
       select cast(b as date) as start
       from generate_series(date_trunc(:unit, cast(:from as date) + time '00:00'), cast(:to as date) + time '00:00', cast(:step as interval)) b
     ), ${counted.join(', ')}
     select to_char(greatest(b.start, cast(:from as date)), 'YYYY-MM-DD') as start,
            to_char(least(cast(b.start + cast(:step as interval) - interval '1 day' as date), cast(:to as date)), 'YYYY-MM-DD') as end,
            ${HISTORY_FIGURES.map((h) => `coalesce(h_${h.name}.n, 0) as ${h.name}`).join(', ')}
     from buckets b ${HISTORY_FIGURES.map((h) => `left join h_${h.name} on h_${h.name}.start = b.start`).join(' ')}
     order by b.start`,
    scope,
    { unit: interval, step: `1 ${interval}` },
  );
  return found.map((row) => ({ start: row.start as string, end: row.end as string, ...(numbers(row, HISTORY_FIGURES) as Record<string, number>) }));
}

/** Runs `work` on one snapshot (repeatable read, read only), so the parts of an answer agree. */
async function onSnapshot<T>(work: (trx: Knex) => Promise<T>, trx?: Knex): Promise<T> {
  if (trx) return work(trx);
  return conn().transaction((t) => work(t), { isolationLevel: 'repeatable read', readOnly: true });
}

export type InsightsPart = 'aggregations' | 'averages' | 'yearly_averages' | 'history';

export interface Insights {
  range: { from: string; to: string; timezone: string };
  filters: { team_id: number | null; customer_id: number | null; assignee_id: number | null };
  aggregations?: Aggregations;
  averages?: Figures;
  yearly_averages?: YearlyAverages[];
  history?: { interval: Interval; buckets: HistoryBucket[] };
}

/** The asked `parts` of the insights of a range (see resolveScope), on one snapshot. */
export async function ticketInsights(
  input: InsightsInput & { interval?: Interval },
  parts: readonly InsightsPart[],
  trx?: Knex,
  source?: Source,
): Promise<Insights> {
  return onSnapshot(async (t) => {
    const scope = await resolveScope(input, t, source);
    const out: Insights = {
      range: { from: scope.from, to: scope.to, timezone: scope.timezone },
      filters: { team_id: scope.team_id ?? null, customer_id: scope.customer_id ?? null, assignee_id: scope.assignee_id ?? null },
    };
    if (parts.includes('aggregations')) out.aggregations = await aggregations(scope, t);
    if (parts.includes('averages')) out.averages = await averages(scope, t);
    if (parts.includes('yearly_averages')) out.yearly_averages = await yearlyAverages(scope, t);
    if (parts.includes('history')) {
      const interval = input.interval ?? 'month';
      out.history = { interval, buckets: await history(scope, interval, t) };
    }
    return out;
  }, trx);
}
