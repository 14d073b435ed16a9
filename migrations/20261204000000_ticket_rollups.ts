/**
 * Insights and counts at a million tickets (issue 12), kept by the database in the same
 * transaction as every write, never by a cache that can go stale:
 *
 * - Two facts of a ticket that the insights read are stored on it:
 *   `first_response_at` (the first customer-visible reply by an agent that is not
 *   automatic, as figures.ts defines it) and `minutes` (the sum of its time segments).
 *   Statement triggers on `replies` and `time_segments` keep them, set-based.
 * - `ticket_rollup_deltas` receives, from statement triggers on `tickets`, what each write
 *   changed: per local day of opening, the tickets and the sums the averages need, one
 *   count per value of each breakdown; per local day of closing, the closures; and the
 *   current open/closed counts per assignee (`GET /tickets/counts`). Rows are only ever
 *   appended, so concurrent writers never wait on one another.
 * - `ticket_rollups` holds the same rows summed: the `ticket-rollups` job moves the deltas
 *   into it every minute (ticket_rollups_compact). A reader sums both, so an answer is
 *   exact at any moment, whether the job ran or not.
 * - Days are those of `ticket_rollup_state.timezone`, the zone the rollups were built in:
 *   the readers use them only while it is the config's time zone; the job rebuilds them
 *   (ticket_rollups_rebuild) when the setting changes. Until it has, the insights are
 *   computed from the tickets. The triggers never read the config, so a bad stored
 *   setting cannot break a write.
 *
 * src/services/insights/figures.ts defines every figure over the tickets and over these
 * rows; a test proves both give the same answers.
 */
import type { Knex } from 'knex';

/** The first response of the ticket `id`, as figures.ts's FIRST_RESPONSE_AT. */
const FIRST_RESPONSE = `select min(r.created_at) from replies r
   where r.ticket_id = $1 and r.customer_visible and not r.auto_closure_message
     and r.author_type = 'App\\User' and r.author_id is not null and r.origin <> 'system'
     and not ('auto_reply' = any(r.flags))`;

/** Whether a reply row `r` is a response (the same conditions). */
const IS_RESPONSE = `r.customer_visible and not r.auto_closure_message and r.author_type = 'App\\User'
     and r.author_id is not null and r.origin <> 'system' and not ('auto_reply' = any(r.flags))`;

/** The rollup row's columns after (kind, day, dimension, value). */
const SUMS = [
  'tickets',
  'open',
  'closed',
  'exchanges',
  'points',
  'reopened',
  'responded',
  'first_response_minutes',
  'resolved',
  'resolution_minutes',
  'minutes',
];

