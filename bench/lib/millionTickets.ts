/**
 * The data set of `npm run bench reports`: BENCH_TICKETS tickets (default 1,000,000) over
 * the last three years, three replies and one time segment each, for 2,000 customers, one
 * of which (the largest) holds a tenth of them. Loaded with set-based SQL into a database
 * named after its size and the schema (a hash of the migrations), and kept: a rerun finds it
 * marked complete and pays nothing. A schema change or another size makes a new one (the
 * old ones are dropped first, they are gigabytes).
 *
 * The ticket indexes are dropped during the load and made again after it, from the
 * definitions the migrations created, so the bench measures exactly the schema's indexes.
 *
 * What triggers keep (the facts and rollups of migration 20261204000000, the search rows
 * of 20261204200000) is computed once after the load, by the same functions the migration
 * and the `ticket-rollups` job use.
 *
 * Body terms for the search: `kerberos` is in 0.5% of the tickets, `printer` in 12.5%.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { createKnex, useDatabase } from '../../src/db/knex';
import { migrateLatest } from '../../src/db/migrate';
import { admin, databaseUrl } from './database';

const PREFIX = 'hd_bench_million_';

export const RARE_TERM = 'kerberos';
export const COMMON_TERM = 'printer';
/** Days the tickets are spread over, back from now. */
const SPAN_DAYS = 3 * 365;
const CUSTOMERS = 2000;
const AGENTS = 20;
const TEAMS = 5;

export interface MillionTickets {
  knex: Knex;
  /** The data set's database URL. */
  url: string;
  tickets: number;
  replies: number;
  /** The customer with a tenth of the tickets. */
  largestCustomerId: number;
  agentId: number;
  /** Seconds the load took (0: the kept data set was reused). */
  loadSeconds: number;
}

const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

/** A unique ticket number for `g` (SQL): `g` in base 31, six digits of the number alphabet. */
const numberOf = (g: string) => Array.from({ length: 6 }, (_, k) => `substr('${ALPHABET}', 1 + ((${g} / ${31 ** k}) % 31)::int, 1)`).join(' || ');

/** A short hash of the migrations' text: another schema makes another data set. */
function schemaKey(): string {
  const dir = path.join(__dirname, '../../migrations');
  const hash = crypto.createHash('sha256');
  for (const f of fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.ts'))
    .sort())
    hash.update(f).update(fs.readFileSync(path.join(dir, f)));
  return hash.digest('hex').slice(0, 12);
}

