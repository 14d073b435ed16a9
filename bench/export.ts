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
import type { Knex } from 'knex';
import { createApp } from '../src/http/app';
import { createToken } from '../src/services/auth/tokens';
import { dropDatabase, freshDatabase } from './lib/database';
import { exportFigures, exportOver, withPeakRss, writerAlone } from './lib/exportRun';
import { report } from './lib/stats';

const TICKETS = Number(process.env.BENCH_EXPORT_TICKETS ?? 20_000);
const DB = 'hd_bench_export';

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
    const floorFig = exportFigures(floor, bigTickets);
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
      const fig = exportFigures(run, tickets + segments);
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

if (require.main === module) {
  benchExport().catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
