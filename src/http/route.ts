/**
 * How a route is declared: method, path, who may call it, the zod schemas of its query and
 * body, the success status, and a handler. The same declaration registers the route,
 * cleans (cleanInput) and validates its input, checks the role, and feeds the OpenAPI
 * document, so the schema that validates a request is the one the document shows.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { forbidden, unauthorized } from '../errors';
import type { User } from '../models/User';
import { cleanInput, validate } from './validation';

export type Access = 'public' | 'agent' | 'admin';

/** The authenticated caller, as services see it. */
export type Actor = Pick<User, 'id' | 'name' | 'email' | 'role'>;

export interface RouteInput<Q, B> {
  params: Record<string, string>;
  query: Q;
  body: B;
  actor: Actor;
  ctx: Context;
}

export interface RouteSpec<Q = unknown, B = unknown> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Koa path below `/api`, e.g. `/v1/tickets/:id`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  access?: Access;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Success status (default 200). */
  status?: number;
  /** What the success body is, for the document. */
  returns?: string;
  /** Other statuses the route answers, for the document. */
  errors?: number[];
  /** Content type of a non-JSON success body, for the document. */
  produces?: string;
  handler: (input: RouteInput<Q, B>) => Promise<unknown>;
}

/** A route of any query and body type: the document reads only the fields they share. */
export type AnyRouteSpec = RouteSpec<unknown, unknown>;

const registry: AnyRouteSpec[] = [];

/** Every route declared so far (the OpenAPI document is built from these). */
export function declaredRoutes(): readonly AnyRouteSpec[] {
  return registry;
}

/** Declares a route on `router` and records it for the document. */
export function route<Q, B>(router: Router, spec: RouteSpec<Q, B>): void {
  if (!registry.some((r) => r.method === spec.method && r.path === spec.path)) registry.push(spec as unknown as AnyRouteSpec);
  const access = spec.access ?? 'agent';
  router[spec.method](spec.path, async (ctx: Context) => {
    const actor = ctx.state.actor as Actor | undefined;
    if (access !== 'public' && !actor) throw unauthorized();
    if (access === 'admin' && actor!.role !== 'admin') throw forbidden();
    // every route, with a schema or not: a NUL in the query or body is a 400 (SPEC §2)
    const rawQuery = cleanInput(ctx.query, 'query');
    const rawBody = cleanInput((ctx.request as unknown as { body?: unknown }).body, 'body');
    const query = spec.query ? validate(spec.query, rawQuery, 'query') : (undefined as Q);
    const body = spec.body ? validate(spec.body, rawBody ?? {}, 'body') : (undefined as B);
    const result = await spec.handler({ params: ctx.params as Record<string, string>, query, body, actor: actor!, ctx });
    if (result !== undefined) {
      ctx.status = spec.status ?? 200;
      ctx.body = result;
    }
  });
}
