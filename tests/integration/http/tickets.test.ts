import { useTestDatabase } from '../../helpers/useTestDatabase';
import { api, useStaff, makeContact, makeCustomer, makeTicket, makeUser } from '../../helpers/factories';
import { db } from '../../../src/db/knex';

useTestDatabase();

const CUSTOMER = 'App%5CCustomer';
const validBody = {
  subject: '<b>Printer</b> on fire',
  body: '<p onclick="x()">It <script>alert(1)</script>burns</p>',
  priority_id: 2,
  ticket_category_id: 1,
  ticket_sub_category_id: 1,
};

const staff = useStaff();

describe('POST /api/v1/tickets', () => {
  it('creates a ticket with the caller as author, assignee and opener', async () => {
    const customer = await makeCustomer();
    const contact = await makeContact(customer);
    const res = await api()
      .post(`/api/v1/tickets?ticketable_type=${CUSTOMER}&ticketable_id=${customer.id}`)
      .set(staff.agent.auth)
      .send({ ...validBody, contact_id: contact.id, tags: ['printer'] })
      .expect(201);
    const t = res.body;
    expect(t.number).toMatch(/^[A-HJKMNP-Z2-9]{6}$/);
    expect(t.subject).toBe('Printer on fire');
    expect(t.body).toBe('<p>It burns</p>');
    expect(t).toMatchObject({
      ticketable_type: 'App\\Customer',
      ticketable_id: customer.id,
      author_type: 'App\\User',
      author_id: staff.agent.user.id,
      assignee_id: staff.agent.user.id,
      opener_id: staff.agent.user.id,
      assigned_by: staff.agent.user.id,
      contact_id: contact.id,
      open: true,
      origin: 'admin',
      opened_via: 'application',
      tags: ['printer'],
      exchanges: 0,
      time: 0,
    });
    const status = await db()('ticket_statuses').where({ auto_for: 'default' }).first();
    expect(t.status_id).toBe(status.id);
    const created = new Date(`${t.created_at.replace(' ', 'T')}Z`).getTime();
    const eta = new Date(`${t.estimated_resolution_date.replace(' ', 'T')}Z`).getTime();
    expect(eta - created).toBe(4 * 3600 * 1000);
    expect(t.created_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it('closes at once with close: true', async () => {
    const customer = await makeCustomer();
    const res = await api()
      .post(`/api/v1/tickets?ticketable_type=${CUSTOMER}&ticketable_id=${customer.id}`)
      .set(staff.agent.auth)
      .send({ ...validBody, close: true, estimated_resolution_date: '2030-01-02 03:04:05' })
      .expect(201);
    expect(res.body.open).toBe(false);
    expect(res.body.closed_at).not.toBeNull();
    expect(res.body.estimated_resolution_date).toBe('2030-01-02 03:04:05');
  });

  it('answers 400 for a bad ticketable type and 404 for an unknown customer', async () => {
    await api().post('/api/v1/tickets?ticketable_type=App%5CUser&ticketable_id=1').set(staff.agent.auth).send(validBody).expect(400);
    const res = await api().post(`/api/v1/tickets?ticketable_type=${CUSTOMER}&ticketable_id=999999`).set(staff.agent.auth).send(validBody).expect(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('names each missing or wrong field', async () => {
    const customer = await makeCustomer();
    const res = await api()
      .post(`/api/v1/tickets?ticketable_type=${CUSTOMER}&ticketable_id=${customer.id}`)
      .set(staff.agent.auth)
      .send({ subject: 12, priority_id: 'high', estimated_resolution_date: 'tomorrow' })
      .expect(400);
    expect(Object.keys(res.body.error.details.fields).sort()).toEqual(
      ['body', 'estimated_resolution_date', 'priority_id', 'subject', 'ticket_category_id', 'ticket_sub_category_id'].sort(),
    );
  });

  it('answers 400 naming an unknown id inside the body', async () => {
    const customer = await makeCustomer();
    const other = await makeContact();
    for (const [field, value] of [
      ['priority_id', 999],
      ['ticket_category_id', 999],
      ['ticket_sub_category_id', 999],
      ['status_id', 999],
      ['team_id', 999],
      ['contract_id', 999],
      ['contact_id', other.id],
    ] as const) {
      const res = await api()
        .post(`/api/v1/tickets?ticketable_type=${CUSTOMER}&ticketable_id=${customer.id}`)
        .set(staff.agent.auth)
        .send({ ...validBody, [field]: value })
        .expect(400);
      expect(res.body.error.details.fields).toHaveProperty(field);
    }
  });
});

describe('GET /api/v1/tickets', () => {
  it('lists open tickets newest first, with counts and pagination headers', async () => {
    const customer = await makeCustomer();
    const a = await makeTicket({ agent: staff.agent, customer });
    const b = await makeTicket({ agent: staff.agent, customer });
    const closed = await makeTicket({ agent: staff.agent, customer });
    await api().put(`/api/v1/tickets/close/${closed.id}`).set(staff.agent.auth).expect(201);
    await api()
      .post(`/api/v1/replies?ticket_id=${b.id}`)
      .set(staff.agent.auth)
      .send({ body: 'hi', close: false, send_to_assignee: false, send_to_contacts: false })
      .expect(201);

    const res = await api().get('/api/v1/tickets?per_page=500').set(staff.agent.auth).expect(200);
    const ids = res.body.map((t: { id: number }) => t.id);
    expect(ids).toEqual([...ids].sort((x: number, y: number) => y - x));
    expect(ids).toContain(a.id);
    expect(ids).not.toContain(closed.id);
    const row = res.body.find((t: { id: number }) => t.id === b.id);
    expect(row.replies_count).toBe(1);
    expect(row.last_reply_seen_at).toBeNull();
    expect(row.ticketable).toMatchObject({ id: customer.id, name: customer.name });
    expect(row.assignee).toEqual({ id: staff.agent.user.id, name: staff.agent.user.name, email: staff.agent.user.email });
    expect(Number(res.headers['x-total-count'])).toBeGreaterThanOrEqual(2);

    const all = await api().get(`/api/v1/tickets?ticketable_type=${CUSTOMER}&ticketable_id=${customer.id}`).set(staff.agent.auth).expect(200);
    expect(all.body.map((t: { id: number }) => t.id).sort()).toEqual([a.id, b.id, closed.id].sort());
  });

  it('pages with page and per_page, Link and X-Total-Count', async () => {
    const customer = await makeCustomer();
    for (let i = 0; i < 3; i++) await makeTicket({ agent: staff.agent, customer });
    const q = `ticketable_type=${CUSTOMER}&ticketable_id=${customer.id}`;
    const p2 = await api().get(`/api/v1/tickets?${q}&per_page=2&page=2`).set(staff.agent.auth).expect(200);
    expect(p2.body).toHaveLength(1);
    expect(p2.headers['x-total-count']).toBe('3');
    expect(p2.headers.link).toMatch(/rel="prev"/);
    expect(p2.headers.link).toMatch(/page=1.*rel="first"/);
    await api().get(`/api/v1/tickets?per_page=501`).set(staff.agent.auth).expect(400);
    await api().get(`/api/v1/tickets?page=0`).set(staff.agent.auth).expect(400);
  });
});

describe('GET /api/v1/tickets/{id}', () => {
  it('shows everything with resolved variables in agent replies only', async () => {
    const customer = await makeCustomer({ name: 'Acme & Sons' });
    const contact = await makeContact(customer, { name: 'Bob' });
    const ticket = await makeTicket({ agent: staff.agent, customer, contact });
    await api()
      .post(`/api/v1/replies?ticket_id=${ticket.id}`)
      .set(staff.agent.auth)
      .send({ body: '<p>Dear {{contact.name}} of {{customer.name}}, re {{ticket.number}}</p>', close: false, send_to_assignee: false, send_to_contacts: true })
      .expect(201);
    await db()('replies').insert({
      ticket_id: ticket.id,
      body: '<p>{{agent.name}} from customer</p>',
      origin: 'email',
      author_type: 'App\\Contact',
      author_id: contact.id,
      customer_visible: true,
    });
    const res = await api().get(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).expect(200);
    expect(res.body.replies[0].body).toBe(`<p>Dear Bob of Acme &amp; Sons, re ${ticket.number}</p>`);
    expect(res.body.replies[0].author).toMatchObject({ type: 'App\\User', id: staff.agent.user.id, name: staff.agent.user.name });
    expect(res.body.replies[1].body).toBe('<p>{{agent.name}} from customer</p>');
    expect(res.body.replies[1].author).toMatchObject({ type: 'App\\Contact', id: contact.id });
    expect(res.body.has_unread_replies).toBe(true);
    expect(res.body.ticketable.id).toBe(customer.id);
    expect(res.body.contacts.map((c: { id: number }) => c.id)).toEqual([contact.id]);
    expect(res.body.category.name).toBe('General');
    expect(res.body.sub_category.name).toBe('General');
    expect(res.body.assignee.id).toBe(staff.agent.user.id);
    expect(res.body.opener.id).toBe(staff.agent.user.id);
    expect(res.body.attachments).toEqual([]);

    await api().post(`/api/v1/tickets/${ticket.id}/read-replies`).set(staff.agent.auth).expect(201, { success: true });
    const after = await api().get(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).expect(200);
    expect(after.body.has_unread_replies).toBe(false);
    expect(after.body.replies.every((r: { seen_at: string | null }) => r.seen_at !== null)).toBe(true);
  });

  it('answers 404 for unknown and malformed ids', async () => {
    await api().get('/api/v1/tickets/999999').set(staff.agent.auth).expect(404);
    await api().get('/api/v1/tickets/abc').set(staff.agent.auth).expect(404);
    await api().get('/api/v1/tickets/99999999999999').set(staff.agent.auth).expect(404);
  });
});

describe('PUT /api/v1/tickets/{id}', () => {
  it('updates only the given fields and answers 201 with the replies', async () => {
    const ticket = await makeTicket({ agent: staff.agent });
    const other = await makeUser();
    const res = await api()
      .put(`/api/v1/tickets/${ticket.id}`)
      .set(staff.agent.auth)
      .send({ subject: '<i>New</i> subject', tags: ['a', 'b'], assignee_id: other.user.id, priority_id: 3 })
      .expect(201);
    expect(res.body).toMatchObject({ subject: 'New subject', tags: ['a', 'b'], assignee_id: other.user.id, priority_id: 3, body: ticket.body });
    expect(res.body.assigned_by).toBe(staff.agent.user.id);
    expect(res.body.replies).toEqual([]);
  });

  it('assigns as the assign route does: an inactive user is a 400, the new assignee hears of it, oneself hears nothing', async () => {
    const ticket = await makeTicket({ agent: staff.agent });
    const other = await makeUser();
    const gone = await makeUser();
    await db()('users').where({ id: gone.user.id }).update({ active: false });
    const refused = await api().put(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).send({ assignee_id: gone.user.id, subject: 'kept out' }).expect(400);
    expect(refused.body.error.details.fields).toHaveProperty('assignee_id');
    expect((await db()('tickets').where({ id: ticket.id }).first()).subject).not.toBe('kept out');

    await api().put(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).send({ assignee_id: other.user.id }).expect(201);
    const mail = () => db()('outbound_emails').where({ ticket_id: ticket.id, template: 'ticket_assigned' });
    expect((await mail()).map((m: { recipient_user_id: number }) => m.recipient_user_id)).toEqual([other.user.id]);
    await api().put(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).send({ assignee_id: other.user.id }).expect(201);
    await api().put(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).send({ assignee_id: staff.agent.user.id }).expect(201);
    expect(await mail()).toHaveLength(1);
    const freed = await api().put(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).send({ assignee_id: null }).expect(201);
    expect(freed.body).toMatchObject({ assignee_id: null, assigned_by: null, assigned_at: null });
  });

  it('closes with close, and requests a closure with closure', async () => {
    const ticket = await makeTicket({ agent: staff.agent });
    const r1 = await api().put(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).send({ closure: true }).expect(201);
    expect(r1.body.closure).toBe(true);
    expect(r1.body.closure_requested_at).not.toBeNull();
    const r2 = await api().put(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).send({ close: true }).expect(201);
    expect(r2.body.open).toBe(false);
    expect(r2.body.closed_at).not.toBeNull();
  });

  it('refuses a sub-category of another category, unknown ids, and bad types', async () => {
    const ticket = await makeTicket({ agent: staff.agent });
    const [cat] = await db()('ticket_categories').insert({ name: 'Other' }).returning('id');
    const r = await api().put(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).send({ ticket_category_id: cat.id }).expect(400);
    expect(r.body.error.details.fields).toHaveProperty('ticket_sub_category_id');
    await api().put(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).send({ status_id: 4242 }).expect(400);
    await api().put(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).send({ tags: 'x' }).expect(400);
    await api().put(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).send({ ticketable_id: 999999 }).expect(404);
    await api().put(`/api/v1/tickets/999999`).set(staff.agent.auth).send({ subject: 'x' }).expect(404);
  });
});

describe('DELETE /api/v1/tickets/{id}', () => {
  it('deletes the ticket with its replies', async () => {
    const ticket = await makeTicket({ agent: staff.agent });
    await api()
      .post(`/api/v1/replies?ticket_id=${ticket.id}`)
      .set(staff.agent.auth)
      .send({ body: 'x', close: false, send_to_assignee: false, send_to_contacts: false })
      .expect(201);
    await api().delete(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).expect(200, { response: 'element deleted' });
    expect(await db()('replies').where({ ticket_id: ticket.id }).first()).toBeUndefined();
    await api().delete(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).expect(404);
  });
});

describe('lifecycle routes', () => {
  it('assigns, frees, closes, opens and reopens', async () => {
    const ticket = await makeTicket({ agent: staff.agent });
    const other = await makeUser();
    const a = await api().put(`/api/v1/tickets/assign/${ticket.id}`).set(staff.agent.auth).send({ assignee_id: other.user.id }).expect(201);
    expect(a.body).toMatchObject({ id: other.user.id, email: other.user.email });
    const queued = await db()('outbound_emails').where({ ticket_id: ticket.id, template: 'ticket_assigned' });
    expect(queued).toHaveLength(1);
    expect(queued[0].to_addresses).toEqual([{ name: other.user.name, address: other.user.email }]);

    await api().put(`/api/v1/tickets/assign/${ticket.id}`).set(staff.agent.auth).send({}).expect(400);
    await api().put(`/api/v1/tickets/assign/${ticket.id}`).set(staff.agent.auth).send({ assignee_id: 999999 }).expect(404);
    await api().put(`/api/v1/tickets/assign/999999`).set(staff.agent.auth).send({ assignee_id: other.user.id }).expect(404);

    await api().put(`/api/v1/tickets/free/${ticket.id}`).set(staff.agent.auth).expect(201, { response: 'ticket freed' });
    expect((await db()('tickets').where({ id: ticket.id }).first()).assignee_id).toBeNull();

    await api().put(`/api/v1/tickets/close/${ticket.id}`).set(staff.agent.auth).expect(201, { response: 'ticket closed' });
    expect((await db()('tickets').where({ id: ticket.id }).first()).open).toBe(false);
    await api().put(`/api/v1/tickets/open/${ticket.id}`).set(staff.agent.auth).expect(201, { response: 'ticket open' });
    expect((await db()('tickets').where({ id: ticket.id }).first()).open).toBe(true);

    await api().put(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).send({ closure: true }).expect(201);
    const opened = await api().put(`/api/v1/tickets/open/${ticket.id}`).set(staff.agent.auth).expect(201);
    expect(opened.body).toMatchObject({ id: ticket.id, closure: false, open: true });

    await api().put(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).send({ closure: true }).expect(201);
    const re = await api().put(`/api/v1/tickets/reopen/${ticket.id}`).set(staff.agent.auth).expect(201);
    expect(re.body).toMatchObject({ id: ticket.id, closure: false, closure_requested_at: null });

    for (const path of ['free', 'close', 'open', 'reopen']) {
      await api().put(`/api/v1/tickets/${path}/999999`).set(staff.agent.auth).expect(404);
    }
  });

  it('amends the time with signed corrections', async () => {
    const ticket = await makeTicket({ agent: staff.agent });
    await api().put(`/api/v1/tickets/amend/${ticket.id}`).set(staff.agent.auth).send({ time: 30 }).expect(201, { response: 'ticket time amended' });
    await api().put(`/api/v1/tickets/amend/${ticket.id}`).set(staff.agent.auth).send({ time: '-10' }).expect(201);
    expect((await db()('tickets').where({ id: ticket.id }).first()).time).toBe(20);
    const segments = await db()('time_segments').where({ ticket_id: ticket.id, kind: 'amend' }).orderBy('id');
    expect(segments.map((s: { minutes: number }) => s.minutes)).toEqual([30, -10]);
    for (const time of [undefined, 'ten', 1.5, 0, true]) {
      await api().put(`/api/v1/tickets/amend/${ticket.id}`).set(staff.agent.auth).send({ time }).expect(400);
    }
    await api().put(`/api/v1/tickets/amend/999999`).set(staff.agent.auth).send({ time: 5 }).expect(404);
  });

  it('creates a closed invoicing ticket', async () => {
    const customer = await makeCustomer();
    const res = await api()
      .post(`/api/v1/tickets/invoicing?ticketable_type=${CUSTOMER}&ticketable_id=${customer.id}`)
      .set(staff.agent.auth)
      .send({ time: 90, reference: 'INV-7', ticket_date: '2026-01-15' })
      .expect(201);
    expect(res.body.response).toBe('ticket created');
    expect(res.body.ticket).toMatchObject({ open: false, time: 90, subject: 'Invoicing: INV-7', opened_at: '2026-01-15 00:00:00' });
    await api().post(`/api/v1/tickets/invoicing?ticketable_type=${CUSTOMER}&ticketable_id=${customer.id}`).set(staff.agent.auth).send({ time: 0 }).expect(400);
    await api()
      .post(`/api/v1/tickets/invoicing?ticketable_type=${CUSTOMER}&ticketable_id=${customer.id}`)
      .set(staff.agent.auth)
      .send({ time: 5, ticket_date: '15/01/2026' })
      .expect(400);
    await api().post(`/api/v1/tickets/invoicing?ticketable_type=${CUSTOMER}&ticketable_id=999999`).set(staff.agent.auth).send({ time: 5 }).expect(404);
  });

  it('shows the customer of a ticket with its contacts', async () => {
    const customer = await makeCustomer();
    const contact = await makeContact(customer);
    const ticket = await makeTicket({ agent: staff.agent, customer, contact });
    const res = await api().get(`/api/v1/tickets/${ticket.id}/customer`).set(staff.agent.auth).expect(200);
    expect(res.body).toMatchObject({ id: customer.id, contacts: [{ id: contact.id, email: contact.email }] });
    await api().get(`/api/v1/tickets/999999/customer`).set(staff.agent.auth).expect(404);
  });

  it('attaches and detaches contacts of the same customer, never the last one', async () => {
    const customer = await makeCustomer();
    const c1 = await makeContact(customer);
    const c2 = await makeContact(customer);
    const stranger = await makeContact();
    const ticket = await makeTicket({ agent: staff.agent, customer, contact: c1 });
    await api()
      .put(`/api/v1/tickets/${ticket.id}/associates`)
      .set(staff.agent.auth)
      .send({ associated: [c2.id], unassociated: [] })
      .expect(201, { response: '1 associated and 0 unassociated' });
    await api()
      .put(`/api/v1/tickets/${ticket.id}/associates`)
      .set(staff.agent.auth)
      .send({ associated: [], unassociated: [c1.id, c2.id] })
      .expect(201, { response: '0 associated and 1 unassociated' });
    const left = await db()('ticket_contacts').where({ ticket_id: ticket.id });
    expect(left).toHaveLength(1);
    expect((await db()('tickets').where({ id: ticket.id }).first()).contact_id).toBe(left[0].contact_id);
    const bad = await api()
      .put(`/api/v1/tickets/${ticket.id}/associates`)
      .set(staff.agent.auth)
      .send({ associated: [stranger.id, 999999], unassociated: [] })
      .expect(400);
    expect(Object.keys(bad.body.error.details.fields)).toEqual(['associated.0', 'associated.1']);
    await api().put(`/api/v1/tickets/${ticket.id}/associates`).set(staff.agent.auth).send({ associated: [] }).expect(400);
    await api().put(`/api/v1/tickets/999999/associates`).set(staff.agent.auth).send({ associated: [], unassociated: [] }).expect(404);
  });
});

describe('GET /api/v1/tickets/counts', () => {
  it('counts totals, open, unassigned, mine, today, this week and closed', async () => {
    const me = await makeUser();
    const before = (await api().get('/api/v1/tickets/counts').set(me.auth).expect(200)).body;
    const t1 = await makeTicket({ agent: me });
    const t2 = await makeTicket({ agent: me });
    await api().put(`/api/v1/tickets/free/${t2.id}`).set(me.auth).expect(201);
    const t3 = await makeTicket({ agent: me });
    await api().put(`/api/v1/tickets/close/${t3.id}`).set(me.auth).expect(201);
    const after = (await api().get('/api/v1/tickets/counts').set(me.auth).expect(200)).body;
    expect(after.total - before.total).toBe(3);
    expect(after.open - before.open).toBe(2);
    expect(after.unassigned - before.unassigned).toBe(1);
    expect(after.assigned_to_myself - before.assigned_to_myself).toBe(1);
    expect(after.daily - before.daily).toBe(3);
    expect(after.weekly - before.weekly).toBe(3);
    expect(after.closed - before.closed).toBe(1);
    expect(t1.id).toBeGreaterThan(0);
  });
});

describe('GET /api/v1/tickets/search', () => {
  it('filters by number, email, body and exact fields, with scopes and includes', async () => {
    const me = await makeUser();
    const customer = await makeCustomer();
    const contact = await makeContact(customer, { email: `zed.${Date.now()}@searchable.test` });
    const t1 = await makeTicket({ agent: me, customer, contact, body: '<p>The flux capacitor 100%_done</p>' });
    const t2 = await makeTicket({ agent: me, customer, body: '<p>nothing here</p>' });
    const [team] = await db()('support_teams').insert({ name: 'Ops' }).returning('id');
    await db()('support_team_members').insert({ support_team_id: team.id, user_id: me.user.id });
    await db()('tickets').where({ id: t2.id }).update({ team_id: team.id });

    const get = (q: string) => api().get(`/api/v1/tickets/search?${q}`).set(me.auth).expect(200);
    const ids = (res: { body: { id: number }[] }) => res.body.map((t) => t.id);

    expect(ids(await get(`filter[number]=${t1.number.slice(1, 5).toLowerCase()}`))).toContain(t1.id);
    expect(ids(await get(`filter[email]=${encodeURIComponent(contact.email.slice(0, 10))}`))).toEqual([t1.id]);
    expect(ids(await get('filter[body]=flux%20CAPACITOR'))).toEqual([t1.id]);
    expect(ids(await get('filter[body]=100%25_done'))).toEqual([t1.id]);
    expect(ids(await get('filter[body]=100%25Xdone'))).toEqual([]);
    expect(ids(await get(`filter[ticketable_id]=${customer.id}&filter[ticketable_type]=App%5CCustomer`)).sort()).toEqual([t1.id, t2.id].sort());
    expect(ids(await get(`filter[team_id]=${team.id}`))).toEqual([t2.id]);
    expect(ids(await get(`filter[my_teams_tickets]=true`))).toEqual([t2.id]);
    expect(ids(await get(`filter[my_tickets]=1&filter[ticketable_id]=${customer.id}`)).sort()).toEqual([t1.id, t2.id].sort());
    expect(ids(await get(`filter[assignee_id]=${me.user.id}&filter[priority_id]=2&filter[status_id]=${t1.status_id}`)).sort()).toEqual([t1.id, t2.id].sort());

    await api().put(`/api/v1/tickets/close/${t2.id}`).set(me.auth).expect(201);
    expect(ids(await get(`filter[ticketable_id]=${customer.id}&filter[open]=true`))).toEqual([t1.id]);
    expect(ids(await get(`filter[ticketable_id]=${customer.id}&filter[closed]=true`))).toEqual([t2.id]);

    const inc = await get(`filter[ticketable_id]=${customer.id}&include=replies,customer,ticketable,documents,team,assigner,contract`);
    const row = inc.body.find((t: { id: number }) => t.id === t2.id);
    expect(row.team).toMatchObject({ id: team.id, name: 'Ops' });
    expect(row.customer.id).toBe(customer.id);
    expect(row.ticketable.id).toBe(customer.id);
    expect(row.replies).toEqual([]);
    expect(row.documents).toEqual([]);
    expect(row.assigner).toMatchObject({ id: me.user.id });
    expect(row.contract).toBeNull();
    expect(row.replies_count).toBe(0);
  });

  it('refuses unknown filters, includes and sorts, naming the allowed ones, and bad values', async () => {
    for (const [q, field] of [
      ['filter[nope]=1', 'filter[nope]'],
      ['include=secrets', 'include'],
      ['sort=id', 'sort'],
      ['filter[assignee_id]=abc', 'filter[assignee_id]'],
      ['filter[open]=maybe', 'filter[open]'],
      ['per_page=0', 'per_page'],
    ]) {
      const res = await api().get(`/api/v1/tickets/search?${q}`).set(staff.agent.auth).expect(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(Object.keys(res.body.error.details.fields)).toEqual([field]);
    }
    const res = await api().get('/api/v1/tickets/search?include=secrets').set(staff.agent.auth).expect(400);
    expect(res.body.error.details.fields.include).toMatch(/allowed: assigner, contract, customer, documents, replies, team, ticketable$/);
  });

  it('ignores unknown top-level keys (a cache-buster, foo=1), as SPEC §2 says', async () => {
    await api().get('/api/v1/tickets/search?_=123&foo=1').set(staff.agent.auth).expect(200);
  });
});

describe('auth', () => {
  const routes: [string, string][] = [
    ['get', '/api/v1/tickets'],
    ['post', '/api/v1/tickets?ticketable_type=App%5CCustomer&ticketable_id=1'],
    ['get', '/api/v1/tickets/counts'],
    ['get', '/api/v1/tickets/search'],
    ['post', '/api/v1/tickets/invoicing?ticketable_type=App%5CCustomer&ticketable_id=1'],
    ['get', '/api/v1/tickets/1'],
    ['put', '/api/v1/tickets/1'],
    ['delete', '/api/v1/tickets/1'],
    ['put', '/api/v1/tickets/assign/1'],
    ['put', '/api/v1/tickets/free/1'],
    ['put', '/api/v1/tickets/close/1'],
    ['put', '/api/v1/tickets/open/1'],
    ['put', '/api/v1/tickets/reopen/1'],
    ['put', '/api/v1/tickets/amend/1'],
    ['post', '/api/v1/tickets/1/read-replies'],
    ['get', '/api/v1/tickets/1/customer'],
    ['put', '/api/v1/tickets/1/associates'],
    ['get', '/api/v1/replies?ticket_id=1'],
    ['post', '/api/v1/replies?ticket_id=1'],
  ];
  it.each(routes)('%s %s answers 401 without a valid token', async (method, path) => {
    const res = await (api() as unknown as Record<string, (p: string) => import('supertest').Test>)[method]!(path).expect(401);
    expect(res.body.error.code).toBe('unauthorized');
    await (api() as unknown as Record<string, (p: string) => import('supertest').Test>)[method]!(path)
      .set('Authorization', 'Bearer hd_000000000000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')
      .expect(401);
  });

  it('refuses revoked tokens and inactive users', async () => {
    const u = await makeUser();
    await api().get('/api/v1/me').set(u.auth).expect(200);
    await db()('users').where({ id: u.user.id }).update({ active: false });
    await api().get('/api/v1/me').set(u.auth).expect(401);
    const v = await makeUser();
    await db()('api_tokens').where({ user_id: v.user.id }).update({ revoked_at: new Date() });
    await api().get('/api/v1/me').set(v.auth).expect(401);
  });

  it('stores only a hash of the token', async () => {
    const u = await makeUser();
    const rows = await db()('api_tokens').where({ user_id: u.user.id });
    expect(JSON.stringify(rows)).not.toContain(u.token.split('_')[2]);
    expect(staff.admin.user.role).toBe('admin');
  });
});

describe('malformed requests never answer 500', () => {
  it.each([
    ['post', '/api/v1/tickets?ticketable_type=App%5CCustomer&ticketable_id=abc', '{"subject":"x"}'],
    ['post', '/api/v1/tickets?ticketable_type=App%5CCustomer&ticketable_id=1', '{not json'],
    ['post', '/api/v1/tickets?ticketable_type=App%5CCustomer&ticketable_id=1', '[1,2,3]'],
    ['post', '/api/v1/tickets?ticketable_type=App%5CCustomer&ticketable_id=1', '"text"'],
    ['put', '/api/v1/tickets/1', '{"priority_id": 1e400}'],
    ['put', '/api/v1/tickets/1', '{"opened_at": "2026-13-45 99:99:99"}'],
    ['put', '/api/v1/tickets/assign/1', '{"assignee_id": -1}'],
    ['put', '/api/v1/tickets/assign/1', '{"assignee_id": 99999999999}'],
    ['put', '/api/v1/tickets/amend/1', '{"time": "1e309"}'],
    ['put', '/api/v1/tickets/1/associates', '{"associated": "1", "unassociated": null}'],
    ['post', '/api/v1/replies?ticket_id=1', '{"body": null}'],
    ['post', '/api/v1/replies?ticket_id=xyz', '{}'],
    ['get', '/api/v1/tickets/search?filter[ticketable_id]=99999999999', ''],
    ['get', '/api/v1/replies', ''],
  ])('%s %s %s', async (method, path, body) => {
    const req = (api() as unknown as Record<string, (p: string) => import('supertest').Test>)[method]!(path).set(staff.agent.auth);
    const res = body ? await req.set('Content-Type', 'application/json').send(body) : await req;
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body.error.code).toMatch(/^[a-z_]+$/);
  });

  it('answers 413 to a body over the limit', async () => {
    const big = JSON.stringify({ body: 'x'.repeat(3 * 1024 * 1024) });
    const res = await api().post('/api/v1/replies?ticket_id=1').set(staff.agent.auth).set('Content-Type', 'application/json').send(big);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });
});
