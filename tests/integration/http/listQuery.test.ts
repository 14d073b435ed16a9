/**
 * SPEC §2's query rules for lists, through the API: unknown top-level keys are ignored,
 * an unknown `filter[...]`, `include` or `sort` value is a 400 naming the allowed ones, and
 * every list is paged (priorities, team members and a customer's contracts included).
 */
import type { Response } from 'supertest';
import { apiRouter } from '../../../src/http/app';
import { isListQuery } from '../../../src/http/listQuery';
import { declaredRoutes } from '../../../src/http/route';
import { api, makeCustomer, makeTicket, makeUser, useStaff } from '../../helpers/factories';
import { useTestDatabase } from '../../helpers/useTestDatabase';

useTestDatabase();

const staff = useStaff();
const CUSTOMER = 'App%5CCustomer';
const ids = (res: Response) => res.body.map((r: { id: number }) => r.id);

/** The 400 of an unknown name: `validation_failed`, one message per parameter as sent. */
function fieldsOf(res: Response): Record<string, string> {
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe('validation_failed');
  return res.body.error.details.fields;
}

describe('unknown top-level query keys are ignored', () => {
  it('on the search: a cache-buster and foo=1 change nothing', async () => {
    const customer = await makeCustomer();
    const ticket = await makeTicket({ agent: staff.agent, customer });
    const plain = await api().get(`/api/v1/tickets/search?filter[ticketable_id]=${customer.id}`).set(staff.agent.auth).expect(200);
    for (const extra of ['_=123', 'foo=1', '_=1700000000000&foo=bar&ticketable_id=999999']) {
      const res = await api().get(`/api/v1/tickets/search?filter[ticketable_id]=${customer.id}&${extra}`).set(staff.agent.auth).expect(200);
      expect(ids(res)).toEqual([ticket.id]);
      expect(res.body).toEqual(plain.body);
    }
  });

  it('on other lists too (a CRUD list and a hand-written one)', async () => {
    const statuses = await api().get('/api/v1/ticketing/statuses').set(staff.agent.auth).expect(200);
    const busted = await api().get('/api/v1/ticketing/statuses?_=123&foo=1').set(staff.agent.auth).expect(200);
    expect(busted.body).toEqual(statuses.body);
    const customer = await makeCustomer();
    const res = await api()
      .get(`/api/v1/customers?search=${encodeURIComponent(customer.name)}&_=123&foo=1`)
      .set(staff.agent.auth)
      .expect(200);
    expect(ids(res)).toEqual([customer.id]);
  });

  it('but a NUL in one is still a 400, and bad known values still are', async () => {
    await api().get('/api/v1/tickets/search?_=%00').set(staff.agent.auth).expect(400);
    const res = await api().get('/api/v1/tickets/search?foo=1&per_page=0').set(staff.agent.auth);
    expect(Object.keys(fieldsOf(res))).toEqual(['per_page']);
  });
});

describe('unknown filter, include and sort values are a 400 naming the allowed ones', () => {
  it('on the search', async () => {
    const filter = fieldsOf(await api().get('/api/v1/tickets/search?filter[nope]=1').set(staff.agent.auth));
    expect(Object.keys(filter)).toEqual(['filter[nope]']);
    expect(filter['filter[nope]']).toMatch(/allowed: filter\[number\], filter\[email\], .*filter\[my_teams_tickets\]$/);

    const include = fieldsOf(await api().get('/api/v1/tickets/search?include=replies,secrets,team').set(staff.agent.auth));
    expect(include).toEqual({ include: 'unknown include secrets; allowed: assigner, contract, customer, documents, replies, team, ticketable' });

    const sort = fieldsOf(await api().get('/api/v1/tickets/search?sort=-id').set(staff.agent.auth));
    expect(sort).toEqual({ sort: 'unknown sort -id; allowed: none' });
  });

  it('every name at once, each under its own parameter', async () => {
    const res = await api().get('/api/v1/tickets/search?filter[a]=1&filter[b]=2&include=x&sort=y&_=1').set(staff.agent.auth);
    expect(Object.keys(fieldsOf(res)).sort()).toEqual(['filter[a]', 'filter[b]', 'include', 'sort']);
  });

  it('on a list with filters of its own, and on one with none', async () => {
    const inbound = fieldsOf(await api().get('/api/v1/ticketing/inbound_emails?filter[from]=x').set(staff.agent.auth));
    expect(inbound).toEqual({ 'filter[from]': 'unknown filter; allowed: filter[outcome], filter[mailbox_id], filter[message_id]' });

    const statuses = fieldsOf(await api().get('/api/v1/ticketing/statuses?filter[name]=x&include=tickets').set(staff.agent.auth));
    expect(statuses).toEqual({ 'filter[name]': 'unknown filter; allowed: none', include: 'unknown include tickets; allowed: none' });
  });

  it('an empty include or sort asks for nothing', async () => {
    await api().get('/api/v1/tickets/search?include=&sort=').set(staff.agent.auth).expect(200);
    await api().get('/api/v1/ticketing/statuses?include=&sort=').set(staff.agent.auth).expect(200);
  });
});

