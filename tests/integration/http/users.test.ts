import { db } from '../../../src/db/knex';
import { api, useStaff } from '../../helpers/factories';
import { useTestDatabase } from '../../helpers/useTestDatabase';

useTestDatabase();

const staff = useStaff();

describe('/api/v1/users and /api/v1/me', () => {
  it('shows the caller', async () => {
    const me = await api().get('/api/v1/me').set(staff.agent.auth).expect(200);
    expect(me.body).toMatchObject({ id: staff.agent.user.id, role: 'agent', active: true });
    expect(me.body).not.toHaveProperty('password');
  });

  it('lets an admin create, update, issue tokens for and delete users', async () => {
    const created = await api()
      .post('/api/v1/users')
      .set(staff.admin.auth)
      .send({ name: 'New Agent', email: 'New@Helpdesk.test', alternate_emails: ['new.alias@helpdesk.test'] })
      .expect(201);
    expect(created.body).toMatchObject({ email: 'new@helpdesk.test', role: 'agent', active: true, alternate_emails: ['new.alias@helpdesk.test'] });
    const id = created.body.id;
    const tok = await api().post(`/api/v1/users/${id}/tokens`).set(staff.admin.auth).send({ name: 'laptop' }).expect(201);
    expect(tok.body.token).toMatch(/^hd_/);
    await api().get('/api/v1/me').set('Authorization', `Bearer ${tok.body.token}`).expect(200);
    await api().put(`/api/v1/users/${id}`).set(staff.admin.auth).send({ role: 'admin' }).expect(200);
    await api().get(`/api/v1/users/${id}`).set(staff.agent.auth).expect(200);
    const list = await api().get('/api/v1/users').set(staff.agent.auth).expect(200);
    expect(list.body.map((u: { id: number }) => u.id)).toContain(id);
    await api().delete(`/api/v1/users/${id}`).set(staff.admin.auth).expect(200, { response: 'element deleted' });
    await api().get('/api/v1/me').set('Authorization', `Bearer ${tok.body.token}`).expect(401);
  });

  it('refuses writes from agents (403)', async () => {
    await api().post('/api/v1/users').set(staff.agent.auth).send({ name: 'x', email: 'x@helpdesk.test' }).expect(403);
    await api().put(`/api/v1/users/${staff.agent.user.id}`).set(staff.agent.auth).send({ role: 'admin' }).expect(403);
    await api().delete(`/api/v1/users/${staff.admin.user.id}`).set(staff.agent.auth).expect(403);
    const r = await api().post(`/api/v1/users/${staff.agent.user.id}/tokens`).set(staff.agent.auth).send({}).expect(403);
    expect(r.body.error.code).toBe('forbidden');
  });

  it('keeps emails unique and at least one active admin', async () => {
    await api().post('/api/v1/users').set(staff.admin.auth).send({ name: 'x', email: staff.agent.user.email.toUpperCase() }).expect(409);
    await db()('users').whereNot({ id: staff.admin.user.id }).where({ role: 'admin' }).update({ role: 'agent' });
    await api().put(`/api/v1/users/${staff.admin.user.id}`).set(staff.admin.auth).send({ active: false }).expect(409);
    await api().delete(`/api/v1/users/${staff.admin.user.id}`).set(staff.admin.auth).expect(409);
  });

  it('validates input', async () => {
    const r = await api().post('/api/v1/users').set(staff.admin.auth).send({ name: '', email: 'bad', role: 'root' }).expect(400);
    expect(Object.keys(r.body.error.details.fields).sort()).toEqual(['email', 'name', 'role']);
    await api().put('/api/v1/users/999999').set(staff.admin.auth).send({ name: 'x' }).expect(404);
    await api().post('/api/v1/users/999999/tokens').set(staff.admin.auth).send({}).expect(404);
  });
});
