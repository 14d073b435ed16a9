/**
 * A whole support-contract story through the API: a contract of 10 points, two tickets
 * with tracked time, an invoicing ticket, an amendment, a shared contract. At every step
 * the points on the contract and on each ticket follow the config's rule.
 */
import { db } from '../../../src/db/knex';
import { setNow } from '../../../src/clock';
import { api, useStaff, makeContact, makeCustomer } from '../../helpers/factories';
import { useTestDatabase } from '../../helpers/useTestDatabase';

useTestDatabase();

const staff = useStaff();
afterEach(() => setNow(undefined));

const CUSTOMER = 'App%5CCustomer';

async function contract(id: number) {
  return (await api().get(`/api/v1/ticketing/support_contracts/${id}`).set(staff.agent.auth).expect(200)).body;
}
async function ticket(id: number) {
  return (await api().get(`/api/v1/tickets/${id}`).set(staff.agent.auth).expect(200)).body;
}
async function newTicket(customerId: number, priorityId = 2) {
  const res = await api()
    .post(`/api/v1/tickets?ticketable_type=${CUSTOMER}&ticketable_id=${customerId}`)
    .set(staff.agent.auth)
    .send({ subject: 'Work', body: 'work', priority_id: priorityId, ticket_category_id: 1, ticket_sub_category_id: 1 })
    .expect(201);
  return res.body.id as number;
}

test('points follow the time, from tracking to sharing', async () => {
  // 2 points per hour, Urgent (priority 4) weighs double
  await api()
    .put('/api/v1/ticketing/config')
    .set(staff.admin.auth)
    .send({ points_per_hour: 2, points_priority_weights: { '4': 2 } })
    .expect(200);

  const acme = await makeCustomer({ name: 'Acme' });
  await makeContact(acme);
  const created = await api()
    .post('/api/v1/ticketing/support_contracts')
    .set(staff.admin.auth)
    .send({
      support_contracteable_id: acme.id,
      type: 1,
      points_init: 10,
      points_alert: 2,
      signed_at: '01/11/2026',
      started_at: '2026-11-01 00:00:00',
      expires_at: '2027-11-01 00:00:00',
    })
    .expect(201);
  const c = created.body;
  expect(c).toMatchObject({ points_init: 10, points_total: 10, points_current: 10, signed_at: '01/11/2026', type: 1 });

  // ticket 1: 30 tracked minutes at Normal -> 1 point
  const t1 = await newTicket(acme.id, 2);
  setNow(new Date('2026-11-27T10:00:00Z'));
  await api().post('/api/v1/ticketing/start_tracking').set(staff.agent.auth).send({ ticket_id: t1 }).expect(201);
  setNow(new Date('2026-11-27T10:30:00Z'));
  // ticket 2 (Urgent): switching the timer closes ticket 1's segment
  const t2 = await newTicket(acme.id, 4);
  const switched = await api().post('/api/v1/ticketing/start_tracking').set(staff.agent.auth).send({ ticket_id: t2, previous_ticket_id: t1 }).expect(201);
  expect(switched.body.stopped).toMatchObject({ ticket_id: t1, minutes: 30 });
  expect((await ticket(t1)).points).toBe(1);
  expect((await ticket(t1)).contract_id).toBe(c.id);
  expect((await contract(c.id)).points_current).toBe(9);

  // ticket 2: 45 minutes at Urgent -> 45/60 * 2 * 2 = 3 points
  setNow(new Date('2026-11-27T11:15:00Z'));
  await api().post('/api/v1/ticketing/end_tracking').set(staff.agent.auth).send({}).expect(200);
  await api().post('/api/v1/ticketing/end_tracking').set(staff.agent.auth).send({}).expect(409);
  expect((await ticket(t2)).time).toBe(45);
  expect((await ticket(t2)).points).toBe(3);
  expect((await contract(c.id)).points_current).toBe(6);

  // an invoicing ticket of 60 minutes (Normal) -> 2 points
  const inv = await api()
    .post(`/api/v1/tickets/invoicing?ticketable_type=${CUSTOMER}&ticketable_id=${acme.id}`)
    .set(staff.agent.auth)
    .send({ time: 60, reference: 'Nov' })
    .expect(201);
  expect(inv.body.ticket.points).toBe(2);
  expect((await contract(c.id)).points_current).toBe(4);

  // amend ticket 1 by -15 minutes -> 15 minutes -> 0.5 point: the contract gets 0.5 back
  await api().put(`/api/v1/tickets/amend/${t1}`).set(staff.agent.auth).send({ time: -15 }).expect(201);
  expect((await ticket(t1)).points).toBe(0.5);
  expect((await contract(c.id)).points_current).toBe(4.5);

  // a priority change re-weighs: ticket 1 to Urgent -> 1 point
  await api().put(`/api/v1/tickets/${t1}`).set(staff.agent.auth).send({ priority_id: 4 }).expect(201);
  expect((await ticket(t1)).points).toBe(1);
  expect((await contract(c.id)).points_current).toBe(4);

  // shared: Globex has no contract of its own, Acme's is shared with it
  const globex = await makeCustomer({ name: 'Globex' });
  await api().post('/api/v1/ticketing/shared_support_contracts').set(staff.admin.auth).send({ support_contract_id: c.id, customer_id: acme.id }).expect(400);
  const share = await api()
    .post('/api/v1/ticketing/shared_support_contracts')
    .set(staff.admin.auth)
    .send({ support_contract_id: c.id, customer_id: globex.id })
    .expect(201);
  await api().post('/api/v1/ticketing/shared_support_contracts').set(staff.admin.auth).send({ support_contract_id: c.id, customer_id: globex.id }).expect(409);
  const g1 = await newTicket(globex.id, 2);
  await api().post('/api/v1/ticketing/time_segments').set(staff.agent.auth).send({ ticket_id: g1, minutes: 90 }).expect(201);
  expect((await ticket(g1)).points).toBe(3);
  expect((await ticket(g1)).contract_id).toBe(c.id);
  expect((await contract(c.id)).points_current).toBe(1);

  // a segment edited and deleted moves points by the difference
  const seg = (await api().get(`/api/v1/ticketing/time_segments?ticket_id=${g1}`).set(staff.agent.auth).expect(200)).body[0];
  await api().put(`/api/v1/ticketing/time_segments/${seg.id}`).set(staff.agent.auth).send({ minutes: 30 }).expect(200);
  expect((await contract(c.id)).points_current).toBe(3);
  await api().delete(`/api/v1/ticketing/time_segments/${seg.id}`).set(staff.agent.auth).expect(200);
  expect((await contract(c.id)).points_current).toBe(4);

  // raising the contract's total raises what is left by the same amount
  await api().put(`/api/v1/ticketing/support_contracts/${c.id}`).set(staff.admin.auth).send({ points_total: 20 }).expect(200);
  expect((await contract(c.id)).points_current).toBe(14);

  // the invariant, checked in SQL
  const [{ consumed }] = await db()('tickets').where({ contract_id: c.id }).sum({ consumed: 'points' });
  const row = await db()('support_contracts').where({ id: c.id }).first();
  expect(row.points_current).toBe(row.points_total - Number(consumed));

  // the customer's contracts, and the share's removal
  const mine = await api()
    .get(`/api/v1/ticketing/support_contracts/customer?support_contracteable_type=${CUSTOMER}&support_contracteable_id=${acme.id}`)
    .set(staff.agent.auth)
    .expect(200);
  expect(mine.body.map((x: { id: number }) => x.id)).toEqual([c.id]);
  expect(mine.headers['x-total-count']).toBe('1');
  await api().delete(`/api/v1/ticketing/shared_support_contracts/${share.body.id}`).set(staff.admin.auth).expect(200);
});

