import type Router from '@koa/router';
import { createContact, deleteContact, listContacts, showContact, updateContact } from '../../../services/contacts/contacts';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { pathId } from '../../validation';
import { presentContact } from './presenter';
import { contactListQuery, createContactBody, updateContactBody } from './schema';

const tag = 'Contacts';

export function registerContactRoutes(router: Router): void {
  route(router, {
    method: 'get',
    path: '/v1/contacts',
    tag,
    summary: 'Contacts, by id',
    query: contactListQuery,
    handler: async ({ query, ctx }) => pagedBody(ctx, await listContacts({ ...query, page: query }), presentContact),
  });
  route(router, {
    method: 'post',
    path: '/v1/contacts',
    tag,
    status: 201,
    errors: [404, 409],
    summary: 'Create a contact (its address must be new)',
    body: createContactBody,
    handler: async ({ body }) => presentContact(await createContact(body)),
  });
  route(router, {
    method: 'get',
    path: '/v1/contacts/:id',
    tag,
    summary: 'A contact',
    handler: async ({ params }) => presentContact(await showContact(pathId(params.id, 'contact'))),
  });
  route(router, {
    method: 'put',
    path: '/v1/contacts/:id',
    tag,
    errors: [409],
    summary: 'Update a contact',
    body: updateContactBody,
    handler: async ({ params, body }) => presentContact(await updateContact(pathId(params.id, 'contact'), body)),
  });
  route(router, {
    method: 'delete',
    path: '/v1/contacts/:id',
    tag,
    summary: 'Delete a contact',
    handler: async ({ params }) => {
      await deleteContact(pathId(params.id, 'contact'));
      return { response: 'element deleted' };
    },
  });
}
