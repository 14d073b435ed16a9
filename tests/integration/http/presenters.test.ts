/**
 * What leaves the API (issue 14): every resource answers with exactly its presenter's list
 * of fields. Each table gets an extra column first, as a migration would add one, and no
 * answer may show it; a mailbox never shows its IMAP password.
 */
import { db } from '../../../src/db/knex';
import { ATTACHMENT_FIELDS } from '../../../src/http/routes/attachments/presenter';
import { CATEGORY_FIELDS, PRIORITY_FIELDS, STATUS_FIELDS, SUB_CATEGORY_FIELDS } from '../../../src/http/routes/catalog/presenter';
import { CONFIG_FIELDS } from '../../../src/http/routes/config/presenter';
import { CONTACT_FIELDS } from '../../../src/http/routes/contacts/presenter';
import { CONTRACT_FIELDS, DAILY_POINTS_SUMMARY_FIELDS, SHARED_CONTRACT_FIELDS } from '../../../src/http/routes/contracts/presenter';
import { CUSTOMER_FIELDS } from '../../../src/http/routes/customers/presenter';
import { MAILBOX_FIELDS } from '../../../src/http/routes/mail/presenter';
import { OUTBOUND_EMAIL_FIELDS } from '../../../src/http/routes/outbound/presenter';
import { REPLY_AUTHOR_FIELDS, REPLY_FIELDS } from '../../../src/http/routes/replies/presenter';
import { SUPPORT_SHEET_FIELDS } from '../../../src/http/routes/sheets/presenter';
import { SUPPRESSION_FIELDS } from '../../../src/http/routes/suppressions/presenter';
import { SUPPORT_TEAM_FIELDS } from '../../../src/http/routes/teams/presenter';
import { REPLY_TEMPLATE_FIELDS, TICKET_TEMPLATE_FIELDS } from '../../../src/http/routes/templates/presenter';
import { TIME_SEGMENT_FIELDS } from '../../../src/http/routes/time/presenter';
import { USER_FIELDS } from '../../../src/http/routes/users/presenter';
import type { Ticket } from '../../../src/models/Ticket';
import { type Agent, api, makeCustomer, makeTicket, useStaff } from '../../helpers/factories';
import { useTestDatabase } from '../../helpers/useTestDatabase';

useTestDatabase();
const staff = useStaff();

/** A column no presenter names, added to every table a presenter reads. */
const PROBE = 'leak_probe';
const TABLES = [
  'ticket_statuses',
  'priorities',
  'ticket_categories',
  'ticket_sub_categories',
  'support_contracts',
  'shared_support_contracts',
  'daily_points_summaries',
  'support_sheets',
  'support_teams',
  'reply_templates',
  'ticket_templates',
  'time_segments',
  'users',
  'customers',
  'contacts',
  'attachments',
  'outbound_emails',
  'replies',
  'undeliverable_addresses',
];

let ticket: Ticket;
beforeAll(async () => {
  for (const table of TABLES) await db().raw(`alter table ?? add column ${PROBE} text not null default 'secret'`, [table]);
  ticket = await makeTicket({ agent: staff.agent });
});

type Row = Record<string, unknown>;
const keys = (row: Row) => Object.keys(row);

/** The keys of a list row or a create answer: some of `fields` (what the query loaded), in its order. */
function expectSomeOf(row: Row, fields: readonly string[]): void {
  expect(keys(row)).toEqual(fields.filter((f) => f in row));
}

interface Resource {
  path: string;
  fields: readonly string[];
  /** Who writes (statuses, teams, contracts: admin; the rest: agents). */
  writer: 'admin' | 'agent';
  body: () => Promise<Row>;
  /** A change for the update (none: the resource has no update). */
  update?: Row;
}