describe('every list route follows the same rule', () => {
  apiRouter();
  const lists = declaredRoutes()
    .filter((r) => isListQuery(r.query))
    .map((r) => [r.method, `/api${r.path.replace(/:[a-z_]+/g, '1')}`] as const);

  it('includes the lists that were not paged before', () => {
    const paths = lists.map(([, path]) => path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/v1/tickets',
        '/api/v1/tickets/search',
        '/api/v1/ticketing/priorities',
        '/api/v1/ticketing/support-teams/1/members',
        '/api/v1/ticketing/support_contracts/customer',
      ]),
    );
    expect(lists.every(([method]) => method === 'get')).toBe(true);
  });

  it.each(lists)('%s %s refuses filter[nope], include=x and sort=y, and takes page and per_page', async (_method, path) => {
    const res = await api().get(`${path}?filter[nope]=1&include=x&sort=y&foo=1`).set(staff.admin.auth);
    const fields = fieldsOf(res);
    expect(fields).toEqual(expect.objectContaining({ 'filter[nope]': expect.stringMatching(/^unknown filter; allowed: /) }));
    expect(fields.include).toMatch(/^unknown include x; allowed: /);
    expect(fields.sort).toMatch(/^unknown sort y; allowed: /);
    expect(fields).not.toHaveProperty('foo');
    expect(Object.keys(fieldsOf(await api().get(`${path}?per_page=501`).set(staff.admin.auth)))).toContain('per_page');
  });
});

describe('the lists that were not paged', () => {
  it('priorities: by id, paged', async () => {
    const all = await api().get('/api/v1/ticketing/priorities').set(staff.agent.auth).expect(200);
    expect(all.body.map((p: { name: string }) => p.name)).toEqual(['Low', 'Normal', 'High', 'Urgent']);
    expect(all.headers['x-total-count']).toBe('4');

    const p2 = await api().get('/api/v1/ticketing/priorities?per_page=3&page=2').set(staff.agent.auth).expect(200);
    expect(p2.body.map((p: { name: string }) => p.name)).toEqual(['Urgent']);
    expect(p2.headers['x-total-count']).toBe('4');
    expect(p2.headers.link).toBe(
      '</api/v1/ticketing/priorities?per_page=3&page=1>; rel="first", ' +
        '</api/v1/ticketing/priorities?per_page=3&page=1>; rel="prev", ' +
        '</api/v1/ticketing/priorities?per_page=3&page=2>; rel="last"',
    );
  });

  it('team members: by id, paged, 404 for an unknown team', async () => {
    const users = [await makeUser(), await makeUser(), await makeUser()].map((u) => u.user.id);
    const team = await api().post('/api/v1/ticketing/support-teams').set(staff.admin.auth).send({ name: 'Paged team' }).expect(201);
    const path = `/api/v1/ticketing/support-teams/${team.body.id}/members`;
    await api()
      .post(path)
      .set(staff.admin.auth)
      .send({ user_ids: [...users].reverse() })
      .expect(200);

    const p1 = await api().get(`${path}?per_page=2`).set(staff.agent.auth).expect(200);
    expect(ids(p1)).toEqual(users.slice(0, 2));
    expect(p1.body[0]).toMatchObject({ id: users[0], role: 'agent' });
    expect(p1.headers['x-total-count']).toBe('3');
    expect(p1.headers.link).toMatch(/page=2>; rel="next"/);
    const p2 = await api().get(`${path}?per_page=2&page=2`).set(staff.agent.auth).expect(200);
    expect(ids(p2)).toEqual(users.slice(2));
    await api().get('/api/v1/ticketing/support-teams/999999/members?per_page=2').set(staff.agent.auth).expect(404);
  });

  it("a customer's contracts: latest start first, paged, 404 for an unknown customer", async () => {
    const acme = await makeCustomer();
    const started = ['2026-01-01 00:00:00', '2026-03-01 00:00:00', '2026-02-01 00:00:00'];
    const made: number[] = [];
    for (const started_at of started) {
      const res = await api()
        .post('/api/v1/ticketing/support_contracts')
        .set(staff.admin.auth)
        .send({ support_contracteable_id: acme.id, points_init: 5, started_at, signed_at: '01/01/2026' })
        .expect(201);
      made.push(res.body.id);
    }
    const path = `/api/v1/ticketing/support_contracts/customer?support_contracteable_type=${CUSTOMER}&support_contracteable_id=${acme.id}`;
    const p1 = await api().get(`${path}&per_page=2`).set(staff.agent.auth).expect(200);
    expect(ids(p1)).toEqual([made[1], made[2]]);
    expect(p1.body[0].signed_at).toBe('01/01/2026');
    expect(p1.headers['x-total-count']).toBe('3');
    const p2 = await api().get(`${path}&per_page=2&page=2`).set(staff.agent.auth).expect(200);
    expect(ids(p2)).toEqual([made[0]]);
    expect(p2.headers.link).toMatch(/support_contracteable_id=\d+&per_page=2&page=1>; rel="first"/);

    // the type defaults to App\Customer, as before
    const byId = await api().get(`/api/v1/ticketing/support_contracts/customer?support_contracteable_id=${acme.id}`).set(staff.agent.auth).expect(200);
    expect(ids(byId)).toEqual([made[1], made[2], made[0]]);
    await api().get('/api/v1/ticketing/support_contracts/customer?support_contracteable_id=999999&per_page=2').set(staff.agent.auth).expect(404);
  });
});
