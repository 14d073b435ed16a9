/**
 * The body search at a million tickets (issue 12): `filter[body]` reads `ticket_search`,
 * one narrow row per ticket holding its body lower-cased, with the trigram index the
 * tickets had. A term in one ticket in eight then reads 140 MB of narrow rows instead of
 * the whole tickets table (the planner turned to a parallel scan of it: 1.3 s), and the
 * match is a plain LIKE on text lower-cased once, not an ILIKE on every row. Statement
 * triggers keep it in the transaction that writes the ticket; a test proves it equal to
 * the tickets' bodies.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create table ticket_search (
    ticket_id integer primary key references tickets(id) on delete cascade,
    body text not null)`);
  await knex.raw(`
    create function tickets_keep_search() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        insert into ticket_search (ticket_id, body) select n.id, lower(n.body) from new_rows n;
      else
        update ticket_search s set body = lower(n.body)
        from new_rows n join old_rows o on o.id = n.id
        where s.ticket_id = n.id and n.body is distinct from o.body;
      end if;
      return null;
    end $$`);
  await knex.raw(
    `create trigger tickets_search_insert after insert on tickets referencing new table as new_rows for each statement execute function tickets_keep_search()`,
  );
  await knex.raw(
    `create trigger tickets_search_update after update on tickets referencing old table as old_rows new table as new_rows for each statement execute function tickets_keep_search()`,
  );
  await knex.raw('insert into ticket_search (ticket_id, body) select id, lower(body) from tickets');
  await knex.raw('create index ticket_search_body_trgm on ticket_search using gin (body gin_trgm_ops)');
  await knex.raw('drop index if exists tickets_body_trgm');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('create index if not exists tickets_body_trgm on tickets using gin (body gin_trgm_ops)');
  await knex.raw('drop trigger if exists tickets_search_update on tickets');
  await knex.raw('drop trigger if exists tickets_search_insert on tickets');
  await knex.raw('drop function if exists tickets_keep_search()');
  await knex.schema.dropTableIfExists('ticket_search');
}