const customerId = async () => (await makeCustomer()).id;
const RESOURCES: Record<string, Resource> = {
  status: {
    path: '/api/v1/ticketing/statuses',
    fields: STATUS_FIELDS,
    writer: 'admin',
    body: async () => ({ name: 'On hold', color: '#123456' }),
    update: { color: '#654321' },
  },
  category: {
    path: '/api/v1/ticketing/categories',
    fields: CATEGORY_FIELDS,
    writer: 'admin',
    body: async () => ({ name: 'Hardware' }),
    update: { description: 'boxes' },
  },
  'sub-category': {
    path: '/api/v1/ticketing/sub-categories',
    fields: SUB_CATEGORY_FIELDS,
    writer: 'admin',
    body: async () => ({ ticket_category_id: 1, name: 'Printers', priority_id: 3 }),
    update: { name: 'Label printers' },
  },
  'support contract': {
    path: '/api/v1/ticketing/support_contracts',
    fields: CONTRACT_FIELDS,
    writer: 'admin',
    body: async () => ({ support_contracteable_id: await customerId(), points_init: 10, signed_at: '01/02/2026' }),
    update: { points_alert: 2 },
  },
  'shared support contract': {
    path: '/api/v1/ticketing/shared_support_contracts',
    fields: SHARED_CONTRACT_FIELDS,
    writer: 'admin',
    body: async () => {
      const contract = await api()
        .post('/api/v1/ticketing/support_contracts')
        .set(staff.admin.auth)
        .send({ support_contracteable_id: await customerId(), points_init: 5 })
        .expect(201);
      return { support_contract_id: contract.body.id, customer_id: await customerId() };
    },
  },
  'support sheet': {
    path: '/api/v1/ticketing/support_sheets',
    fields: SUPPORT_SHEET_FIELDS,
    writer: 'agent',
    body: async () => ({ customer_id: await customerId(), title: 'VPN', content: '<p>ask Bob</p>' }),
    update: { title: 'VPN access' },
  },
  'support team': {
    path: '/api/v1/ticketing/support-teams',
    fields: SUPPORT_TEAM_FIELDS,
    writer: 'admin',
    body: async () => ({ name: 'Level 2' }),
    update: { name: 'Level 3' },
  },
  'reply template': {
    path: '/api/v1/reply_templates',
    fields: REPLY_TEMPLATE_FIELDS,
    writer: 'agent',
    body: async () => ({ name: 'Thanks', body: '<p>Hello {{contact.name}}</p>' }),
    update: { name: 'Thank you' },
  },
  'ticket template': {
    path: '/api/v1/ticket_templates',
    fields: TICKET_TEMPLATE_FIELDS,
    writer: 'agent',
    body: async () => ({ name: 'Outage', subject: 'Outage on {{ticket.number}}', body: '<p>down</p>', priority_id: 2 }),
    update: { name: 'Major outage' },
  },
  'time segment': {
    path: '/api/v1/ticketing/time_segments',
    fields: TIME_SEGMENT_FIELDS,
    writer: 'agent',
    body: async () => ({ ticket_id: ticket.id, minutes: 15, note: 'call' }),
    update: { note: 'long call' },
  },
  user: {
    path: '/api/v1/users',
    fields: USER_FIELDS,
    writer: 'admin',
    body: async () => ({ name: 'Zoe', email: `zoe${Date.now()}@helpdesk.test` }),
    update: { name: 'Zoé' },
  },
  customer: {
    path: '/api/v1/customers',
    fields: CUSTOMER_FIELDS,
    writer: 'agent',
    body: async () => ({ name: 'Initech', email_domains: ['initech.test'] }),
    update: { name: 'Initech Ltd' },
  },
  contact: {
    path: '/api/v1/contacts',
    fields: CONTACT_FIELDS,
    writer: 'agent',
    body: async () => ({ contactable_id: await customerId(), name: 'Ann', email: `ann${Date.now()}@initech.test` }),
    update: { name: 'Ann B.' },
  },
};

