/**
 * The read routes at a million tickets (issue 12), on the kept data set of
 * bench/lib/millionTickets.ts (BENCH_TICKETS to size it). Each figure beside its floor from
 * the same run, with the aim it is held to:
 * - the four insights routes over the default range (the last 12 months), p95 < 300 ms;
 * - show, counts, search by filter and by a body term in under 1% of the tickets,
 *   p95 < 50 ms, and by a term in over 10% of them, p95 < 300 ms; every search's
 *   `X-Total-Count` checked against a count in SQL;
 *   floor: a bare Koa route doing one primary-key query through knex;
 * - the export of the largest customer with its segments by the api role in a process of
 *   its own: that process's peak RSS under 300 MB, at least 0.5 of the rows per second of
 *   exceljs's streaming writer alone on as many rows;
 * - the PDF report of about 1,000 tickets with a warm browser, under 3 s; floor: the same
 *   HTML made into a PDF by puppeteer-core alone (a warm browser, a fresh page);
 * - what the rollups, stored facts and search rows cost the writers: a ticket closed, a
 *   time segment and a reply added, each a statement in a transaction of its own, beside
 *   the same statement with the triggers off (no aim; each is rolled back, so the data set
 *   stays as it is).
 */
import http from 'node:http';
import type { Knex } from 'knex';
import puppeteer from 'puppeteer-core';
import { now } from '../src/clock';
import { config } from '../src/config';
import { db } from '../src/db/knex';
import { createApp } from '../src/http/app';
import { CHROMIUM_ARGS, closePdfRenderer } from '../src/rendering/pdf';
import { customerReportHtml } from '../src/rendering/customerReportHtml';
import { createToken } from '../src/services/auth/tokens';
import { getSettings } from '../src/services/config/settings';
import { customerReportData, reportPeriod } from '../src/services/reports/customerReportData';
import { exportFigures, exportInApiProcess, withPeakRss, writerAlone } from './lib/exportRun';
import { FLOOR, floorApp, get, keepAlive, listen } from './lib/http';
import { COMMON_TERM, RARE_TERM, millionTickets } from './lib/millionTickets';
import { measure, report } from './lib/stats';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const SLOW_REQUESTS = Number(process.env.BENCH_SLOW_REQUESTS ?? 30);
const REPORTS = Number(process.env.BENCH_REPORTS ?? 5);
const REPORT_TICKETS = 1000;

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const ymd = (d: Date) => d.toISOString().slice(0, 10);

interface RouteCase {
  route: string;
  path: () => string;
  aim_p95_ms: number;
  requests: number;
  /** The exact total a search must answer in `X-Total-Count` (SQL). */
  total?: () => Promise<number>;
}

