import { db } from '../../../src/db/knex';
import { type Agent, api, makeContact, makeCustomer, makeTicket, makeUser } from '../../helpers/factories';
import { useTestDatabase } from '../../helpers/useTestDatabase';

useTestDatabase();

let agent: Agent;
beforeAll(async () => {
  agent = await makeUser();
});

describe('/api/v1/customers', () => {
  it('creates, shows with contacts, lists, updates and deletes', async () => {
    const created = await api()
      .post('/api/v1/customers')
      .set(agent.auth)
      .send({ name: 'Globex', email_domains: ['Globex.COM', 'globex.com', 'mail.globex.com'] })
      .expect(201);
    expect(created.body).toMatchObject({ name: 'Globex', email_domains: ['globex.com', 'mail.globex.com'] });
    const id = created.body.id;
    const contact = await makeContact({ id } as never);
    const shown = await api().get(`/api/v1/customers/${id}`).set(agent.auth).expect(200);
    expect(shown.body.contacts.map((c: { id: number }) => c.id)).toEqual([contact.id]);
    const list = await api().get('/api/v1/customers?search=lobe').set(agent.auth).expect(200);
    expect(list.body.map((c: { id: number }) => c.id)).toContain(id);
    const upd = await api().put(`/api/v1/customers/${id}`).set(agent.auth).send({ name: 'Globex Corp' }).expect(200);
    expect(upd.body).toMatchObject({ name: 'Globex Corp', email_domains: ['globex.com', 'mail.globex.com'] });
    await api().delete(`/api/v1/customers/${id}`).set(agent.auth).expect(200, { response: 'element deleted' });
    expect(await db()('contacts').where({ id: contact.id }).first()).toBeUndefined();
    await api().get(`/api/v1/customers/${id}`).set(agent.auth).expect(404);
  });

  it('refuses to delete a customer with tickets (409)', async () => {
    const customer = await makeCustomer();
    await makeTicket({ agent, customer });
    const res = await api().delete(`/api/v1/customers/${customer.id}`).set(agent.auth).expect(409);
    expect(res.body.error.code).toBe('conflict');
  });

  it('validates input', async () => {
    await api().post('/api/v1/customers').set(agent.auth).send({}).expect(400);
    await api().post('/api/v1/customers').set(agent.auth).send({ name: '  ' }).expect(400);
    const r = await api()
      .post('/api/v1/customers')
      .set(agent.auth)
      .send({ name: 'x', email_domains: ['not a domain'] })
      .expect(400);
    expect(r.body.error.details.fields).toHaveProperty(['email_domains.0']);
    await api().put('/api/v1/customers/999999').set(agent.auth).send({ name: 'x' }).expect(404);
    await api().delete('/api/v1/customers/999999').set(agent.auth).expect(404);
    await api().get('/api/v1/customers').expect(401);
  });
});

describe('/api/v1/contacts', () => {
  it('creates, shows, lists by customer and email, updates and deletes', async () => {
    const customer = await makeCustomer();
    const res = await api()
      .post('/api/v1/contacts')
      .set(agent.auth)
      .send({ contactable_type: 'App\\Customer', contactable_id: customer.id, name: 'Ann', email: 'Ann@Example.test' })
      .expect(201);
    expect(res.body).toMatchObject({ contactable_type: 'App\\Customer', contactable_id: customer.id, name: 'Ann', email: 'ann@example.test' });
    const id = res.body.id;
    await api().get(`/api/v1/contacts/${id}`).set(agent.auth).expect(200);
    const byCustomer = await api().get(`/api/v1/contacts?contactable_id=${customer.id}`).set(agent.auth).expect(200);
    expect(byCustomer.body.map((c: { id: number }) => c.id)).toEqual([id]);
    const byEmail = await api().get(`/api/v1/contacts?email=ANN@example.test`).set(agent.auth).expect(200);
    expect(byEmail.body.map((c: { id: number }) => c.id)).toEqual([id]);
    await api().put(`/api/v1/contacts/${id}`).set(agent.auth).send({ name: 'Ann B' }).expect(200);
    await api().delete(`/api/v1/contacts/${id}`).set(agent.auth).expect(200, { response: 'element deleted' });
    await api().get(`/api/v1/contacts/${id}`).set(agent.auth).expect(404);
  });

  it('keeps one address for one person, case-insensitively (409)', async () => {
    const a = await makeContact(undefined, { email: 'dup@example.test' });
    const res = await api()
      .post('/api/v1/contacts')
      .set(agent.auth)
      .send({ contactable_id: a.contactable_id, name: 'Dup', email: 'DUP@example.test' })
      .expect(409);
    expect(res.body.error.details.fields).toHaveProperty('email');
    const b = await makeContact();
    await api().put(`/api/v1/contacts/${b.id}`).set(agent.auth).send({ email: 'dup@EXAMPLE.test' }).expect(409);
  });

  it('validates input and the customer', async () => {
    const customer = await makeCustomer();
    const r = await api().post('/api/v1/contacts').set(agent.auth).send({ contactable_id: customer.id, name: 'x', email: 'nope' }).expect(400);
    expect(r.body.error.details.fields).toHaveProperty('email');
    await api().post('/api/v1/contacts').set(agent.auth).send({ contactable_id: 999999, name: 'x', email: 'x@y.test' }).expect(404);
    await api()
      .post('/api/v1/contacts')
      .set(agent.auth)
      .send({ contactable_type: 'App\\User', contactable_id: customer.id, name: 'x', email: 'x@y.test' })
      .expect(400);
    await api().put('/api/v1/contacts/999999').set(agent.auth).send({ name: 'x' }).expect(404);
  });
});
