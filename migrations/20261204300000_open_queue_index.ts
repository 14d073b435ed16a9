/**
 * An agent's queue at a million tickets (issue 12): open tickets by team, with a status or
 * an assignee. PostgreSQL never ANDs two partial indexes with the same predicate (`where
 * open`), so status and team filters on open tickets ANDed the open-status index with the
 * whole team index (181,000 entries, 40 ms). One partial index on (team, status, assignee)
 * counts a team's open tickets with any of the other two from the index alone (0.3 ms).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index tickets_open_queue_index on tickets (team_id, status_id, assignee_id) where open');
  await knex.raw('drop index if exists tickets_open_team_id_index');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('create index if not exists tickets_open_team_id_index on tickets (team_id, id desc) where open');
  await knex.raw('drop index if exists tickets_open_queue_index');
}
