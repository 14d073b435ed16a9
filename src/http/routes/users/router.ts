import type Router from '@koa/router';
import { createToken } from '../../../services/auth/tokens';
import { createUser, deleteUser, listUsers, showUser, updateUser } from '../../../services/users/users';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { pathId } from '../../validation';
import { presentIssuedToken, presentUser } from './presenter';
import { createUserBody, issueTokenBody, updateUserBody, userListQuery } from './schema';

const tag = 'Users';

export function registerUserRoutes(router: Router): void {
  route(router, {
    method: 'get',
    path: '/v1/me',
    tag,
    summary: 'The caller',
    handler: async ({ actor }) => presentUser(await showUser(actor.id)),
  });
  route(router, {
    method: 'get',
    path: '/v1/users',
    tag,
    summary: 'Agents and admins, by id',
    query: userListQuery,
    handler: async ({ query, ctx }) => pagedBody(ctx, await listUsers({ page: query }), presentUser),
  });
  route(router, {
    method: 'post',
    path: '/v1/users',
    tag,
    status: 201,
    access: 'admin',
    errors: [409],
    summary: 'Create a user',
    body: createUserBody,
    handler: async ({ body }) => presentUser(await createUser(body)),
  });
  route(router, {
    method: 'get',
    path: '/v1/users/:id',
    tag,
    summary: 'A user',
    handler: async ({ params }) => presentUser(await showUser(pathId(params.id, 'user'))),
  });
  route(router, {
    method: 'put',
    path: '/v1/users/:id',
    tag,
    access: 'admin',
    errors: [409],
    summary: 'Update a user (the last active admin stays one)',
    body: updateUserBody,
    handler: async ({ params, body }) => presentUser(await updateUser(pathId(params.id, 'user'), body)),
  });
  route(router, {
    method: 'delete',
    path: '/v1/users/:id',
    tag,
    access: 'admin',
    errors: [409],
    summary: 'Delete a user (not the last active admin)',
    handler: async ({ params }) => {
      await deleteUser(pathId(params.id, 'user'));
      return { response: 'element deleted' };
    },
  });
  route(router, {
    method: 'post',
    path: '/v1/users/:id/tokens',
    tag,
    status: 201,
    access: 'admin',
    summary: 'Issue an API token for the user; it is shown this once',
    body: issueTokenBody,
    handler: async ({ params, body }) => {
      const user = await showUser(pathId(params.id, 'user'));
      return presentIssuedToken(await createToken({ userId: user.id, name: body.name }), user.id);
    },
  });
}