export async function benchReports(): Promise<void> {
  const set = await millionTickets();
  const { knex } = set;
  const servers: http.Server[] = [];
  try {
    report({ bench: 'reports', step: 'data set', tickets: set.tickets, replies: set.replies, load_seconds: set.loadSeconds });
    const token = await createToken({ userId: set.agentId });
    const floor = await listen(floorApp(knex));
    const app = await listen(createApp());
    servers.push(floor.server, app.server);
    const { min, max } = (await knex('tickets').min({ min: 'id' }).max({ max: 'id' }))[0] as { min: number; max: number };
    const randomId = () => min + Math.floor(Math.random() * (max - min + 1));
    const agents = (await knex('users').where('email', 'like', 'agent%').pluck('id')) as number[];
    const teams = (await knex('support_teams').pluck('id')) as number[];
    const statuses = (await knex('ticket_statuses').pluck('id')) as number[];
    const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
    const count = async (where: string, bindings: (string | number)[] = []) =>
      Number((await knex.raw(`select count(*) as n from tickets where ${where}`, bindings)).rows[0].n);

    await benchExport(set.url, token, set.largestCustomerId);
    const floorFigure = await measure(() => get(floor.port, `/tickets/${randomId()}`), { count: REQUESTS });
    const cases: RouteCase[] = [
      ...['', '/aggregations', '/averages', '/yearly-averages'].map((part) => ({
        route: `GET /api/v1/tickets-insights${part}`,
        path: () => `/api/v1/tickets-insights${part}`,
        aim_p95_ms: 300,
        requests: SLOW_REQUESTS,
      })),
      { route: 'GET /api/v1/tickets/{id}', path: () => `/api/v1/tickets/${randomId()}`, aim_p95_ms: 50, requests: REQUESTS },
      { route: 'GET /api/v1/tickets/counts', path: () => '/api/v1/tickets/counts', aim_p95_ms: 50, requests: REQUESTS },
      {
        route: 'GET /api/v1/tickets/search?filter[assignee_id]=',
        path: () => `/api/v1/tickets/search?filter%5Bassignee_id%5D=${pick(agents)}`,
        aim_p95_ms: 50,
        requests: REQUESTS,
        total: () => count('assignee_id = ?', [agents[0]]),
      },
      {
        route: 'GET /api/v1/tickets/search?filter[status_id]=&filter[team_id]=&filter[open]=1',
        path: () => `/api/v1/tickets/search?filter%5Bstatus_id%5D=${pick(statuses)}&filter%5Bteam_id%5D=${pick(teams)}&filter%5Bopen%5D=1`,
        aim_p95_ms: 50,
        requests: REQUESTS,
        total: () => count('status_id = ? and team_id = ? and open', [statuses[0], teams[0]]),
      },
      {
        route: 'GET /api/v1/tickets/search?filter[status_id]=&filter[team_id]= (open or not)',
        path: () => `/api/v1/tickets/search?filter%5Bstatus_id%5D=${pick(statuses)}&filter%5Bteam_id%5D=${pick(teams)}`,
        aim_p95_ms: 50,
        requests: REQUESTS,
        total: () => count('status_id = ? and team_id = ?', [statuses[0], teams[0]]),
      },
      {
        route: `GET /api/v1/tickets/search?filter[body]=${RARE_TERM} (under 1% of tickets)`,
        path: () => `/api/v1/tickets/search?filter%5Bbody%5D=${RARE_TERM}`,
        aim_p95_ms: 50,
        requests: REQUESTS,
        total: () => count('body ilike ?', [`%${RARE_TERM}%`]),
      },
      {
        route: `GET /api/v1/tickets/search?filter[body]=${COMMON_TERM} (over 10% of tickets)`,
        path: () => `/api/v1/tickets/search?filter%5Bbody%5D=${COMMON_TERM}`,
        aim_p95_ms: 300,
        requests: SLOW_REQUESTS,
        total: () => count('body ilike ?', [`%${COMMON_TERM}%`]),
      },
    ];
    for (const c of cases) {
      if (c.total) {
        // the exact count, for the first of the values picked at random
        const path = c
          .path()
          .replace(/(assignee_id%5D=)\d+/, `$1${agents[0]}`)
          .replace(/(status_id%5D=)\d+/, `$1${statuses[0]}`)
          .replace(/(team_id%5D=)\d+/, `$1${teams[0]}`);
        const [headers, expected] = await Promise.all([get(app.port, path, token), c.total()]);
        if (Number(headers['x-total-count']) !== expected) throw new Error(`${c.route}: X-Total-Count ${headers['x-total-count']}, expected ${expected}`);
      }
      const figure = await measure(() => get(app.port, c.path(), token), { count: c.requests, warmup: 3 });
      report({
        bench: 'reports',
        route: c.route,
        ...figure,
        aim_p95_ms: c.aim_p95_ms,
        meets_aim: figure.p95_ms < c.aim_p95_ms,
        ...(c.total ? { total_checked: true } : {}),
        floor_median_ms: floorFigure.median_ms,
        floor_p95_ms: floorFigure.p95_ms,
        floor: FLOOR,
      });
    }

    await benchPdf(app.port, token, set.largestCustomerId);
    await benchWriteCost(knex, randomId, set.agentId);
  } finally {
    for (const s of servers) s.close();
    keepAlive.destroy();
    await closePdfRenderer();
    await knex.destroy();
  }
}

