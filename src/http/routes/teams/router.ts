import type Router from '@koa/router';
import { changeMembers, listMembers, teams } from '../../../services/teams/teams';
import { crudRoutes } from '../../crudRoutes';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { pathId } from '../../validation';
import { presentUser } from '../users/presenter';
import { presentSupportTeam } from './presenter';
import { memberListQuery, membersBody, supportTeamBody } from './schema';

const tag = 'Support teams';

export function registerTeamRoutes(router: Router): void {
  crudRoutes(router, {
    path: '/v1/ticketing/support-teams',
    tag,
    what: 'support team',
    service: teams,
    present: presentSupportTeam,
    body: supportTeamBody,
    describe: { list: 'Support teams with their user counts', show: 'A support team with its user and open ticket counts' },
  });

  const path = '/v1/ticketing/support-teams/:id/members';
  route(router, {
    method: 'get',
    path,
    tag,
    summary: "The team's members, by id",
    errors: [404],
    query: memberListQuery,
    handler: async ({ params, query, ctx }) => pagedBody(ctx, await listMembers({ teamId: pathId(params.id, 'support team'), page: query }), presentUser),
  });
  for (const [method, mode, summary] of [
    ['post', 'add', 'Add members (the others stay)'],
    ['put', 'sync', 'Replace the members with this list'],
    ['delete', 'remove', 'Remove these members'],
  ] as const) {
    route(router, {
      method,
      path,
      tag,
      summary,
      access: 'admin',
      body: membersBody,
      handler: async ({ params, body }) => (await changeMembers({ teamId: pathId(params.id, 'support team'), userIds: body.user_ids, mode })).map(presentUser),
    });
  }
}
