import { api, makeUser } from '../../helpers/factories';
import { useTestDatabase } from '../../helpers/useTestDatabase';

useTestDatabase();

describe('system routes', () => {
  it('answers health without a token', async () => {
    await api().get('/api/health').expect(200, { status: 'ok', database: 'ok' });
  });

  it('describes every route in OpenAPI 3.1', async () => {
    const res = await api().get('/api/openapi.json').expect(200);
    expect(res.body.openapi).toBe('3.1.0');
    const paths = res.body.paths;
    for (const [p, m] of [
      ['/api/v1/tickets', 'get'],
      ['/api/v1/tickets', 'post'],
      ['/api/v1/tickets/{id}', 'put'],
      ['/api/v1/tickets/search', 'get'],
      ['/api/v1/tickets/assign/{id}', 'put'],
      ['/api/v1/replies', 'post'],
      ['/api/v1/customers/{id}', 'delete'],
      ['/api/v1/users/{id}/tokens', 'post'],
    ]) {
      expect(paths[p!]?.[m!]).toBeDefined();
    }
    const create = paths['/api/v1/tickets'].post;
    expect(create.requestBody.content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['subject', 'body', 'priority_id', 'ticket_category_id', 'ticket_sub_category_id']),
    );
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '404']));
    const search = paths['/api/v1/tickets/search'].get.parameters.map((p: { name: string }) => p.name);
    expect(search).toEqual(expect.arrayContaining(['filter[number]', 'filter[my_teams_tickets]', 'include', 'page', 'per_page']));
    const members = paths['/api/v1/ticketing/support-teams/{id}/members'].get.parameters.map((p: { name: string }) => p.name);
    expect(members).toEqual(['id', 'page', 'per_page']);
    expect(paths['/api/v1/users'].post['x-required-role']).toBe('admin');
  });

  it('serves a docs page', async () => {
    const res = await api().get('/api/docs').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toContain('/api/openapi.json');
  });

  it('answers unknown routes with the error shape', async () => {
    const u = await makeUser();
    const res = await api().get('/api/v1/nothing-here').set(u.auth).expect(404);
    expect(res.body.error.code).toBe('not_found');
  });
});

describe('every declared route', () => {
  const { declaredRoutes } = require('../../../src/http/route') as typeof import('../../../src/http/route');
  const { apiRouter } = require('../../../src/http/app') as typeof import('../../../src/http/app');
  apiRouter();
  const routes = declaredRoutes().map((r) => [r.method, `/api${r.path.replace(/:[a-z_]+/g, '1')}`, r.access ?? 'agent'] as const);

  it('is declared (sanity)', () => {
    expect(routes.length).toBeGreaterThan(60);
  });

  it.each(routes.filter(([, , access]) => access !== 'public'))('%s %s answers 401 without a token', async (method, path) => {
    const res = await (api() as unknown as Record<string, (p: string) => import('supertest').Test>)[method]!(path);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  });

  it.each(routes.filter(([, , access]) => access === 'admin'))('%s %s answers 403 to an agent', async (method, path) => {
    const agent = await makeUser('agent');
    const res = await (api() as unknown as Record<string, (p: string) => import('supertest').Test>)[method]!(path).set(agent.auth).send({});
    expect(res.status).toBe(403);
  });
});

describe('every declared route with an id', () => {
  const { declaredRoutes } = require('../../../src/http/route') as typeof import('../../../src/http/route');
  const withId = declaredRoutes()
    .filter((r) => r.path.includes(':'))
    .map((r) => [r.method, `/api${r.path.replace(/:[a-z_]+/g, '999999')}`, Boolean(r.body)] as const);

  it.each(withId)('%s %s answers 404 (or 400 for a body it refuses first) for an unknown id, never 500', async (method, path, hasBody) => {
    const admin = await makeUser('admin');
    const res = await (api() as unknown as Record<string, (p: string) => import('supertest').Test>)[method]!(path).set(admin.auth).send({});
    if (!hasBody) expect(res.status).toBe(404);
    else expect([400, 404]).toContain(res.status);
    expect(res.body.error.code).toMatch(/^[a-z_]+$/);
  });

  it.each(
    declaredRoutes()
      .filter((r) => r.body)
      .map((r) => [r.method, `/api${r.path.replace(/:[a-z_]+/g, '1')}`] as const),
  )('%s %s answers 400 to a body of the wrong type', async (method, path) => {
    const admin = await makeUser('admin');
    const res = await (api() as unknown as Record<string, (p: string) => import('supertest').Test>)[method]!(path)
      .set(admin.auth)
      .set('Content-Type', 'application/json')
      .send('[1, 2, 3]');
    expect([400, 404]).toContain(res.status);
    expect(res.status).not.toBe(500);
  });
});