/**
 * The largest customer's export with its segments, made by the api role in a process of
 * its own (its peak RSS is the kernel's), beside exceljs alone on as many rows here.
 */
async function benchExport(databaseUrl: string, token: string, customerId: number): Promise<void> {
  const knex = db();
  const tickets = Number((await knex('tickets').where({ ticketable_id: customerId }).count({ n: '*' }))[0]!.n);
  const segments = Number(
    (await knex('time_segments as s').join('tickets as t', 't.id', 's.ticket_id').where('t.ticketable_id', customerId).count({ n: '*' }))[0]!.n,
  );
  const smallest = await knex('customers').whereNot({ id: customerId }).orderBy('id').first('id');
  const route = 'PUT /api/v1/tickets/export/{id}?with_segments=true';
  const run = await exportInApiProcess(
    databaseUrl,
    `/api/v1/tickets/export/${customerId}?with_segments=true`,
    `/api/v1/tickets/export/${smallest.id}?with_segments=true`,
    token,
  );
  if (run.result.status !== 200) throw new Error(`${route}: ${run.result.status}`);
  const floor = exportFigures(await withPeakRss(() => writerAlone(tickets + segments)), tickets + segments);
  const rowsPerS = Math.round((tickets + segments) / run.seconds);
  report({
    bench: 'reports',
    route,
    tickets,
    segments,
    bytes: run.result.bytes,
    seconds: run.seconds,
    rows_per_s: rowsPerS,
    server_rss_start_mb: run.server_rss_start_mb,
    server_peak_rss_mb: run.server_peak_rss_mb,
    aim_peak_rss_mb: 300,
    floor_rows_per_s: floor.rows_per_s,
    floor_peak_rss_mb: floor.peak_rss_mb,
    floor: 'exceljs streaming writer alone, as many rows (in the bench process)',
    vs_floor: round(rowsPerS / floor.rows_per_s, 2),
    aim_vs_floor: 0.5,
    meets_aim: run.server_peak_rss_mb < 300 && rowsPerS / floor.rows_per_s >= 0.5,
  });
}

/** Consecutive periods of the customer, each holding about REPORT_TICKETS tickets, the newest first. */
async function reportPeriods(customerId: number, count: number): Promise<{ from: string; to: string; tickets: number }[]> {
  const { rows } = await db().raw(`select min(opened_at) as first, max(opened_at) as last, count(*) as n from tickets where ticketable_id = ?`, [customerId]);
  const perDay = Number(rows[0].n) / Math.max(1, (new Date(rows[0].last).getTime() - new Date(rows[0].first).getTime()) / 86_400_000);
  const days = Math.max(1, Math.round(REPORT_TICKETS / perDay));
  const periods = [];
  let to = new Date(now().getTime() - 86_400_000);
  for (let i = 0; i < count; i++) {
    const from = new Date(to.getTime() - (days - 1) * 86_400_000);
    const n = await db()('tickets')
      .where({ ticketable_id: customerId })
      .whereBetween('opened_at', [`${ymd(from)} 00:00`, `${ymd(to)} 23:59:59.999`])
      .count({ n: '*' });
    periods.push({ from: ymd(from), to: ymd(to), tickets: Number(n[0]!.n) });
    to = new Date(from.getTime() - 86_400_000);
  }
  return periods;
}

function getPdf(port: number, path: string, token: string): Promise<{ status: number; cache: string | undefined; bytes: number }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers: { Authorization: `Bearer ${token}` } }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, cache: res.headers['x-report-cache'] as string | undefined, bytes }));
      })
      .on('error', reject);
  });
}

