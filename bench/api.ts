/**
 * API latency at size: 100,000 tickets with 300,000 replies. Median and p95 of the show,
 * the body search and the counts, each beside the floor measured in the same run: a bare
 * Koa route doing one primary-key query through knex.
 */
import type { Knex } from 'knex';
import { createApp } from '../src/http/app';
import { createToken } from '../src/services/auth/tokens';
import { dropDatabase, freshDatabase } from './lib/database';
import { FLOOR, floorApp, get, keepAlive, listen } from './lib/http';
import { measure, report } from './lib/stats';

const TICKETS = Number(process.env.BENCH_TICKETS ?? 100_000);
const REPLIES_PER_TICKET = 3;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 500);
const DB = 'hd_bench_api';

const WORDS = (
  'printer network outage invoice password reset laptop screen keyboard mouse email server backup ' +
  'license renewal firewall router switch cable monitor docking station account locked vpn access ' +
  'slow crash update install driver scanner phone headset calendar meeting share folder permission'
).split(' ');

/** Loads the data set with set-based SQL (seconds, not minutes). */
async function load(knex: Knex): Promise<void> {
  const words = `(array[${WORDS.map((w) => `'${w}'`).join(',')}])`;
  const [agent] = await knex('users').insert({ name: 'Bench Agent', email: 'bench@helpdesk.test', role: 'admin' }).returning('id');
  await knex.raw(`insert into customers (name, email_domains) select 'Customer ' || g, array['c' || g || '.test'] from generate_series(1, 2000) g`);
  await knex.raw(
    `insert into contacts (contactable_id, name, email)
     select 1 + (g % 2000), 'Contact ' || g, 'contact' || g || '@c' || (1 + g % 2000) || '.test' from generate_series(1, 6000) g`,
  );
  await knex.raw(
    `insert into tickets (number, subject, body, ticketable_id, priority_id, ticket_category_id, ticket_sub_category_id,
       status_id, assignee_id, author_type, author_id, opener_id, contact_id, open, origin, opened_via, opened_at, created_at)
     select n.number, 'Ticket ' || g,
       '<p>' || ${words}[1 + (g * 7) % ${WORDS.length}] || ' ' || ${words}[1 + (g * 13) % ${WORDS.length}] || ' ' ||
         ${words}[1 + (g * 31) % ${WORDS.length}] || ' reference ' || md5(g::text) || '</p>',
       1 + (g % 2000), 1 + (g % 4), 1, 1, 1 + (g % 3), case when g % 3 = 0 then null else ?::int end, 'App\\User', ?::int, ?::int,
       1 + (g % 6000), g % 4 <> 0, 'admin', 'application', now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval
     from generate_series(1, ?) g,
     lateral (select string_agg(substr('ABCDEFGHJKMNPQRSTUVWXYZ23456789', 1 + floor(random() * 31)::int, 1), '') as number
              from generate_series(1, 6) where g > 0) n
     on conflict (number) do nothing`,
    [agent.id, agent.id, agent.id, TICKETS],
  );
  await knex.raw(`insert into ticket_contacts (ticket_id, contact_id) select id, contact_id from tickets`);
  await knex.raw(
    `insert into replies (ticket_id, body, origin, author_type, author_id, customer_visible, seen_at)
     select t.id, '<p>reply ' || r || ' to ' || t.number || '</p>', 'admin', 'App\\User', ?, true,
            case when r < ${REPLIES_PER_TICKET} then now() else null end
     from tickets t, generate_series(1, ${REPLIES_PER_TICKET}) r`,
    [agent.id],
  );
  await knex.raw('analyze');
}

export async function benchApi(): Promise<void> {
  const { knex } = await freshDatabase(DB);
  try {
    const t0 = Date.now();
    await load(knex);
    const [{ count }] = await knex('tickets').count({ count: '*' });
    const [{ replies }] = await knex('replies').count({ replies: '*' });
    report({ bench: 'api', step: 'load', tickets: Number(count), replies: Number(replies), seconds: (Date.now() - t0) / 1000 });
    const token = await createToken({ userId: (await knex('users').first('id')).id });
    const maxId = (await knex('tickets').max({ m: 'id' }))[0].m as number;
    const floor = await listen(floorApp(knex));
    const app = await listen(createApp());
    const randomId = () => 1 + Math.floor(Math.random() * maxId);
    const opts = { count: REQUESTS, concurrency: 1 };

    const floorFigure = await measure(() => get(floor.port, `/tickets/${randomId()}`), opts);
    const cases: [string, () => string][] = [
      ['GET /api/v1/tickets/{id}', () => `/api/v1/tickets/${randomId()}`],
      [
        'GET /api/v1/tickets/search?filter[body]=...',
        () => `/api/v1/tickets/search?filter%5Bbody%5D=${WORDS[Math.floor(Math.random() * WORDS.length)]}%20${WORDS[Math.floor(Math.random() * WORDS.length)]}`,
      ],
      ['GET /api/v1/tickets/counts', () => '/api/v1/tickets/counts'],
    ];
    for (const [name, path] of cases) {
      const figure = await measure(() => get(app.port, path(), token), opts);
      report({
        bench: 'api',
        route: name,
        ...figure,
        floor_median_ms: floorFigure.median_ms,
        floor_p95_ms: floorFigure.p95_ms,
        floor: FLOOR,
        p95_vs_floor: Math.round((figure.p95_ms / floorFigure.p95_ms) * 10) / 10,
      });
    }
    floor.server.close();
    app.server.close();
  } finally {
    keepAlive.destroy();
    await knex.destroy();
    await dropDatabase(DB);
  }
}

if (require.main === module) {
  benchApi().catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
