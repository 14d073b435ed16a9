/**
 * Support teams and their members. Tickets of a team notify its members; the search's
 * `filter[my_teams_tickets]` finds them.
 */
import type { Knex } from 'knex';
import { raw } from 'objection';
import { conn, inTransaction } from '../../db/transaction';
import { invalid } from '../../errors';
import { type Page, type PageRequest, fetchModelPage } from '../../db/pagination';
import { SupportTeam } from '../../models/SupportTeam';
import { User } from '../../models/User';
import { crud } from '../crud';
import { found } from '../lookup';

export const teams = crud<SupportTeam>({
  model: SupportTeam,
  what: 'support team',
  decorate: (q, mode) => {
    q.select('support_teams.*', raw('(select count(*) from support_team_members m where m.support_team_id = support_teams.id)::int as users_count'));
    if (mode === 'show') {
      q.select(raw('(select count(*) from tickets t where t.team_id = support_teams.id and t.open)::int as open_tickets_count'));
    }
  },
});

async function lockTeam(t: Knex, teamId: number): Promise<void> {
  found(await t('support_teams').where({ id: teamId }).forUpdate().first('id'), 'support team', teamId);
}

async function checkUsers(t: Knex, userIds: number[]): Promise<void> {
  const existing = new Set((await t('users').whereIn('id', userIds).select('id')).map((r: { id: number }) => r.id));
  const problems: Record<string, string> = {};
  userIds.forEach((uid, i) => {
    if (!existing.has(uid)) problems[`user_ids.${i}`] = `no user with id ${uid}`;
  });
  if (Object.keys(problems).length) throw invalid(problems);
}

/** The members of a team, by id. */
function membersOf(knex: Knex, teamId: number) {
  return User.query(knex)
    .whereIn('id', knex('support_team_members').where({ support_team_id: teamId }).select('user_id'))
    .orderBy('id');
}

/** One page of the team's members, by id; 404 for an unknown team. */
export async function listMembers(opts: { teamId: number; page: PageRequest }, trx?: Knex): Promise<Page<User>> {
  found(await conn(trx)('support_teams').where({ id: opts.teamId }).first('id'), 'support team', opts.teamId);
  return fetchModelPage(membersOf(conn(trx), opts.teamId), opts.page);
}

/** Changes the members: `add` keeps the others, `sync` replaces the list, `remove` takes some out. */
export async function changeMembers(opts: { teamId: number; userIds: number[]; mode: 'add' | 'sync' | 'remove' }, trx?: Knex): Promise<User[]> {
  return inTransaction(trx, async (t) => {
    await lockTeam(t, opts.teamId);
    const ids = [...new Set(opts.userIds)];
    if (opts.mode !== 'remove') await checkUsers(t, ids);
    const members = t('support_team_members').where({ support_team_id: opts.teamId });
    if (opts.mode === 'sync') await members.clone().whereNotIn('user_id', ids).delete();
    if (opts.mode === 'remove') await members.clone().whereIn('user_id', ids).delete();
    else if (ids.length) {
      await t('support_team_members')
        .insert(ids.map((user_id) => ({ support_team_id: opts.teamId, user_id })))
        .onConflict(['support_team_id', 'user_id'])
        .ignore();
    }
    return membersOf(t, opts.teamId);
  });
}
