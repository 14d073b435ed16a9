/**
 * The OpenAPI 3.1 document, built from the declared routes and their zod schemas.
 */
import { z } from 'zod';
import { declaredRoutes, type RouteSpec } from './route';

const ERROR_SCHEMA = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'object' },
      },
      required: ['code', 'message'],
    },
  },
};

const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid input; `details.fields` names each bad field',
  401: 'Missing or invalid bearer token',
  403: 'The caller lacks the admin role',
  404: 'Not found',
  409: 'Conflict',
  410: 'Gone: removed on purpose, and will not come back',
  413: 'Body too large',
};

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
}

function queryParameters(spec: RouteSpec): unknown[] {
  if (!spec.query) return [];
  const schema = jsonSchema(spec.query) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, s]) => ({
    name,
    in: 'query',
    required: schema.required?.includes(name) ?? false,
    schema: s,
  }));
}

function operation(spec: RouteSpec): Record<string, unknown> {
  const pathParams = [...spec.path.matchAll(/:([a-z_]+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'integer' },
  }));
  const status = String(spec.status ?? 200);
  const responses: Record<string, unknown> = {
    [status]: {
      description: spec.returns ?? 'Success',
      content: spec.produces ? { [spec.produces]: {} } : { 'application/json': {} },
    },
  };
  const errors = new Set(spec.errors ?? []);
  if (spec.query || spec.body) errors.add(400);
  if ((spec.access ?? 'agent') !== 'public') errors.add(401);
  if (spec.access === 'admin') errors.add(403);
  if (pathParams.length) errors.add(404);
  if (spec.body) errors.add(413);
  for (const code of [...errors].sort()) {
    responses[String(code)] = {
      description: STATUS_TEXT[code] ?? 'Error',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  }
  return {
    tags: [spec.tag],
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    ...((spec.access ?? 'agent') === 'public' ? { security: [] } : {}),
    ...(spec.access === 'admin' ? { 'x-required-role': 'admin' } : {}),
    parameters: [...pathParams, ...queryParameters(spec)],
    ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(spec.body) } } } } : {}),
    responses,
  };
}

/** The whole document. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of declaredRoutes()) {
    const p = `/api${spec.path.replace(/:([a-z_]+)/g, '{$1}')}`;
    paths[p] ??= {};
    paths[p][spec.method] = operation(spec);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Helpdesk API',
      version: '1.0.0',
      description:
        'An email-driven helpdesk. Datetimes are `Y-m-d H:i:s` in UTC. Lists take `page` and `per_page` ' +
        'and answer with `X-Total-Count` and `Link`. Errors are `{"error": {"code", "message", "details"}}`.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: ERROR_SCHEMA },
    },
    paths,
  };
}
