import { db } from '../../../src/db/knex';
import { type Agent, api, makeContact, makeCustomer, makeTicket, makeUser } from '../../helpers/factories';
import { useTestDatabase } from '../../helpers/useTestDatabase';

useTestDatabase();

let agent: Agent;
beforeAll(async () => {
  agent = await makeUser();
});

const reply = (ticketId: number, body: Record<string, unknown>, who: Agent = agent) =>
  api().post(`/api/v1/replies?ticket_id=${ticketId}`).set(who.auth).send(body);

const flags = { close: false, send_to_assignee: false, send_to_contacts: false };

describe('POST /api/v1/replies', () => {
  it('takes attachments uploaded beforehand to the ticket; one of another ticket or reply is a 400 naming attachment_ids', async () => {
    const ticket = await makeTicket({ agent });
    const other = await makeTicket({ agent });
    const upload = (ticketId: number) =>
      api().post(`/api/v1/ticketing/attachments?ticket_id=${ticketId}`).set(agent.auth).attach('file', Buffer.from('log'), 'log.txt').expect(201);
    const mine = (await upload(ticket.id)).body.id;
    const theirs = (await upload(other.id)).body.id;
    const bad = await reply(ticket.id, { ...flags, body: '<p>see log</p>', attachment_ids: [mine, theirs] }).expect(400);
    expect(bad.body.error.details.fields.attachment_ids).toContain(String(theirs));
    expect(await db()('replies').where({ ticket_id: ticket.id })).toHaveLength(0);
    const ok = await reply(ticket.id, { ...flags, body: '<p>see log</p>', attachment_ids: [mine] }).expect(201);
    expect(await db()('attachments').where({ id: mine }).first()).toMatchObject({ reply_id: ok.body.id, ticket_id: ticket.id });
    // already the reply's: not usable for another one
    await reply(ticket.id, { ...flags, body: '<p>again</p>', attachment_ids: [mine] }).expect(400);
  });

  it('sends to the contacts: customer-visible, an exchange, the on_admin_reply status, one message primary To others Cc', async () => {
    const customer = await makeCustomer();
    const primary = await makeContact(customer);
    const other = await makeContact(customer);
    const ticket = await makeTicket({ agent, customer, contact: primary });
    await db()('ticket_contacts').insert({ ticket_id: ticket.id, contact_id: other.id });

    const res = await reply(ticket.id, { ...flags, body: '<p>Fixed <script>x</script></p>', send_to_contacts: true }).expect(201);
    expect(res.body).toMatchObject({
      ticket_id: ticket.id,
      body: '<p>Fixed </p>',
      origin: 'admin',
      author_type: 'App\\User',
      author_id: agent.user.id,
      contact_id: primary.id,
      customer_visible: true,
      auto_closure_message: false,
      seen_at: null,
    });
    const t = await db()('tickets').where({ id: ticket.id }).first();
    const status = await db()('ticket_statuses').where({ auto_for: 'on_admin_reply' }).first();
    expect(t.exchanges).toBe(1);
    expect(t.status_id).toBe(status.id);

    const out = await db()('outbound_emails').where({ reply_id: res.body.id });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ template: 'agent_reply', state: 'queued', automatic: false, ticket_id: ticket.id });
    expect(out[0].to_addresses).toEqual([{ name: primary.name, address: primary.email }]);
    expect(out[0].cc_addresses).toEqual([{ name: other.name, address: other.email }]);
    expect(out[0].message_id).toMatch(/^<[0-9a-f]{32}@helpdesk\.test>$/);
    const ids = await db()('ticket_message_ids').where({ message_id: out[0].message_id });
    expect(ids).toMatchObject([{ ticket_id: ticket.id, direction: 'out', reply_id: res.body.id }]);
  });

  it('is an internal note when not sent: no status change, no mail to the customer', async () => {
    const ticket = await makeTicket({ agent });
    const res = await reply(ticket.id, { ...flags, body: 'note' }).expect(201);
    expect(res.body.customer_visible).toBe(false);
    expect(res.body.contact_id).toBeNull();
    const t = await db()('tickets').where({ id: ticket.id }).first();
    expect(t.exchanges).toBe(0);
    expect(t.status_id).toBe(ticket.status_id);
    expect(await db()('outbound_emails').where({ ticket_id: ticket.id })).toHaveLength(0);
  });

  it('notifies the assignee and the team, one message per agent, never the author', async () => {
    const owner = await makeUser();
    const mate = await makeUser();
    const [team] = await db()('support_teams').insert({ name: 'Team' }).returning('id');
    await db()('support_team_members').insert([
      { support_team_id: team.id, user_id: agent.user.id },
      { support_team_id: team.id, user_id: mate.user.id },
    ]);
    const ticket = await makeTicket({ agent: owner, team_id: team.id });
    const res = await reply(ticket.id, { ...flags, body: 'fyi', send_to_assignee: true, notify_team: true }).expect(201);
    const out = await db()('outbound_emails').where({ reply_id: res.body.id }).orderBy('recipient_user_id');
    expect(out.map((o: { recipient_user_id: number }) => o.recipient_user_id).sort()).toEqual([owner.user.id, mate.user.id].sort());
    expect(out.find((o: { recipient_user_id: number }) => o.recipient_user_id === owner.user.id).template).toBe('reply_to_assignee');
    expect(out.every((o: { automatic: boolean }) => o.automatic)).toBe(true);
  });

  it('treats notify_customer as sending to the contacts', async () => {
    const ticket = await makeTicket({ agent });
    const res = await reply(ticket.id, { ...flags, body: 'x', notify_customer: true }).expect(201);
    expect(res.body.customer_visible).toBe(true);
  });

  it('closes the ticket with close: true', async () => {
    const ticket = await makeTicket({ agent });
    await reply(ticket.id, { ...flags, body: 'bye', close: true }).expect(201);
    expect((await db()('tickets').where({ id: ticket.id }).first()).open).toBe(false);
  });

  it('keeps template variables in the stored body and resolves them on show', async () => {
    const ticket = await makeTicket({ agent });
    const res = await reply(ticket.id, { ...flags, body: '<p>{{ticket.number}}</p>' }).expect(201);
    expect(res.body.body).toBe('<p>{{ticket.number}}</p>');
  });

  it('answers 404 for an unknown ticket and 400 for bad input', async () => {
    await reply(999999, { ...flags, body: 'x' }).expect(404);
    const ticket = await makeTicket({ agent });
    const r = await reply(ticket.id, { body: 'x' }).expect(400);
    expect(Object.keys(r.body.error.details.fields).sort()).toEqual(['close', 'send_to_assignee', 'send_to_contacts']);
    await reply(ticket.id, { ...flags, body: '<script>only()</script>' }).expect(400);
    await reply(ticket.id, { ...flags, body: 'x', close: 'yes' }).expect(400);
    await api()
      .post('/api/v1/replies')
      .set(agent.auth)
      .send({ ...flags, body: 'x' })
      .expect(400);
  });
});

describe('GET /api/v1/replies', () => {
  it("lists a ticket's replies oldest first with authors", async () => {
    const ticket = await makeTicket({ agent });
    await reply(ticket.id, { ...flags, body: 'one' }).expect(201);
    await reply(ticket.id, { ...flags, body: 'two' }).expect(201);
    const res = await api().get(`/api/v1/replies?ticket_id=${ticket.id}`).set(agent.auth).expect(200);
    expect(res.body.map((r: { body: string }) => r.body)).toEqual(['one', 'two']);
    expect(res.body[0].author).toMatchObject({ id: agent.user.id, type: 'App\\User' });
    expect(res.headers['x-total-count']).toBe('2');
  });

  it('answers 404 for an unknown ticket and 400 without ticket_id', async () => {
    await api().get('/api/v1/replies?ticket_id=999999').set(agent.auth).expect(404);
    await api().get('/api/v1/replies').set(agent.auth).expect(400);
  });
});
