/**
 * What a customer report shows, read from the database on one snapshot when the caller
 * runs it in a repeatable-read transaction (customerReport.ts does), and its fingerprint:
 * the hash of that data itself, so a stored report is served exactly while what it would
 * show is unchanged.
 *
 * The period is a range of local days (the config's time zone), both ends included: its
 * instants are [start, end). A ticket is listed when it was opened or closed in the period,
 * or had time logged or a customer-visible message in it. Time counts by when it was spent
 * (a segment's `started_at`, else when it was recorded); a ticket's points are shared out
 * among its billable segments by their minutes, so a period gets its share of the points
 * the contract was charged and the periods of a ticket add up to its points.
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { localDate, parseDate, startOfLocalDay } from '../../datetime';
import { notFound } from '../../errors';
import { OPENED_AT, SUPPORT_REQUEST } from '../insights/figures';

const CUSTOMER_TYPE = 'App\\Customer';

/**
 * The ids of the customer `:customer`'s tickets, read from the (ticketable_id, id) index
 * alone. `ticketable_type` is always a customer (a check constraint says so): asking for it
 * too would make PostgreSQL read every one of the customer's tickets (a second at 100,000).
 */
const CUSTOMER_TICKETS = 'select id from tickets where ticketable_id = :customer';

/** Bump when the report's layout or figures change: stored reports of older versions are made again. */
export const REPORT_VERSION = 2;

/** At most this many tickets are listed (the figures and the chart count them all). */
export const MAX_LISTED_TICKETS = 2000;

/** A period of local days, both included, and its instants [start, end). */
export interface ReportPeriod {
  from: string;
  to: string;
  timezone: string;
  start: Date;
  end: Date;
}

/** Local midnight, in `tz`, starting the day `ymd` (`Y-m-d`). */
export function localMidnight(ymd: string, tz: string): Date {
  const noonUtc = new Date(parseDate(ymd)!.getTime() + 12 * 3_600_000);
  // noon UTC is that same day in every zone from UTC-12 to UTC+11; beyond, a day apart
  const shown = localDate(noonUtc, tz);
  const offsetDays = Math.round((parseDate(ymd)!.getTime() - parseDate(shown)!.getTime()) / 86_400_000);
  return startOfLocalDay(noonUtc, tz, offsetDays);
}

/** The period from `from` to `to` (local days, both included) in `timezone`. */
export function reportPeriod(from: string, to: string, timezone: string): ReportPeriod {
  const start = localMidnight(from, timezone);
  const end = startOfLocalDay(localMidnight(to, timezone), timezone, 1);
  return { from, to, timezone, start, end };
}

export interface ReportTicket {
  id: number;
  number: string;
  subject: string;
  open: boolean;
  opened_at: Date;
  closed_at: Date | null;
  contract_id: number | null;
  /** Customer-visible messages in the period. */
  replies: number;
  /** Minutes logged in the period (billable or not). */
  minutes: number;
  /** Points charged for the period's billable time. */
  points: number;
}

/** A segment of time in the period, with its share of its ticket's points. */
export interface ReportSegment {
  ticket_id: number;
  at: Date;
  minutes: number;
  points: number;
}

export interface ReportContract {
  id: number;
  type: number;
  /** Owned by the customer, or shared with it by `owner_name`. */
  own: boolean;
  owner_name: string;
  started_at: Date | null;
  expires_at: Date | null;
  expired_at: Date | null;
  points_total: number;
  points_current: number;
  /** Points the customer's tickets took from it in the period. */
  consumed: number;
  /** `points_current` and `points_total` at the end of the day before the period, as the daily summary recorded them. */
  opening: { points_current: number; points_total: number } | null;
  /** The same at the end of the period (now, for a period not over). */
  closing: { points_current: number; points_total: number } | null;
}

export interface CustomerReportData {
  customer: { id: number; name: string };
  period: ReportPeriod;
  /** The local day the report was made on. */
  today: string;
  opened: number;
  closed: number;
  /**
   * Opening instants of the tickets opened in the period, and closing instants of those
   * closed in it: support requests only (figures.ts SUPPORT_REQUEST), as the insights'
   * history counts them, so the report and the insights agree.
   */
  openedAt: Date[];
  closedAt: Date[];
  segments: ReportSegment[];
  tickets: ReportTicket[];
  /** Tickets active in the period beyond MAX_LISTED_TICKETS. */
  unlisted: number;
  contracts: ReportContract[];
}

const num = (v: unknown) => Number(v ?? 0);
const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * The customer's tickets active in the period, with their billable minutes overall (for
 * the points share): the ids come from four range scans (opened, closed, time and messages
 * in the period), each on its own index, so the cost follows the period, not the
 * customer's history.
 */