/** Reports of about 1,000 tickets each, rendered anew with a warm browser, beside puppeteer-core alone on the same HTML. */
async function benchPdf(port: number, token: string, customerId: number): Promise<void> {
  const periods = await reportPeriods(customerId, REPORTS + 1);
  await db()('customer_reports').where({ customer_id: customerId }).delete();
  const url = (p: { from: string; to: string }) => `/api/v1/ticketing/customer_report?customer_id=${customerId}&from=${p.from}&to=${p.to}`;
  const warm = await getPdf(port, url(periods.pop()!), token); // launches the browser
  if (warm.status !== 200) throw new Error(`customer_report: ${warm.status}`);

  const browser = await puppeteer.launch({ executablePath: config().chromiumPath, args: CHROMIUM_ARGS, headless: true });
  try {
    const floorTimes: number[] = [];
    const times: number[] = [];
    for (const p of periods) {
      const t0 = Date.now();
      const res = await getPdf(port, url(p), token);
      times.push(Date.now() - t0);
      if (res.status !== 200 || res.cache === 'hit') throw new Error(`customer_report ${p.from}..${p.to}: ${res.status} ${res.cache}`);
      const { timezone } = await getSettings();
      const html = await db().transaction(async (trx) =>
        customerReportHtml(await customerReportData(trx, customerId, reportPeriod(p.from, p.to, timezone), ymd(now())), now()),
      );
      const f0 = Date.now();
      const page = await browser.newPage();
      await page.setJavaScriptEnabled(false);
      await page.setContent(html, { waitUntil: 'load' });
      await page.pdf({ format: 'A4', printBackground: true });
      await page.close();
      floorTimes.push(Date.now() - f0);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    report({
      bench: 'reports',
      route: 'GET /api/v1/ticketing/customer_report (rendered, warm browser)',
      reports: times.length,
      tickets_per_report: periods.map((p) => p.tickets),
      median_ms: median(times),
      max_ms: Math.max(...times),
      aim_max_ms: 3000,
      meets_aim: Math.max(...times) < 3000,
      floor_median_ms: median(floorTimes),
      floor_max_ms: Math.max(...floorTimes),
      floor: 'the same HTML to PDF by puppeteer-core alone (warm browser, new page)',
    });
  } finally {
    await browser.close();
  }
}

/**
 * The triggers' cost per write: each statement in a transaction of its own, rolled back
 * (the work of the triggers is done by then; only the commit is left out), beside the same
 * statement with `session_replication_role = replica`, under which no user trigger fires.
 */
async function benchWriteCost(knex: Knex, randomId: () => number, agentId: number): Promise<void> {
  const writes: { write: string; sql: string; bindings: () => (number | string)[] }[] = [
    { write: 'close a ticket', sql: 'update tickets set open = false, closed_at = now(), status_id = 3 where id = ?', bindings: () => [randomId()] },
    {
      write: 'add a time segment',
      sql: "insert into time_segments (ticket_id, user_id, kind, minutes) values (?, ?, 'manual', 15)",
      bindings: () => [randomId(), agentId],
    },
    {
      write: "add an agent's reply",
      sql: "insert into replies (ticket_id, body, origin, author_type, author_id, customer_visible) values (?, '<p>Bench</p>', 'admin', 'App\\User', ?, true)",
      bindings: () => [randomId(), agentId],
    },
  ];
  const rolledBack = (sql: string, bindings: () => (number | string)[], withTriggers: boolean) => () =>
    knex
      .transaction(async (trx) => {
        if (!withTriggers) await trx.raw('set local session_replication_role = replica');
        await trx.raw(sql, bindings());
        throw ROLLBACK;
      })
      .catch((e: unknown) => {
        if (e !== ROLLBACK) throw e;
      });
  for (const w of writes) {
    const floor = await measure(rolledBack(w.sql, w.bindings, false), { count: REQUESTS, warmup: 5 });
    const figure = await measure(rolledBack(w.sql, w.bindings, true), { count: REQUESTS, warmup: 5 });
    report({
      bench: 'reports',
      write: w.write,
      ...figure,
      floor_median_ms: floor.median_ms,
      floor_p95_ms: floor.p95_ms,
      floor: 'the same statement with the triggers off (session_replication_role = replica), rolled back too',
      extra_median_ms: round(figure.median_ms - floor.median_ms, 2),
    });
  }
}

const ROLLBACK = new Error('rolled back on purpose');

if (require.main === module) {
  benchReports().catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