async function isComplete(name: string): Promise<boolean> {
  const exists = await admin(async (c) => (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1);
  if (!exists) return false;
  const knex = createKnex(databaseUrl(name), 2);
  try {
    return (await knex.schema.hasTable('bench_dataset')) && (await knex('bench_dataset').first('complete'))?.complete === true;
  } finally {
    await knex.destroy();
  }
}

/** The indexes of `tables` that no constraint owns, with the SQL that makes them. */
async function secondaryIndexes(knex: Knex, tables: string[]): Promise<{ name: string; sql: string }[]> {
  const { rows } = await knex.raw(
    `select i.indexname as name, i.indexdef as sql from pg_indexes i
     where i.schemaname = 'public' and i.tablename = any(?)
       and not exists (select 1 from pg_constraint c where c.conname = i.indexname)`,
    [tables],
  );
  return rows;
}

async function load(knex: Knex, tickets: number): Promise<void> {
  const tables = ['tickets', 'replies', 'time_segments', 'ticket_contacts', 'ticket_search'];
  const indexes = await secondaryIndexes(knex, tables);
  for (const i of indexes) await knex.raw(`drop index ${i.name}`);
  // the facts and rollups the triggers keep are computed once, set-based, after the load
  for (const t of tables) await knex.raw(`alter table ${t} disable trigger user`);

  await knex.raw(
    `insert into users (name, email, role) select 'Agent ' || g, 'agent' || g || '@helpdesk.test', case when g = 1 then 'admin' else 'agent' end
     from generate_series(1, ${AGENTS}) g`,
  );
  await knex.raw(`insert into support_teams (name) select 'Team ' || g from generate_series(1, ${TEAMS}) g`);
  await knex.raw(
    `insert into support_team_members (support_team_id, user_id) select 1 + (u.id % ${TEAMS}), u.id from users u where u.email like 'agent%@helpdesk.test'`,
  );
  await knex.raw(
    `insert into customers (name, email_domains)
     select case when g = 1 then 'Largest Customer Ltd' else 'Customer ' || g end, array['c' || g || '.test'] from generate_series(1, ${CUSTOMERS}) g`,
  );
  await knex.raw(
    `insert into contacts (contactable_id, name, email)
     select 1 + (g % ${CUSTOMERS}), 'Contact ' || g, 'contact' || g || '@c' || (1 + g % ${CUSTOMERS}) || '.test' from generate_series(1, ${3 * CUSTOMERS}) g`,
  );
  const [{ first: firstAgent }] = (await knex.raw(`select min(id) as first from users where email like 'agent%@helpdesk.test'`)).rows;
  const [{ first: firstTeam }] = (await knex.raw('select min(id) as first from support_teams')).rows;
  const [{ first: firstCustomer }] = (await knex.raw('select min(id) as first from customers')).rows;
  const [{ first: firstContact }] = (await knex.raw('select min(id) as first from contacts')).rows;
  const [{ first: firstStatus }] = (await knex.raw('select min(id) as first from ticket_statuses')).rows;
  const [{ first: firstPriority }] = (await knex.raw('select min(id) as first from priorities')).rows;
  const [{ category, sub }] = (await knex.raw('select ticket_category_id as category, id as sub from ticket_sub_categories order by id limit 1')).rows;

  // g = 1 is the oldest ticket, g = tickets the newest; every tenth is the largest customer's
  await knex.raw(
    `insert into tickets (number, subject, body, ticketable_id, priority_id, ticket_category_id, ticket_sub_category_id,
       status_id, team_id, assignee_id, author_type, author_id, contact_id, open, origin, opened_via,
       exchanges, time, points, billable, billed, reopen_count, opened_at, closed_at, created_at, updated_at)
     select ${numberOf('g')},
       'Ticket ' || g || ': ' || w.a || ' ' || w.b,
       '<p>Hello, the ' || w.a || ' ' || w.b || ' stopped working this morning'
         || case when g % 8 = 0 then ' and the ${COMMON_TERM} too' else '' end
         || case when g % 200 = 0 then ', ${RARE_TERM} says the ticket expired' else '' end
         || '. Reference ' || md5(g::text) || '.</p>',
       case when g % 10 = 0 then ${firstCustomer} else ${firstCustomer} + 1 + g % ${CUSTOMERS - 1} end,
       ${firstPriority} + g % 4, ${category}, ${sub}, ${firstStatus} + g % 4,
       case when g % 11 = 0 then null else ${firstTeam} + g % ${TEAMS} end,
       case when g % 7 = 0 then null else ${firstAgent} + g % ${AGENTS} end,
       'App\\Contact', ${firstContact} + g % ${3 * CUSTOMERS}, ${firstContact} + g % ${3 * CUSTOMERS},
       o.open, case when g % 3 = 0 then 'admin' else 'email' end, case when g % 3 = 0 then 'application' else 'email' end,
       3, g % 240, round((g % 240) / 60.0, 2), g % 5 <> 0, g % 8 = 0, case when g % 97 = 0 then 1 else 0 end,
       o.at, case when not o.open then o.at + ((1 + g % 72) || ' hours')::interval end, o.at, o.at
     from generate_series(1, ${tickets}) g
     cross join lateral (select (array['scanner','laptop','vpn','mailbox','invoice','screen','backup','phone'])[1 + g % 8] as a,
                                (array['queue','login','license','sync','access','update'])[1 + g % 6] as b) w
     cross join lateral (select now() - ((${tickets} - g) * (${SPAN_DAYS} * 86400.0 / ${tickets}) || ' seconds')::interval as at,
                                g > ${Math.floor(tickets * 0.98)} or g % 50 = 0 as open) o`,
  );
  await knex.raw('insert into ticket_contacts (ticket_id, contact_id) select id, contact_id from tickets');
  // the agent's first response, the customer's answer, the agent's second reply
  await knex.raw(
    `insert into replies (ticket_id, body, origin, author_type, author_id, contact_id, customer_visible, seen_at, created_at, updated_at)
     select t.id, '<p>Reply ' || r || ' on ' || t.number || '</p>', case when r = 2 then 'email' else 'admin' end,
       case when r = 2 then 'App\\Contact' else 'App\\User' end,
       case when r = 2 then t.contact_id else coalesce(t.assignee_id, ${firstAgent}) end,
       case when r = 2 then t.contact_id end, true, t.opened_at + (r || ' hours')::interval,
       t.opened_at + ((r * 30 + t.id % 90) || ' minutes')::interval, t.opened_at + ((r * 30 + t.id % 90) || ' minutes')::interval
     from tickets t, generate_series(1, 3) r`,
  );
  await knex.raw(
    `insert into time_segments (ticket_id, user_id, kind, started_at, ended_at, minutes, billable, note, created_at, updated_at)
     select t.id, coalesce(t.assignee_id, ${firstAgent}), 'tracked', t.opened_at, t.opened_at + (t.time || ' minutes')::interval, t.time,
       t.billable, case when t.id % 4 = 0 then 'phone call' end, t.opened_at, t.opened_at
     from tickets t`,
  );
  // before the indexes are made again: the update then writes no index entries
  await knex.raw('select ticket_facts_rebuild()');
  await knex.raw(`select ticket_rollups_rebuild('UTC')`);
  await knex.raw('insert into ticket_search (ticket_id, body) select id, lower(body) from tickets');
  await knex.raw('vacuum full tickets'); // the facts' update left a dead copy of every row
  for (const t of tables) await knex.raw(`alter table ${t} enable trigger user`);
  for (const i of indexes) await knex.raw(i.sql);
  await knex.raw('vacuum analyze');
}

/** The kept data set of `tickets` tickets, loaded first when there is none. */
export async function millionTickets(tickets = Number(process.env.BENCH_TICKETS ?? 1_000_000)): Promise<MillionTickets> {
  const name = `${PREFIX}${tickets}_${schemaKey()}`;
  let loadSeconds = 0;
  if (!(await isComplete(name))) {
    const t0 = Date.now();
    await admin(async (c) => {
      const { rows } = await c.query(`select datname from pg_database where datname like '${PREFIX}%'`);
      for (const r of rows) await c.query(`drop database ${r.datname} with (force)`);
      await c.query(`create database ${name}`);
    });
    const knex = createKnex(databaseUrl(name), 4);
    try {
      await migrateLatest(knex);
      await load(knex, tickets);
      await knex.schema.createTable('bench_dataset', (t) => t.boolean('complete').notNullable());
      await knex('bench_dataset').insert({ complete: true });
    } finally {
      await knex.destroy();
    }
    loadSeconds = (Date.now() - t0) / 1000;
  }
  const knex = createKnex(databaseUrl(name), 10);
  useDatabase(knex);
  const count = async (table: string) => Number((await knex(table).count({ n: '*' }))[0]!.n);
  const largest = await knex('customers').where({ name: 'Largest Customer Ltd' }).first('id');
  const agent = await knex('users').where({ email: 'agent1@helpdesk.test' }).first('id');
  return {
    knex,
    url: databaseUrl(name),
    tickets: await count('tickets'),
    replies: await count('replies'),
    largestCustomerId: largest.id,
    agentId: agent.id,
    loadSeconds,
  };
}