describe('a created-then-shown object has exactly its presenter fields', () => {
  it.each(Object.keys(RESOURCES))('%s', async (name) => {
    const r = RESOURCES[name]!;
    const writer: Agent = staff[r.writer];
    const created = await api()
      .post(r.path)
      .set(writer.auth)
      .send(await r.body())
      .expect(201);
    expectSomeOf(created.body, r.fields);
    const shown = await api().get(`${r.path}/${created.body.id}`).set(staff.agent.auth).expect(200);
    expect(keys(shown.body)).toEqual([...r.fields]);
    if (r.update) {
      const updated = await api().put(`${r.path}/${created.body.id}`).set(writer.auth).send(r.update).expect(200);
      expectSomeOf(updated.body, r.fields);
    }
    const listed = await api().get(`${r.path}?per_page=500`).set(staff.agent.auth).expect(200);
    const row = listed.body.find((x: Row) => x.id === created.body.id);
    expectSomeOf(row, r.fields);
    expect(JSON.stringify([created.body, shown.body, listed.body])).not.toContain(PROBE);
  });

  it('attachment', async () => {
    const created = await api()
      .post(`/api/v1/ticketing/attachments?ticket_id=${ticket.id}`)
      .set(staff.agent.auth)
      .attach('file', Buffer.from('hello'), 'hello.txt')
      .expect(201);
    const shown = await api().get(`/api/v1/ticketing/attachments/${created.body.id}`).set(staff.agent.auth).expect(200);
    expect(keys(created.body)).toEqual([...ATTACHMENT_FIELDS]);
    expect(keys(shown.body)).toEqual([...ATTACHMENT_FIELDS]);
    const listed = await api().get(`/api/v1/ticketing/attachments?ticket_id=${ticket.id}`).set(staff.agent.auth).expect(200);
    expect(keys(listed.body[0])).toEqual([...ATTACHMENT_FIELDS]);
  });

  it('reply (its author on lists) and the outbound email it queues, without the signed Reply-To', async () => {
    const created = await api()
      .post(`/api/v1/replies?ticket_id=${ticket.id}`)
      .set(staff.agent.auth)
      .send({ body: '<p>on it</p>', close: false, send_to_assignee: false, send_to_contacts: true })
      .expect(201);
    expect(keys(created.body)).toEqual(REPLY_FIELDS.filter((f) => f !== 'author'));
    const listed = await api().get(`/api/v1/replies?ticket_id=${ticket.id}`).set(staff.agent.auth).expect(200);
    const row = listed.body.find((x: Row) => x.id === created.body.id);
    expect(keys(row)).toEqual([...REPLY_FIELDS]);
    expect(keys(row.author)).toEqual([...REPLY_AUTHOR_FIELDS]);

    const out = await api().get(`/api/v1/ticketing/outbound_emails?filter[ticket_id]=${ticket.id}`).set(staff.agent.auth).expect(200);
    expect(out.body.length).toBeGreaterThan(0);
    const shown = await api().get(`/api/v1/ticketing/outbound_emails/${out.body[0].id}`).set(staff.agent.auth).expect(200);
    expect(keys(shown.body)).toEqual([...OUTBOUND_EMAIL_FIELDS]);
    expect(shown.body).not.toHaveProperty('reply_to');
    expect(shown.body).not.toHaveProperty('data');
    expect(JSON.stringify([listed.body, out.body])).not.toContain(PROBE);
  });

  it('the rows no one creates through the API: priorities, daily points summaries, suppressions', async () => {
    const priorities = await api().get('/api/v1/ticketing/priorities').set(staff.agent.auth).expect(200);
    expect(keys(priorities.body[0])).toEqual([...PRIORITY_FIELDS]);

    const contract = await api()
      .post('/api/v1/ticketing/support_contracts')
      .set(staff.admin.auth)
      .send({ support_contracteable_id: await customerId(), points_init: 5 })
      .expect(201);
    await db()('daily_points_summaries').insert({
      support_contract_id: contract.body.id,
      day: '2026-11-01',
      points_total: 5,
      points_current: 5,
      points_consumed: 0,
      created_at: new Date(),
    });
    const daily = await api().get(`/api/v1/ticketing/daily_points_summary?support_contract_id=${contract.body.id}`).set(staff.agent.auth).expect(200);
    expect(keys(daily.body[0])).toEqual([...DAILY_POINTS_SUMMARY_FIELDS]);

    await db()('undeliverable_addresses').insert({ address: 'gone@bounced.test', reason: '5.1.1 no such user', source: 'bounce' });
    const suppressions = await api().get('/api/v1/ticketing/suppressions?filter[address]=gone@').set(staff.agent.auth).expect(200);
    expect(keys(suppressions.body[0])).toEqual([...SUPPRESSION_FIELDS]);
    expect(JSON.stringify([priorities.body, daily.body, suppressions.body])).not.toContain(PROBE);
  });

  it('config, team members, the caller, a timer', async () => {
    const config = await api().get('/api/v1/ticketing/config').set(staff.agent.auth).expect(200);
    expect(keys(config.body)).toEqual([...CONFIG_FIELDS]);
    const changed = await api().put('/api/v1/ticketing/config').set(staff.admin.auth).send({ reopen_window_days: 10 }).expect(200);
    expect(keys(changed.body)).toEqual([...CONFIG_FIELDS]);

    const team = await api().post('/api/v1/ticketing/support-teams').set(staff.admin.auth).send({ name: 'Night shift' }).expect(201);
    const added = await api()
      .post(`/api/v1/ticketing/support-teams/${team.body.id}/members`)
      .set(staff.admin.auth)
      .send({ user_ids: [staff.agent.user.id] })
      .expect(200);
    expect(keys(added.body[0])).toEqual([...USER_FIELDS]);
    const me = await api().get('/api/v1/me').set(staff.agent.auth).expect(200);
    expect(keys(me.body)).toEqual([...USER_FIELDS]);

    const started = await api().post('/api/v1/ticketing/start_tracking').set(staff.agent.auth).send({ ticket_id: ticket.id }).expect(201);
    expect(keys(started.body.started)).toEqual([...TIME_SEGMENT_FIELDS]);
    const stopped = await api().post('/api/v1/ticketing/end_tracking').set(staff.agent.auth).send({}).expect(200);
    expect(keys(stopped.body)).toEqual([...TIME_SEGMENT_FIELDS]);
    expect(JSON.stringify([added.body, me.body, started.body, stopped.body])).not.toContain(PROBE);
  });
});

describe('mailboxes', () => {
  it('show exactly their fields and never the IMAP password, in any answer', async () => {
    const path = '/api/v1/ticketing/mailboxes';
    const created = await api()
      .post(path)
      .set(staff.admin.auth)
      .send({ name: 'Support', email: 'support@presenters.test', imap_password: 'hunter2-imap' })
      .expect(201);
    const id = created.body.id;
    const answers = [
      created.body,
      (await api().get(`${path}/${id}`).set(staff.agent.auth).expect(200)).body,
      (await api().put(`${path}/${id}`).set(staff.admin.auth).send({ imap_password: 'hunter3-imap' }).expect(200)).body,
      (await api().get(path).set(staff.agent.auth).expect(200)).body.find((m: Row) => m.id === id),
    ];
    for (const answer of answers) {
      expect(Object.keys(answer)).toEqual([...MAILBOX_FIELDS]);
      expect(answer).toMatchObject({ id, has_password: true });
      expect(answer).not.toHaveProperty('imap_password');
      expect(answer).not.toHaveProperty('imap_password_encrypted');
      expect(JSON.stringify(answer)).not.toMatch(/hunter[23]-imap/);
    }
  });
});