async function activeTickets(knex: Knex, customerId: number, p: ReportPeriod) {
  const { rows } = await knex.raw(
    `with mine as (${CUSTOMER_TICKETS}),
     ids as (
       select t.id from tickets t
        where t.ticketable_id = :customer and ${OPENED_AT} >= :start and ${OPENED_AT} < :end
       union
       select t.id from tickets t
        where t.ticketable_id = :customer and t.closed_at >= :start and t.closed_at < :end
       union
       select s.ticket_id from time_segments s
        where coalesce(s.started_at, s.created_at) >= :start and coalesce(s.started_at, s.created_at) < :end
          and s.ticket_id in (select id from mine)
       union
       select r.ticket_id from replies r
        where r.customer_visible and r.created_at >= :start and r.created_at < :end and r.ticket_id in (select id from mine)
     )
     select t.id, t.number, t.subject, t.open, ${OPENED_AT} as opened_at, t.closed_at, ${SUPPORT_REQUEST} as counted,
            t.contract_id, t.points, t.billable,
            (select coalesce(sum(s.minutes) filter (where s.billable), 0) from time_segments s where s.ticket_id = t.id)::int as billable_minutes
       from tickets t join ids on ids.id = t.id
      order by ${OPENED_AT}, t.id`,
    { customer: customerId, start: p.start, end: p.end },
  );
  return rows as (Pick<ReportTicket, 'id' | 'number' | 'subject' | 'open' | 'opened_at' | 'closed_at' | 'contract_id'> & {
    counted: boolean;
    points: string;
    billable: boolean;
    billable_minutes: number;
  })[];
}

/** The period's segments of the customer's tickets. */
async function periodSegments(knex: Knex, customerId: number, p: ReportPeriod) {
  const { rows } = await knex.raw(
    `select s.ticket_id, s.minutes, s.billable, coalesce(s.started_at, s.created_at) as at
       from time_segments s
      where s.ticket_id in (${CUSTOMER_TICKETS})
        and coalesce(s.started_at, s.created_at) >= :start and coalesce(s.started_at, s.created_at) < :end
      order by at, s.id`,
    { customer: customerId, start: p.start, end: p.end },
  );
  return rows as { ticket_id: number; minutes: number; billable: boolean; at: Date }[];
}

/** Customer-visible messages in the period, per ticket. */
async function periodReplies(knex: Knex, customerId: number, p: ReportPeriod): Promise<Map<number, number>> {
  const { rows } = await knex.raw(
    `select r.ticket_id, count(*) as n from replies r
      where r.ticket_id in (${CUSTOMER_TICKETS}) and r.customer_visible and r.created_at >= :start and r.created_at < :end
      group by r.ticket_id`,
    { customer: customerId, start: p.start, end: p.end },
  );
  return new Map((rows as { ticket_id: number; n: string }[]).map((r) => [r.ticket_id, Number(r.n)]));
}

/** The contracts a customer's report speaks of: its own, those shared with it, those its tickets were charged to. */
function contractScope(knex: Knex, customerId: number): Knex.QueryBuilder {
  return knex('support_contracts as c').where((w) =>
    w
      .where('c.support_contracteable_id', customerId)
      .orWhereIn('c.id', knex('shared_support_contracts').where({ customer_id: customerId }).select('support_contract_id'))
      .orWhereIn(
        'c.id',
        knex('tickets').where({ ticketable_type: CUSTOMER_TYPE, ticketable_id: customerId }).whereNotNull('contract_id').select('contract_id'),
      ),
  );
}

/** The latest daily summary of each contract on a day before (or on, with `orOn`) `day`. */
async function summariesBefore(knex: Knex, ids: number[], day: string, orOn: boolean) {
  if (!ids.length) return new Map<number, { points_current: number; points_total: number }>();
  const rows: { support_contract_id: number; points_current: string; points_total: string }[] = await knex('daily_points_summaries')
    .distinctOn('support_contract_id')
    .whereIn('support_contract_id', ids)
    .where('day', orOn ? '<=' : '<', day)
    .orderBy([{ column: 'support_contract_id' }, { column: 'day', order: 'desc' }])
    .select('support_contract_id', 'points_current', 'points_total');
  return new Map(rows.map((r) => [r.support_contract_id, { points_current: num(r.points_current), points_total: num(r.points_total) }]));
}