test('contract routes validate and guard', async () => {
  const acme = await makeCustomer();
  await api().post('/api/v1/ticketing/support_contracts').set(staff.agent.auth).send({ support_contracteable_id: acme.id, points_init: 1 }).expect(403);
  const bad = await api()
    .post('/api/v1/ticketing/support_contracts')
    .set(staff.admin.auth)
    .send({ support_contracteable_id: acme.id, points_init: -1, type: 9, signed_at: '2026-11-01' })
    .expect(400);
  expect(Object.keys(bad.body.error.details.fields).sort()).toEqual(['points_init', 'signed_at', 'type']);
  await api().post('/api/v1/ticketing/support_contracts').set(staff.admin.auth).send({ support_contracteable_id: 999999, points_init: 1 }).expect(404);
  await api()
    .post('/api/v1/ticketing/support_contracts')
    .set(staff.admin.auth)
    .send({ support_contracteable_id: acme.id, points_init: 1, started_at: '2026-02-01 00:00:00', expires_at: '2026-01-01 00:00:00' })
    .expect(400);
  await api().get('/api/v1/ticketing/support_contracts/999999').set(staff.agent.auth).expect(404);
  await api().get(`/api/v1/ticketing/support_contracts/customer?support_contracteable_id=999999`).set(staff.agent.auth).expect(404);
  await api().post('/api/v1/ticketing/shared_support_contracts').set(staff.admin.auth).send({ support_contract_id: 999999, customer_id: acme.id }).expect(400);
  await api().get('/api/v1/ticketing/daily_points_summary').set(staff.agent.auth).expect(200, []);
  await api().get('/api/v1/ticketing/support_contracts').expect(401);
});

test('one running timer per user; tracking needs a real ticket', async () => {
  const customer = await makeCustomer();
  const t = await newTicket(customer.id);
  await api().post('/api/v1/ticketing/start_tracking').set(staff.agent.auth).send({ ticket_id: 999999 }).expect(404);
  await api().post('/api/v1/ticketing/start_tracking').set(staff.agent.auth).send({ ticket_id: t }).expect(201);
  await api().post('/api/v1/ticketing/start_tracking').set(staff.agent.auth).send({ ticket_id: t }).expect(201);
  const running = await db()('time_segments').where({ user_id: staff.agent.user.id, kind: 'tracked' }).whereNull('ended_at');
  expect(running).toHaveLength(1);
  await api().post('/api/v1/ticketing/end_tracking').set(staff.agent.auth).send({ ticket_id: t }).expect(200);
  await api().post('/api/v1/ticketing/time_segments').set(staff.agent.auth).send({ ticket_id: 999999, minutes: 5 }).expect(400);
  await api()
    .post('/api/v1/ticketing/time_segments')
    .set(staff.agent.auth)
    .send({ ticket_id: t, started_at: '2026-11-27 10:00:00', ended_at: '2026-11-27 09:00:00' })
    .expect(400);
  const seg = await api()
    .post('/api/v1/ticketing/time_segments')
    .set(staff.agent.auth)
    .send({ ticket_id: t, started_at: '2026-11-27 10:00:00', ended_at: '2026-11-27 10:20:00' })
    .expect(201);
  expect(seg.body).toMatchObject({ minutes: 20, user_id: staff.agent.user.id, kind: 'manual' });
  await api().get('/api/v1/ticketing/time_segments/999999').set(staff.agent.auth).expect(404);
});