/** Minutes from the opening `o.opened` to `later`, 0 when `later` comes first (as figures.ts). */
const minutesAfterOpening = (later: string) => `case when ${later} < o.opened then 0 else extract(epoch from ${later} - o.opened) / 60 end`;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tickets', (t) => {
    t.timestamp('first_response_at', { useTz: true });
    t.integer('minutes').notNullable().defaultTo(0);
  });

  // --- the two stored facts
  await knex.raw(`create function ticket_first_response_at(integer) returns timestamptz language sql stable as $$ ${FIRST_RESPONSE} $$`);
  await knex.raw(
    `create function ticket_minutes(integer) returns integer language sql stable as
     $$ select coalesce(sum(s.minutes), 0)::int from time_segments s where s.ticket_id = $1 $$`,
  );
  await knex.raw(`
    create function ticket_facts_rebuild() returns void language sql as $$
      update tickets t set first_response_at = x.first_response_at, minutes = x.minutes
      from (select t.id, fr.at as first_response_at, coalesce(s.minutes, 0) as minutes
              from tickets t
              left join (select r.ticket_id, min(r.created_at) as at from replies r where ${IS_RESPONSE} group by r.ticket_id) fr on fr.ticket_id = t.id
              left join (select s.ticket_id, sum(s.minutes)::int as minutes from time_segments s group by s.ticket_id) s on s.ticket_id = t.id) x
      where t.id = x.id and (t.first_response_at is distinct from x.first_response_at or t.minutes <> x.minutes)
    $$`);
  // a new reply can only bring the first response forward; a changed or removed one is recomputed
  await knex.raw(`
    create function replies_keep_first_response() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        update tickets t set first_response_at = x.at
        from (select r.ticket_id, min(r.created_at) as at from new_rows r where ${IS_RESPONSE} group by r.ticket_id) x
        where t.id = x.ticket_id and (t.first_response_at is null or t.first_response_at > x.at);
      elsif tg_op = 'UPDATE' then
        update tickets t set first_response_at = ticket_first_response_at(t.id)
        where t.id in (select o.ticket_id from old_rows o union select n.ticket_id from new_rows n)
          and t.first_response_at is distinct from ticket_first_response_at(t.id);
      else
        update tickets t set first_response_at = ticket_first_response_at(t.id)
        where t.id in (select o.ticket_id from old_rows o) and t.first_response_at is distinct from ticket_first_response_at(t.id);
      end if;
      return null;
    end $$`);
  await knex.raw(`
    create function time_segments_keep_minutes() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        update tickets t set minutes = ticket_minutes(t.id) where t.id in (select n.ticket_id from new_rows n);
      elsif tg_op = 'UPDATE' then
        update tickets t set minutes = ticket_minutes(t.id)
        where t.id in (select o.ticket_id from old_rows o union select n.ticket_id from new_rows n) and t.minutes <> ticket_minutes(t.id);
      else
        update tickets t set minutes = ticket_minutes(t.id) where t.id in (select o.ticket_id from old_rows o) and t.minutes <> ticket_minutes(t.id);
      end if;
      return null;
    end $$`);
  for (const [table, fn] of [
    ['replies', 'replies_keep_first_response'],
    ['time_segments', 'time_segments_keep_minutes'],
  ] as const) {
    await knex.raw(
      `create trigger ${table}_facts_insert after insert on ${table} referencing new table as new_rows for each statement execute function ${fn}()`,
    );
    await knex.raw(
      `create trigger ${table}_facts_update after update on ${table} referencing old table as old_rows new table as new_rows for each statement execute function ${fn}()`,
    );
    await knex.raw(
      `create trigger ${table}_facts_delete after delete on ${table} referencing old table as old_rows for each statement execute function ${fn}()`,
    );
  }

  // --- the rollups
  await knex.raw(`create table ticket_rollup_state (only_row boolean primary key default true check (only_row), timezone text)`);
  await knex.raw(`insert into ticket_rollup_state (timezone) values (null)`);
  const sumColumns = `tickets integer not null default 0, open integer not null default 0, closed integer not null default 0,
    exchanges bigint not null default 0, points numeric not null default 0, reopened integer not null default 0,
    responded integer not null default 0, first_response_minutes numeric not null default 0, resolved integer not null default 0,
    resolution_minutes numeric not null default 0, minutes bigint not null default 0`;
  await knex.raw(`create table ticket_rollups (kind text not null, day date, dimension text not null, value text, ${sumColumns},
    constraint ticket_rollups_key unique nulls not distinct (kind, day, dimension, value))`);
  await knex.raw(
    `create table ticket_rollup_deltas (id bigserial primary key, kind text not null, day date, dimension text not null, value text, ${sumColumns})`,
  );

  // what one ticket row contributes, times `sign`: `now` (every ticket), `opened` and `closed` (not invoicing)
  await knex.raw(`
    create function ticket_rollup_rows(t tickets, sign integer, tz text)
    returns table (kind text, day date, dimension text, value text, tickets integer, open integer, closed integer, exchanges bigint,
      points numeric, reopened integer, responded integer, first_response_minutes numeric, resolved integer, resolution_minutes numeric, minutes bigint)
    language sql stable as $$
      with o as (select coalesce(t.opened_at, t.created_at) as opened, t.opened_via <> 'invoicing' as support)
      select 'now', null::date, case when t.open then 'open' else 'closed' end, case when t.open then t.assignee_id::text end,
        sign, 0, 0, 0::bigint, 0::numeric, 0, 0, 0::numeric, 0, 0::numeric, 0::bigint
      union all
      select 'opened', (o.opened at time zone tz)::date, 'total', null, sign, sign * t.open::int, sign * (not t.open)::int,
        sign * t.exchanges::bigint, sign * t.points, sign * (t.reopen_count > 0)::int, sign * (t.first_response_at is not null)::int,
        sign * coalesce(${minutesAfterOpening('t.first_response_at')}, 0), sign * (not t.open and t.closed_at is not null)::int,
        sign * coalesce(case when not t.open then ${minutesAfterOpening('t.closed_at')} end, 0), sign * t.minutes::bigint
      from o where o.support
      union all
      select 'opened', (o.opened at time zone tz)::date, d.dimension, d.value, sign, 0, 0, 0::bigint, 0::numeric, 0, 0, 0::numeric, 0, 0::numeric, 0::bigint
      from o, (values ('status', t.status_id::text), ('priority', t.priority_id::text), ('category', t.ticket_category_id::text),
                      ('team', t.team_id::text), ('assignee', t.assignee_id::text), ('origin', t.origin::text)) d(dimension, value)
      where o.support
      union all
      select 'closed', (t.closed_at at time zone tz)::date, 'total', null, sign, 0, 0, 0::bigint, 0::numeric, 0, 0, 0::numeric, 0, 0::numeric, 0::bigint
      from o where o.support and t.closed_at is not null
    $$`);
  const summed = SUMS.map((c) => `sum(r.${c})`).join(', ');
  const nonZero = SUMS.map((c) => `sum(r.${c}) <> 0`).join(' or ');
  const insertDeltas = (source: string) =>
    `insert into ticket_rollup_deltas (kind, day, dimension, value, ${SUMS.join(', ')})
     select r.kind, r.day, r.dimension, r.value, ${summed} from (${source}) r group by r.kind, r.day, r.dimension, r.value having ${nonZero}`;
  await knex.raw(`
    create function tickets_record_rollups() returns trigger language plpgsql as $$
    declare tz text := (select s.timezone from ticket_rollup_state s);
    begin
      if tz is null then return null; end if; -- not built yet: the rebuild counts everything
      if tg_op = 'INSERT' then
        ${insertDeltas('select c.* from new_rows n cross join lateral ticket_rollup_rows(n, 1, tz) c')};
      elsif tg_op = 'UPDATE' then
        ${insertDeltas(
          `select c.* from old_rows o cross join lateral ticket_rollup_rows(o, -1, tz) c
           union all select c.* from new_rows n cross join lateral ticket_rollup_rows(n, 1, tz) c`,
        )};
      else
        ${insertDeltas('select c.* from old_rows o cross join lateral ticket_rollup_rows(o, -1, tz) c')};
      end if;
      return null;
    end $$`);
  await knex.raw(
    `create trigger tickets_rollups_insert after insert on tickets referencing new table as new_rows for each statement execute function tickets_record_rollups()`,
  );
  await knex.raw(
    `create trigger tickets_rollups_update after update on tickets referencing old table as old_rows new table as new_rows for each statement execute function tickets_record_rollups()`,
  );
  await knex.raw(
    `create trigger tickets_rollups_delete after delete on tickets referencing old table as old_rows for each statement execute function tickets_record_rollups()`,
  );
  await knex.raw(`
    create function tickets_truncate_rollups() returns trigger language plpgsql as $$
    begin delete from ticket_rollup_deltas; delete from ticket_rollups; return null; end $$`);
  await knex.raw(`create trigger tickets_rollups_truncate after truncate on tickets for each statement execute function tickets_truncate_rollups()`);

  // the deltas summed into the totals; rows that sum to nothing go
  await knex.raw(`
    create function ticket_rollups_compact() returns integer language plpgsql as $$
    declare moved integer;
    begin
      with d as (delete from ticket_rollup_deltas returning *),
      s as (
        insert into ticket_rollups as r (kind, day, dimension, value, ${SUMS.join(', ')})
        select r.kind, r.day, r.dimension, r.value, ${summed} from d r group by r.kind, r.day, r.dimension, r.value
        on conflict on constraint ticket_rollups_key do update set ${SUMS.map((c) => `${c} = r.${c} + excluded.${c}`).join(', ')}
        returning 1
      )
      select count(*) into moved from s;
      delete from ticket_rollups r where ${SUMS.map((c) => `r.${c} = 0`).join(' and ')};
      return moved;
    end $$`);
  // every ticket counted anew in the zone `tz`; writes to tickets wait meanwhile (share lock)
  await knex.raw(`
    create function ticket_rollups_rebuild(tz text) returns void language plpgsql as $$
    begin
      lock table tickets in share mode;
      delete from ticket_rollup_deltas;
      delete from ticket_rollups;
      insert into ticket_rollups (kind, day, dimension, value, ${SUMS.join(', ')})
      select r.kind, r.day, r.dimension, r.value, ${summed}
      from tickets t cross join lateral ticket_rollup_rows(t, 1, tz) r group by r.kind, r.day, r.dimension, r.value having ${nonZero};
      update ticket_rollup_state set timezone = tz;
    end $$`);

  // the search's filters over open tickets (an agent's usual view), small beside the full-table indexes
  for (const column of ['assignee_id', 'team_id', 'status_id']) {
    await knex.raw(`create index tickets_open_${column}_index on tickets (${column}, id desc) where open`);
  }

  await knex.raw('select ticket_facts_rebuild()');
  const { rows } = await knex.raw(
    `select coalesce((select c.value #>> '{}' from config c where c.key = 'timezone' and (c.value #>> '{}') in (select name from pg_timezone_names)), 'UTC') as tz`,
  );
  await knex.raw('select ticket_rollups_rebuild(?)', [rows[0].tz]);
}