async function reportContracts(knex: Knex, customerId: number, p: ReportPeriod, today: string, consumed: Map<number, number>): Promise<ReportContract[]> {
  const rows = await contractScope(knex, customerId)
    .join('customers as owner', 'owner.id', 'c.support_contracteable_id')
    .orderByRaw('c.started_at nulls first, c.id')
    .select('c.*', 'owner.name as owner_name');
  // left out: contracts made after the period, and those that had ended before it and took nothing in it
  const relevant = rows.filter(
    (c: { id: number; created_at: Date; expired_at: Date | null }) =>
      consumed.has(c.id) || (new Date(c.created_at) < p.end && (!c.expired_at || new Date(c.expired_at) >= p.start)),
  );
  const ids = relevant.map((c: { id: number }) => c.id);
  const opening = await summariesBefore(knex, ids, p.from, false);
  const closingRecorded = await summariesBefore(knex, ids, p.to, true);
  const ongoing = p.to >= today;
  return relevant.map((c: Record<string, unknown>) => {
    const id = c.id as number;
    const now = { points_current: num(c.points_current), points_total: num(c.points_total) };
    return {
      id,
      type: c.type as number,
      own: c.support_contracteable_id === customerId,
      owner_name: c.owner_name as string,
      started_at: (c.started_at as Date | null) ?? null,
      expires_at: (c.expires_at as Date | null) ?? null,
      expired_at: (c.expired_at as Date | null) ?? null,
      ...now,
      consumed: round2(consumed.get(id) ?? 0),
      opening: opening.get(id) ?? null,
      closing: ongoing ? now : (closingRecorded.get(id) ?? null),
    };
  });
}

/** Everything the report shows. 404 for an unknown customer. */
export async function customerReportData(knex: Knex, customerId: number, period: ReportPeriod, today: string): Promise<CustomerReportData> {
  const customer = await knex('customers').where({ id: customerId }).first('id', 'name');
  if (!customer) throw notFound('customer', customerId);
  const active = await activeTickets(knex, customerId, period);
  const byId = new Map(active.map((t) => [t.id, t]));
  const replies = await periodReplies(knex, customerId, period);
  const minutes = new Map<number, number>();
  const points = new Map<number, number>();
  const segments: ReportSegment[] = [];
  for (const s of await periodSegments(knex, customerId, period)) {
    const t = byId.get(s.ticket_id)!;
    const share = s.billable && t.billable && t.billable_minutes !== 0 ? (num(t.points) * s.minutes) / t.billable_minutes : 0;
    segments.push({ ticket_id: s.ticket_id, at: new Date(s.at), minutes: s.minutes, points: share });
    minutes.set(t.id, (minutes.get(t.id) ?? 0) + s.minutes);
    points.set(t.id, (points.get(t.id) ?? 0) + share);
  }
  const consumed = new Map<number, number>();
  for (const t of active) if (t.contract_id && points.has(t.id)) consumed.set(t.contract_id, (consumed.get(t.contract_id) ?? 0) + points.get(t.id)!);
  // opened and closed in the period, counted as the insights count them (figures.ts): support requests only
  const within = (d: Date | null) => d !== null && new Date(d) >= period.start && new Date(d) < period.end;
  const openedAt = active.filter((t) => t.counted && within(t.opened_at)).map((t) => new Date(t.opened_at));
  const closedAt = active.filter((t) => t.counted && within(t.closed_at)).map((t) => new Date(t.closed_at!));
  return {
    customer: { id: customer.id, name: customer.name },
    period,
    today,
    opened: openedAt.length,
    closed: closedAt.length,
    openedAt,
    closedAt,
    segments,
    tickets: active.slice(0, MAX_LISTED_TICKETS).map((t) => ({
      id: t.id,
      number: t.number,
      subject: t.subject,
      open: t.open,
      opened_at: new Date(t.opened_at),
      closed_at: t.closed_at ? new Date(t.closed_at) : null,
      contract_id: t.contract_id,
      replies: replies.get(t.id) ?? 0,
      minutes: minutes.get(t.id) ?? 0,
      points: round2(points.get(t.id) ?? 0),
    })),
    unlisted: Math.max(0, active.length - MAX_LISTED_TICKETS),
    contracts: await reportContracts(knex, customerId, period, today, consumed),
  };
}

/**
 * The fingerprint of a report: the hash of everything it shows (the data, its period and
 * zone, whether the period is still running) and of the report's version. Equal
 * fingerprints mean the same report.
 */
export function reportFingerprint(data: CustomerReportData): string {
  const basis = [REPORT_VERSION, MAX_LISTED_TICKETS, data.period.from, data.period.to, data.period.timezone, data.period.to >= data.today, data];
  return crypto.createHash('sha256').update(JSON.stringify(basis)).digest('hex');
}
