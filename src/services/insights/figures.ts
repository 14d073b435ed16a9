/**
 * Every figure of the ticket insights (issue 12), defined once: its name in the answer,
 * its unit, the SQL that computes it and what it means. The queries (insights.ts) are
 * built from these definitions and the OpenAPI document shows them (routes/insights), so
 * the number, its computation and its documentation cannot drift apart.
 *
 * The SQL runs over `f`, one row per selected ticket (TICKET_FACTS, plus the ticket's own
 * columns), possibly left-joined to buckets that hold no ticket: aggregates count `f.id`,
 * never `*`, so an empty bucket counts 0 and averages null.
 *
 * Each figure also says how it is read from the rollups (migration 20261204000000, kept by
 * triggers in the same transaction as every write): `rollup` aggregates `r`, the rollup
 * rows (`kind` `opened`, `dimension` `total`) of the days selected. The rollups answer the
 * unfiltered insights; a test proves both definitions give the same answer.
 */

export type Unit = 'tickets' | 'minutes' | 'exchanges' | 'points' | 'share';

export interface Figure {
  /** The key in the answer. */
  name: string;
  unit: Unit;
  /** An aggregate over `f`. */
  sql: string;
  /** The same figure as an aggregate over `r`, the days' rollup rows. */
  rollup: string;
  /** What it measures and how, for the document. */
  description: string;
}

/** A breakdown of the selected tickets: one `{id, name, count}` (or `{origin, count}`) per value. */
export interface Dimension {
  name: string;
  /** The column of `f` grouped by. */
  column: string;
  /** The table naming an id (its `name` column); none for a plain value such as `origin`. */
  table?: string;
  /** The key of the value in each entry: `id` for ids, the column's name for plain values. */
  key: string;
  /** Its `dimension` in the rollups. */
  rollup: string;
  description: string;
}

/** A count per history bucket, of tickets whose `at` falls in the bucket. */
export interface HistoryFigure {
  name: string;
  unit: 'tickets';
  /** The moment counted (SQL over the ticket `t`). */
  at: string;
  /** The rollups' `kind` that counts it per day. */
  rollup: 'opened' | 'closed';
  description: string;
}

/** A ticket's opening moment: `opened_at`, else (rows that lack it) `created_at`. */
export const OPENED_AT = 'coalesce(t.opened_at, t.created_at)';

/**
 * Which tickets are support requests, the tickets the figures count: all but invoicing
 * tickets (`opened_via` `invoicing`), which are billing records of time, created closed.
 * The customer report counts its tickets opened and closed by this rule too.
 */
export const SUPPORT_REQUEST = `t.opened_via <> 'invoicing'`;

/**
 * The first response: the first customer-visible reply written by an agent and not by the
 * system. Automatic messages are not responses: the auto-closure reminders (origin
 * `system`, `auto_closure_message`), automatic replies (flag `auto_reply`); an
 * acknowledgement of a new ticket is only outbound mail, never a reply, so it never counts.
 * Internal notes are not customer-visible, a contact's message is not an agent's.
 */
const FIRST_RESPONSE_AT = `(select min(r.created_at) from replies r
   where r.ticket_id = t.id and r.customer_visible and not r.auto_closure_message
     and r.author_type = 'App\\User' and r.author_id is not null and r.origin <> 'system'
     and not ('auto_reply' = any(r.flags)))`;

/** The minutes of a ticket: the sum of its time segments, corrections (`amend`) included. */
const MINUTES = '(select coalesce(sum(s.minutes), 0) from time_segments s where s.ticket_id = t.id)';

/**
 * A per-ticket value the figures read (as `f.<name>`), besides the ticket's own columns:
 * its definition (`sql`), and the ticket column that stores it (kept by triggers, migration
 * 20261204000000), which the insights read. A test proves the stored value equal to the
 * definition.
 */
export interface TicketFact {
  name: string;
  /** SQL over the ticket `t`. */
  sql: string;
  /** The same value as stored on the ticket `t`. */
  stored: string;
  description: string;
}

export const TICKET_FACTS: readonly TicketFact[] = [
  { name: 'opened', sql: OPENED_AT, stored: OPENED_AT, description: 'When the ticket opened: `opened_at`, else `created_at`.' },
  {
    name: 'first_response_at',
    sql: FIRST_RESPONSE_AT,
    stored: 't.first_response_at',
    description:
      'When the first response was written: the first customer-visible reply by an agent (`App\\User` with an id), ' +
      'not a system message, not an auto-closure reminder, not flagged `auto_reply`. Acknowledgements of new tickets ' +
      'are outbound mail, not replies; internal notes are not customer-visible.',
  },
  { name: 'minutes', sql: MINUTES, stored: 't.minutes', description: "The sum of the minutes of the ticket's time segments (corrections included)." },
];

/** The ticket columns the figures and dimensions read. */
export const TICKET_COLUMNS = [
  'id',
  'open',
  'closed_at',
  'exchanges',
  'points',
  'reopen_count',
  'status_id',
  'priority_id',
  'ticket_category_id',
  'team_id',
  'assignee_id',
  'origin',
] as const;

/**
 * Which tickets a range selects: those opened (OPENED_AT) from `from` 00:00 to the end of
 * `to`, in the configured time zone, matching the filters. Invoicing tickets (billing
 * records of time, created closed) are not support requests and are never selected.
 */
export const SELECTION_RULE =
  'A range selects the tickets opened (`opened_at`, else `created_at`) from `from` 00:00 to the end of `to` ' +
  'in the configured time zone (`timezone` of the config), both days included, that match `team_id`, ' +
  '`customer_id` and `assignee_id` when given. Invoicing tickets (`opened_via` = `invoicing`, billing records) ' +
  'are never selected. Default range: the last 12 months up to today.';

