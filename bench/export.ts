/**
 * Excel export at size: `PUT /api/v1/tickets/export/{id}` of a customer with
 * BENCH_EXPORT_TICKETS tickets (default 20,000, two time segments each), and of one with a
 * quarter of that, through the HTTP app, the response read as it comes. Beside it the
 * floor: exceljs's streaming writer alone writing the same number of rows, made up in
 * memory, into a sink. Each figure carries the process's peak RSS during that phase (sampled
 * every 5 ms) above the RSS it started from (flat across sizes is the point), and the CPU time
 * of this process (client included) against the wall time.
 */
import http from 'node:http';
import { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import type { Knex } from 'knex';
import { createApp } from '../src/http/app';
import { textCell } from '../src/rendering/xlsx';
import { createToken } from '../src/services/auth/tokens';
import { TICKET_COLUMNS } from '../src/services/tickets/exportTickets';
import { dropDatabase, freshDatabase } from './lib/database';
import { report } from './lib/stats';

const TICKETS = Number(process.env.BENCH_EXPORT_TICKETS ?? 20_000);
const DB = 'hd_bench_export';
const MB = 1024 * 1024;

/** Two customers (TICKETS and TICKETS / 4 tickets) and a third one's noise, set-based. */
async function load(knex: Knex): Promise<{ big: number; small: number; agentId: number }> {
  const [agent] = await knex('users').insert({ name: 'Bench Agent', email: 'bench@helpdesk.test', role: 'admin' }).returning('id');
  const [team] = await knex('support_teams').insert({ name: 'Bench team' }).returning('id');
  const customers = await knex('customers')
    .insert([{ name: 'Big customer' }, { name: 'Small customer' }, { name: 'Others' }])
    .returning('id');
  const [big, small, others] = customers.map((c: { id: number }) => c.id) as [number, number, number];
  const plan: [number, number][] = [
    [big, TICKETS],
    [small, Math.ceil(TICKETS / 4)],
    [others, TICKETS],
  ];
  for (const [customerId, count] of plan) {
    await knex.raw(
      `insert into tickets (number, subject, body, ticketable_id, priority_id, ticket_category_id, ticket_sub_category_id,
         status_id, team_id, assignee_id, author_type, author_id, opener_id, open, origin, opened_via, opened_at, closed_at,
         time, points, billable, billed, created_at)
       select n.number,
         case when g % 10 = 0 then '=HYPERLINK("http://x","ticket ' || g || '")' else 'Printer on floor ' || (g % 7) || ' does not print, ticket ' || g end,
         '<p>body</p>', ?, 1 + (g % 4), 1, 1, 1 + (g % 4), case when g % 3 = 0 then null else ?::int end, ?::int, 'App\\User', ?::int, ?::int,
         g % 4 <> 0, 'admin', 'application', now() - (g || ' minutes')::interval,
         case when g % 4 = 0 then now() - (g || ' minutes')::interval + interval '3 hours' end,
         g % 240, (g % 240) / 60.0, g % 5 <> 0, g % 8 = 0, now() - (g || ' minutes')::interval
       from generate_series(1, ?) g,
       lateral (select string_agg(substr('ABCDEFGHJKMNPQRSTUVWXYZ23456789', 1 + floor(random() * 31)::int, 1), '') as number
                from generate_series(1, 6) where g > 0) n
       on conflict (number) do nothing`,
      [customerId, team.id, agent.id, agent.id, agent.id, count],
    );
  }
  await knex.raw(
    `insert into time_segments (ticket_id, user_id, kind, started_at, ended_at, minutes, billable, note)
     select t.id, ?, case when k = 1 then 'tracked' else 'manual' end,
       case when k = 1 then t.opened_at end, case when k = 1 then t.opened_at + interval '25 minutes' end,
       case when k = 1 then 25 else 10 end, true, case when k = 2 then 'phone call' end
     from tickets t, generate_series(1, 2) k`,
    [agent.id],
  );
  await knex.raw('analyze');
  return { big, small, agentId: agent.id };
}

/** Samples RSS while `work` runs: its peak, and the RSS it started from. */
async function withPeakRss<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number; cpu_seconds: number; rss_start_mb: number; peak_rss_mb: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return {
      result,
      seconds: Math.round(Number(process.hrtime.bigint() - t0) / 1e6) / 1000,
      cpu_seconds: cpuSeconds(process.cpuUsage(cpu0)),
      rss_start_mb: Math.round(start / MB),
      peak_rss_mb: Math.round(peak / MB),
    };
  } finally {
    clearInterval(timer);
  }
}

/** Counts what is written to it and keeps nothing. */
function sink(): Writable & { bytes: number } {
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      w.bytes += chunk.length;
      done();
    },
  }) as Writable & { bytes: number };
  w.bytes = 0;
  return w;
}