export async function down(knex: Knex): Promise<void> {
  for (const column of ['assignee_id', 'team_id', 'status_id']) await knex.raw(`drop index if exists tickets_open_${column}_index`);
  for (const trigger of ['rollups_insert', 'rollups_update', 'rollups_delete', 'rollups_truncate'])
    await knex.raw(`drop trigger if exists tickets_${trigger} on tickets`);
  for (const table of ['replies', 'time_segments']) {
    for (const op of ['insert', 'update', 'delete']) await knex.raw(`drop trigger if exists ${table}_facts_${op} on ${table}`);
  }
  for (const fn of [
    'ticket_rollups_rebuild(text)',
    'ticket_rollups_compact()',
    'tickets_truncate_rollups()',
    'tickets_record_rollups()',
    'ticket_rollup_rows(tickets, integer, text)',
    'time_segments_keep_minutes()',
    'replies_keep_first_response()',
    'ticket_facts_rebuild()',
    'ticket_minutes(integer)',
    'ticket_first_response_at(integer)',
  ]) {
    await knex.raw(`drop function if exists ${fn}`);
  }
  await knex.schema.dropTableIfExists('ticket_rollup_deltas');
  await knex.schema.dropTableIfExists('ticket_rollups');
  await knex.schema.dropTableIfExists('ticket_rollup_state');
  await knex.schema.alterTable('tickets', (t) => {
    t.dropColumn('minutes');
    t.dropColumn('first_response_at');
  });
}