/** Minutes from the opening to `later`, 0 when `later` comes first, null without `later` (greatest() would skip the null). */
const minutesBetween = (later: string) => `case when ${later} < f.opened then 0 else extract(epoch from ${later} - f.opened) / 60 end`;

/** The counts of the aggregations. */
export const COUNT_FIGURES: readonly Figure[] = [
  {
    name: 'total',
    unit: 'tickets',
    sql: 'count(f.id)',
    rollup: 'coalesce(sum(r.tickets), 0)',
    description: 'Tickets selected (opened in the range).',
  },
  {
    name: 'open',
    unit: 'tickets',
    sql: 'count(f.id) filter (where f.open)',
    rollup: 'coalesce(sum(r.open), 0)',
    description: 'Selected tickets open now (a pending closure is still open).',
  },
  {
    name: 'closed',
    unit: 'tickets',
    sql: 'count(f.id) filter (where not f.open)',
    rollup: 'coalesce(sum(r.closed), 0)',
    description: 'Selected tickets closed now.',
  },
];

/** The averages (also per calendar year). */
export const AVERAGE_FIGURES: readonly Figure[] = [
  {
    name: 'first_response_minutes',
    unit: 'minutes',
    sql: `round(avg(${minutesBetween('f.first_response_at')}), 2)`,
    rollup: 'round(sum(r.first_response_minutes) / nullif(sum(r.responded), 0), 2)',
    description:
      'Mean time from opening to the first customer-visible reply by an agent, over the selected tickets that have one. ' +
      'Automatic messages do not count: auto-closure reminders, auto-replies; acknowledgements are mail, not replies. ' +
      'A reply dated before the opening counts 0. Null when no selected ticket has a response.',
  },
  {
    name: 'resolution_minutes',
    unit: 'minutes',
    sql: `round(avg(${minutesBetween('f.closed_at')}) filter (where not f.open), 2)`,
    rollup: 'round(sum(r.resolution_minutes) / nullif(sum(r.resolved), 0), 2)',
    description:
      'Mean time from opening (`opened_at`) to closing (`closed_at`; a reopened ticket: its last closing), ' +
      'over the selected tickets closed now. Null when none is closed.',
  },
  {
    name: 'exchanges_per_ticket',
    unit: 'exchanges',
    sql: 'round(avg(f.exchanges), 2)',
    rollup: 'round(sum(r.exchanges) / nullif(sum(r.tickets), 0), 2)',
    description: 'Mean `exchanges` (messages between agent and customer) per selected ticket. Null when none is selected.',
  },
  {
    name: 'minutes_per_ticket',
    unit: 'minutes',
    sql: 'round(avg(f.minutes), 2)',
    rollup: 'round(sum(r.minutes) / nullif(sum(r.tickets), 0), 2)',
    description:
      'Mean time spent per selected ticket: the sum of its time segments (corrections included), whenever recorded. ' + 'Null when none is selected.',
  },
  {
    name: 'points_per_ticket',
    unit: 'points',
    sql: 'round(avg(f.points), 2)',
    rollup: 'round(sum(r.points) / nullif(sum(r.tickets), 0), 2)',
    description: 'Mean `points` charged per selected ticket. Null when none is selected.',
  },
  {
    name: 'reopened_share',
    unit: 'share',
    sql: 'round(count(f.id) filter (where f.reopen_count > 0) / nullif(count(f.id), 0)::numeric, 4)',
    rollup: 'round(sum(r.reopened) / nullif(sum(r.tickets), 0)::numeric, 4)',
    description:
      'Share (0 to 1) of the selected tickets reopened at least once (a closed ticket opened again by the open or ' +
      'reopen route or by a customer reply). Reopens are recorded since issue 12: older tickets count as never ' +
      'reopened. Null when none is selected.',
  },
];

/** The breakdowns of the aggregations. */
export const DIMENSIONS: readonly Dimension[] = [
  {
    name: 'by_status',
    rollup: 'status',
    column: 'f.status_id',
    table: 'ticket_statuses',
    key: 'id',
    description: 'Selected tickets per current status (`id` null: none).',
  },
  { name: 'by_priority', rollup: 'priority', column: 'f.priority_id', table: 'priorities', key: 'id', description: 'Selected tickets per priority.' },
  {
    name: 'by_category',
    rollup: 'category',
    column: 'f.ticket_category_id',
    table: 'ticket_categories',
    key: 'id',
    description: 'Selected tickets per category.',
  },
  {
    name: 'by_team',
    rollup: 'team',
    column: 'f.team_id',
    table: 'support_teams',
    key: 'id',
    description: 'Selected tickets per support team (`id` null: no team).',
  },
  {
    name: 'by_assignee',
    rollup: 'assignee',
    column: 'f.assignee_id',
    table: 'users',
    key: 'id',
    description: 'Selected tickets per assignee (`id` null: unassigned).',
  },
  { name: 'by_origin', rollup: 'origin', column: 'f.origin', key: 'origin', description: 'Selected tickets per origin (`email`, `admin`, ...).' },
];

/** The history's counts per bucket. */
export const HISTORY_FIGURES: readonly HistoryFigure[] = [
  {
    name: 'opened',
    unit: 'tickets',
    at: OPENED_AT,
    rollup: 'opened',
    description: 'Tickets opened in the bucket (the selected tickets, by their opening day in the time zone).',
  },
  {
    name: 'closed',
    unit: 'tickets',
    at: 't.closed_at',
    rollup: 'closed',
    description: 'Tickets closed in the bucket and closed now (a reopened one counts at its last closing), whenever opened, ' + 'that match the filters.',
  },
];