/** The floor: the streaming writer alone, same options, same columns and cell types, no database, no HTTP. */
async function writerAlone(rows: number): Promise<number> {
  const out = sink();
  const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  const sheet = writer.addWorksheet('Tickets', { views: [{ state: 'frozen', xSplit: 0, ySplit: 1 }] });
  sheet.columns = TICKET_COLUMNS.map((c) => ({ width: c.width, ...(c.numFmt ? { style: { numFmt: c.numFmt } } : {}) }));
  const header = sheet.addRow(TICKET_COLUMNS.map((c) => c.header));
  header.font = { bold: true };
  header.commit();
  const opened = new Date();
  for (let g = 1; g <= rows; g++) {
    sheet
      .addRow([
        textCell('ABC234'),
        textCell(`Printer on floor ${g % 7} does not print, ticket ${g}`),
        textCell('In progress'),
        textCell('Normal'),
        textCell('General'),
        textCell('Bench team'),
        textCell('Bench Agent'),
        opened,
        g % 4 === 0 ? opened : null,
        g % 240,
        (g % 240) / 60,
        g % 5 !== 0,
        g % 8 === 0,
      ])
      .commit();
    if (g % 500 === 0) await new Promise(setImmediate); // as the export yields between batches
  }
  sheet.autoFilter = { from: { row: 1, column: 1 }, to: { row: rows + 1, column: TICKET_COLUMNS.length } };
  sheet.commit();
  await writer.commit();
  return out.bytes;
}

function exportOver(port: number, path: string, token: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'PUT', headers: { Authorization: `Bearer ${token}` } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export async function benchExport(): Promise<void> {
  const { knex } = await freshDatabase(DB);
  const server = http.createServer(createApp().callback());
  try {
    const t0 = Date.now();
    const { big, small, agentId } = await load(knex);
    const count = async (id: number) => Number((await knex('tickets').where({ ticketable_id: id }).count({ n: '*' }))[0]!.n);
    const [bigTickets, smallTickets] = [await count(big), await count(small)];
    report({ bench: 'export', step: 'load', tickets: bigTickets, small_tickets: smallTickets, seconds: (Date.now() - t0) / 1000 });
    const token = await createToken({ userId: agentId });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;

    await exportOver(port, `/api/v1/tickets/export/${small}`, token); // warm-up: first-use code paths and pools
    const floor = await withPeakRss(() => writerAlone(bigTickets));
    const floorFig = figures(floor, bigTickets);
    report({ bench: 'export', case: 'floor: exceljs streaming writer alone, rows made in memory', rows: bigTickets, bytes: floor.result, ...floorFig });

    const segmentsOf = async (id: number) =>
      Number((await knex('time_segments as s').join('tickets as t', 't.id', 's.ticket_id').where('t.ticketable_id', id).count({ n: '*' }))[0]!.n);
    const cases: [string, number, number, number][] = [
      ['PUT /api/v1/tickets/export/{id}', big, bigTickets, 0],
      ['PUT /api/v1/tickets/export/{id}', small, smallTickets, 0],
      ['PUT /api/v1/tickets/export/{id}?with_segments=true', big, bigTickets, await segmentsOf(big)],
    ];
    for (const [name, id, tickets, segments] of cases) {
      const run = await withPeakRss(() => exportOver(port, name.slice('PUT '.length).replace('{id}', String(id)), token));
      if (run.result.status !== 200) throw new Error(`${name}: ${run.result.status}`);
      const fig = figures(run, tickets + segments);
      report({
        bench: 'export',
        route: name,
        tickets,
        ...(segments ? { segments } : {}),
        bytes: run.result.bytes,
        ...fig,
        floor_rows_per_s: floorFig.rows_per_s,
        floor: 'exceljs streaming writer alone',
        slowdown_vs_floor: Math.round((floorFig.rows_per_s / fig.rows_per_s) * 10) / 10,
      });
    }
  } finally {
    server.close();
    await knex.destroy();
    await dropDatabase(DB);
  }
}

function figures(run: { seconds: number; cpu_seconds: number; rss_start_mb: number; peak_rss_mb: number }, rows: number) {
  return {
    seconds: run.seconds,
    cpu_seconds: run.cpu_seconds,
    rows_per_s: Math.round(rows / run.seconds),
    rss_start_mb: run.rss_start_mb,
    peak_rss_mb: run.peak_rss_mb,
    peak_rss_growth_mb: run.peak_rss_mb - run.rss_start_mb,
  };
}

if (require.main === module) {
  benchExport().catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}

function cpuSeconds(used: NodeJS.CpuUsage): number {
  return Math.round((used.user + used.system) / 1000) / 1000;
}
