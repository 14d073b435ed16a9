/**
 * Registers the five routes of a plain resource: list (paged), show, create (201),
 * update (200), delete (200 with `{"response": "element deleted"}`). Every answer that
 * carries rows (list, show, create, update) goes through the resource's presenter, never
 * the model's toJSON, so what leaves is the presenter's list of fields.
 */
import type Router from '@koa/router';
import type { Model } from 'objection';
import type { z } from 'zod';
import type { Crud } from '../services/crud';
import { listQuery } from './listQuery';
import { pagedBody } from './pagination';
import { type Access, type Actor, route } from './route';
import { pathId } from './validation';

export interface CrudRoutes<M extends Model> {
  path: string;
  tag: string;
  /** Singular name used in summaries and 404 messages. */
  what: string;
  service: Crud<M>;
  /** Schema of a create; an update takes any subset of it (unless `updateBody` is given). */
  body: z.ZodObject;
  updateBody?: z.ZodObject;
  /** Extra list filters from the query string (see listQuery for the keys it refuses). */
  listQuery?: z.ZodRawShape;
  /** The resource's presenter (its route folder's presenter.ts): the fields that leave the API. */
  present: (row: M) => Record<string, unknown>;
  writeAccess?: Access;
  /** Write statuses: the seed's quirks (e.g. PUT answering 201) where it names them. */
  updateStatus?: number;
  /** Fields a create takes from the caller (e.g. the author), never from the body. */
  stampOnCreate?: (actor: Actor) => Record<string, unknown>;
  /** Leave out some of the five. */
  only?: ('list' | 'show' | 'create' | 'update' | 'delete')[];
  describe?: Partial<Record<'list' | 'show' | 'create' | 'update' | 'delete', string>>;
}

export function crudRoutes<M extends Model>(router: Router, spec: CrudRoutes<M>): void {
  const present = spec.present;
  const has = (op: NonNullable<CrudRoutes<M>['only']>[number]) => !spec.only || spec.only.includes(op);
  const write = spec.writeAccess ?? 'admin';
  const item = `${spec.path}/:id`;
  const text = (op: keyof NonNullable<CrudRoutes<M>['describe']>, fallback: string) => spec.describe?.[op] ?? fallback;

  if (has('list')) {
    route(router, {
      method: 'get',
      path: spec.path,
      tag: spec.tag,
      summary: text('list', `List ${spec.what} records`),
      query: listQuery(spec.listQuery ?? {}),
      handler: async ({ query, ctx }) => {
        const { page, per_page, ...filters } = query;
        return pagedBody(ctx, await spec.service.list({ ...filters, page: { page, per_page } }), present);
      },
    });
  }
  if (has('create')) {
    route(router, {
      method: 'post',
      path: spec.path,
      tag: spec.tag,
      status: 201,
      access: write,
      errors: [409],
      summary: text('create', `Create a ${spec.what}`),
      body: spec.body,
      handler: async ({ body, actor }) => present(await spec.service.create({ ...(body as Record<string, unknown>), ...(spec.stampOnCreate?.(actor) ?? {}) })),
    });
  }
  if (has('show')) {
    route(router, {
      method: 'get',
      path: item,
      tag: spec.tag,
      summary: text('show', `Show a ${spec.what}`),
      handler: async ({ params }) => present(await spec.service.show(pathId(params.id, spec.what))),
    });
  }
  if (has('update')) {
    route(router, {
      method: 'put',
      path: item,
      tag: spec.tag,
      status: spec.updateStatus ?? 200,
      access: write,
      errors: [409],
      summary: text('update', `Update a ${spec.what} (only the fields given)`),
      body: spec.updateBody ?? spec.body.partial(),
      handler: async ({ params, body }) => present(await spec.service.update(pathId(params.id, spec.what), body as Record<string, unknown>)),
    });
  }
  if (has('delete')) {
    route(router, {
      method: 'delete',
      path: item,
      tag: spec.tag,
      access: write,
      errors: [409],
      summary: text('delete', `Delete a ${spec.what}`),
      handler: async ({ params }) => {
        await spec.service.remove(pathId(params.id, spec.what));
        return { response: 'element deleted' };
      },
    });
  }
}
