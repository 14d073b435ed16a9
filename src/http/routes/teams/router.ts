import type Router from '@koa/router';
import { z } from 'zod';
import { changeMembers, listMembers, teams } from '../../../services/teams/teams';
import { crudRoutes } from '../../crudRoutes';
import { listQuery } from '../../listQuery';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { email, id, pathId, text } from '../../validation';
import { presentUser } from '../users/presenter';

const tag = 'Support teams';
const members = z.object({ user_ids: z.array(id()).max(1000).describe('ids of users') });

export function registerTeamRoutes(router: Router): void {
  crudRoutes(router, {
    path: '/v1/ticketing/support-teams', tag, what: 'support team', service: teams,
    body: z.object({ name: text(), email: email().nullable().optional().describe("the team's own address, if any") }),
    describe: { list: 'Support teams with their user counts', show: 'A support team with its user and open ticket counts' },
  });

  const path = '/v1/ticketing/support-teams/:id/members';
  route(router, {
    method: 'get', path, tag, summary: "The team's members, by id", errors: [404],
    query: listQuery({}),
    handler: async ({ params, query, ctx }) =>
      pagedBody(ctx, await listMembers({ teamId: pathId(params.id, 'support team'), page: query }), presentUser),
  });
  for (const [method, mode, summary] of [
    ['post', 'add', 'Add members (the others stay)'],
    ['put', 'sync', 'Replace the members with this list'],
    ['delete', 'remove', 'Remove these members'],
  ] as const) {
    route(router, {
      method, path, tag, summary, access: 'admin', body: members,
      handler: async ({ params, body }) =>
        (await changeMembers({ teamId: pathId(params.id, 'support team'), userIds: body.user_ids, mode })).map(presentUser),
    });
  }
}
