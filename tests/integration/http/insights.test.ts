/**
 * Ticket insights (issue 12): every figure checked against a fixture of tickets, replies
 * and time segments written with known timestamps, in Europe/Paris; reopens counted
 * through the API routes and the mail pipeline; days, weeks and years across DST changes.
 */
import { setNow } from '../../../src/clock';
import { db } from '../../../src/db/knex';
import { ingestBatch, ingestMessage } from '../../../src/mail/inbound/ingest';
import { prepareMessage } from '../../../src/mail/inbound/prepare';
import type { Customer } from '../../../src/models/Customer';
import { updateSettings } from '../../../src/services/config/settings';
import { TICKET_FACTS } from '../../../src/services/insights/figures';
import { type InsightsInput, ticketInsights } from '../../../src/services/insights/insights';
import { rollupZone } from '../../../src/services/insights/rollups';
import { customerReportData, reportPeriod } from '../../../src/services/reports/customerReportData';
import { countTickets } from '../../../src/services/tickets/countTickets';
import { randomTicketNumber } from '../../../src/services/tickets/ticketNumber';
import { type Agent, api, makeContact, makeCustomer, makeTicket, makeUser, useStaff } from '../../helpers/factories';
import { runJob } from '../../helpers/jobs';
import { buildMail, makeMailbox } from '../../helpers/mail';
import { useTestDatabase } from '../../helpers/useTestDatabase';

useTestDatabase();
const staff = useStaff();
afterEach(() => setNow(undefined));

const at = (iso: string) => new Date(iso);

async function insertTicket(fields: Record<string, unknown>): Promise<number> {
  const [row] = await db()('tickets')
    .insert({
      number: randomTicketNumber(),
      subject: 'Subject',
      body: '<p>Body</p>',
      priority_id: 2,
      ticket_category_id: 1,
      ticket_sub_category_id: 1,
      status_id: null,
      author_type: 'App\\User',
      origin: 'email',
      opened_via: 'email',
      ...fields,
    })
    .returning('id');
  return row.id as number;
}

async function insertReply(ticketId: number, createdAt: string, fields: Record<string, unknown>): Promise<void> {
  await db()('replies').insert({
    ticket_id: ticketId,
    body: '<p>r</p>',
    origin: 'admin',
    author_type: 'App\\User',
    customer_visible: true,
    created_at: at(createdAt),
    updated_at: at(createdAt),
    ...fields,
  });
}

async function insertSegment(ticketId: number, minutes: number, kind = 'manual'): Promise<void> {
  await db()('time_segments').insert({ ticket_id: ticketId, kind, minutes, started_at: at('2025-01-06T09:00:00Z'), ended_at: at('2025-01-06T09:00:00Z') });
}

function get(path: string, query: Record<string, string | number> = {}) {
  return api().get(`/api/v1/tickets-insights${path}`).query(query).set(staff.agent.auth);
}

/*
 * The fixture, customer C, Europe/Paris (UTC+1 in winter):
 * - T1 opened 2025-01-06 09:00Z, New, Normal, General, team, agent A1, email; closed 13:00Z (240 min).
 *   Replies: the contact 09:10, A1's note 09:20, an auto-closure reminder 09:25, an agent's
 *   auto-reply 09:27 (none of them a response), A1's reply 09:30 (first response: 30 min),
 *   A1 again 10:00. 3 exchanges, 1.50 points, segments 30 + 15 = 45 minutes.
 * - T2 opened 2025-01-07 10:00Z, Waiting, High, Billing, team, agent A2, admin; closed 12:00Z,
 *   then reopened twice through the API (open at the end). A2's reply by mail 11:00 (60 min).
 *   1 exchange, 0.50 points, segments 20 and an amendment of -5 = 15 minutes.
 * - T3 opened 2025-02-10 08:00Z, no status, Normal, General, no team, unassigned, email; closed
 *   10:00Z (120 min); only the contact wrote. 0 exchanges, 0 points, no time.
 * - T4: an invoicing ticket of C (never selected); T5: a ticket of another customer.
 */
const fx = {} as {
  customer: Customer;
  other: Customer;
  teamId: number;
  billingId: number;
  a2: Agent;
  t1: number;
  t2: number;
  t3: number;
  t4: number;
  t5: number;
};

beforeAll(async () => {
  await updateSettings({ timezone: 'Europe/Paris' });
  fx.customer = await makeCustomer();
  fx.other = await makeCustomer();
  fx.a2 = await makeUser();
  const contact = await makeContact(fx.customer);
  [{ id: fx.teamId }] = await db()('support_teams').insert({ name: 'Insights team' }).returning('id');
  [{ id: fx.billingId }] = await db()('ticket_categories').insert({ name: 'Billing' }).returning('id');
  const [{ id: billingSub }] = await db()('ticket_sub_categories').insert({ ticket_category_id: fx.billingId, name: 'Invoices' }).returning('id');
  const a1 = staff.agent.user.id;
  const of = { ticketable_id: fx.customer.id };

  fx.t1 = await insertTicket({
    ...of,
    status_id: 1,
    team_id: fx.teamId,
    assignee_id: a1,
    opened_at: at('2025-01-06T09:00:00Z'),
    open: false,
    closed_at: at('2025-01-06T13:00:00Z'),
    exchanges: 3,
    points: 1.5,
  });
  await insertReply(fx.t1, '2025-01-06T09:10:00Z', { origin: 'email', author_type: 'App\\Contact', author_id: contact.id, contact_id: contact.id });
  await insertReply(fx.t1, '2025-01-06T09:20:00Z', { author_id: a1, customer_visible: false });
  await insertReply(fx.t1, '2025-01-06T09:25:00Z', { origin: 'system', author_id: null, contact_id: contact.id, auto_closure_message: true });
  await insertReply(fx.t1, '2025-01-06T09:27:00Z', { origin: 'email', author_id: fx.a2.user.id, flags: ['auto_reply'] });
  await insertReply(fx.t1, '2025-01-06T09:30:00Z', { author_id: a1, contact_id: contact.id });
  await insertReply(fx.t1, '2025-01-06T10:00:00Z', { author_id: a1, contact_id: contact.id });
  await insertSegment(fx.t1, 30, 'tracked');
  await insertSegment(fx.t1, 15);

  fx.t2 = await insertTicket({
    ...of,
    status_id: 2,
    priority_id: 3,
    ticket_category_id: fx.billingId,
    ticket_sub_category_id: billingSub,
    team_id: fx.teamId,
    assignee_id: fx.a2.user.id,
    origin: 'admin',
    opened_via: 'application',
    opened_at: at('2025-01-07T10:00:00Z'),
    open: false,
    closed_at: at('2025-01-07T12:00:00Z'),
    exchanges: 1,
    points: 0.5,
  });
  await insertReply(fx.t2, '2025-01-07T11:00:00Z', { origin: 'email', author_id: fx.a2.user.id, contact_id: contact.id });
  await insertSegment(fx.t2, 20);
  await insertSegment(fx.t2, -5, 'amend');

  fx.t3 = await insertTicket({ ...of, opened_at: at('2025-02-10T08:00:00Z'), open: false, closed_at: at('2025-02-10T10:00:00Z') });
  await insertReply(fx.t3, '2025-02-10T08:05:00Z', { origin: 'email', author_type: 'App\\Contact', author_id: contact.id, contact_id: contact.id });

  fx.t4 = await insertTicket({
    ...of,
    origin: 'admin',
    opened_via: 'invoicing',
    opened_at: at('2025-01-08T09:00:00Z'),
    open: false,
    closed_at: at('2025-01-08T09:00:00Z'),
    points: 3,
  });
  fx.t5 = await insertTicket({ ticketable_id: fx.other.id, opened_at: at('2025-01-09T09:00:00Z') });
});

describe('reopen_count', () => {
  it('counts each time the open and reopen routes open a closed ticket, nothing else', async () => {
    const put = (action: string) => api().put(`/api/v1/tickets/${action}/${fx.t2}`).set(staff.agent.auth).expect(201);
    const count = async () => (await db()('tickets').where({ id: fx.t2 }).first()).reopen_count;
    expect(await count()).toBe(0);
    setNow(at('2025-01-08T08:00:00Z'));
    await put('reopen');
    expect(await count()).toBe(1);
    await put('reopen'); // already open
    await put('open');
    expect(await count()).toBe(1);
    setNow(at('2025-01-08T10:00:00Z'));
    await put('close');
    await put('open');
    expect(await count()).toBe(2);
    // a pending closure is cancelled, but the ticket was open: no reopen
    await api().put(`/api/v1/tickets/${fx.t2}`).set(staff.agent.auth).send({ closure: true }).expect(201);
    await put('reopen');
    const row = await db()('tickets').where({ id: fx.t2 }).first();
    expect(row).toMatchObject({ reopen_count: 2, open: true, closed_at: null, closure: false });
  });

  it('counts a customer reply by mail reopening a closed ticket, once per reopen, within a batch too', async () => {
    const customer = await makeCustomer();
    const contact = await makeContact(customer);
    const box = await makeMailbox();
    const ticket = await makeTicket({ customer, contact });
    const reply = (text: string) => buildMail({ from: contact.email, to: box.email, subject: `Re: [#${ticket.number}] help`, text });
    const count = async () => (await db()('tickets').where({ id: ticket.id }).first()).reopen_count;

    expect((await ingestMessage({ mailbox: box, raw: await reply('still open') })).outcome).toBe('reply_added');
    expect(await count()).toBe(0);
    await api().put(`/api/v1/tickets/close/${ticket.id}`).set(staff.agent.auth).expect(201);
    expect((await ingestMessage({ mailbox: box, raw: await reply('back again') })).outcome).toBe('reply_added');
    expect(await count()).toBe(1);

    await api().put(`/api/v1/tickets/close/${ticket.id}`).set(staff.agent.auth).expect(201);
    const prepared = await Promise.all([await reply('one'), await reply('two')].map((raw, i) => prepareMessage(box, raw, 100 + i)));
    const results = await db().transaction((trx) => ingestBatch(trx, box, prepared));
    expect(results.map((r) => r.outcome)).toEqual(['reply_added', 'reply_added']);
    expect(await db()('tickets').where({ id: ticket.id }).first()).toMatchObject({ reopen_count: 2, open: true, closed_at: null });
  });
});

describe('GET /v1/tickets-insights/aggregations', () => {
  it('counts the tickets opened in the range by status, priority, category, team, assignee and origin', async () => {
    const res = await get('/aggregations', { from: '2025-01-01', to: '2025-12-31', customer_id: fx.customer.id }).expect(200);
    expect(res.body.range).toEqual({ from: '2025-01-01', to: '2025-12-31', timezone: 'Europe/Paris' });
    expect(res.body.filters).toEqual({ team_id: null, customer_id: fx.customer.id, assignee_id: null });
    const a1 = staff.agent.user;
    expect(res.body.aggregations).toEqual({
      total: 3,
      open: 1,
      closed: 2,
      by_status: [
        { id: 1, name: 'New', count: 1 },
        { id: 2, name: 'Waiting for customer', count: 1 },
        { id: null, name: null, count: 1 },
      ],
      by_priority: [
        { id: 2, name: 'Normal', count: 2 },
        { id: 3, name: 'High', count: 1 },
      ],
      by_category: [
        { id: 1, name: 'General', count: 2 },
        { id: fx.billingId, name: 'Billing', count: 1 },
      ],
      by_team: [
        { id: fx.teamId, name: 'Insights team', count: 2 },
        { id: null, name: null, count: 1 },
      ],
      by_assignee: [
        { id: a1.id, name: a1.name, count: 1 },
        { id: fx.a2.user.id, name: fx.a2.user.name, count: 1 },
        { id: null, name: null, count: 1 },
      ],
      by_origin: [
        { origin: 'email', count: 2 },
        { origin: 'admin', count: 1 },
      ],
    });
  });

  it('filters by team and assignee, and leaves out invoicing tickets; other customers count without a filter', async () => {
    const team = await get('/aggregations', { from: '2025-01-01', to: '2025-12-31', team_id: fx.teamId }).expect(200);
    expect(team.body.aggregations).toMatchObject({ total: 2, open: 1, closed: 1 });
    const mine = await get('/aggregations', { from: '2025-01-01', to: '2025-12-31', assignee_id: fx.a2.user.id }).expect(200);
    expect(mine.body.aggregations).toMatchObject({ total: 1, open: 1, closed: 0 });
    const all = await get('/aggregations', { from: '2025-01-01', to: '2025-01-31' }).expect(200);
    expect(all.body.aggregations.total).toBe(3); // T1, T2, T5 (not the invoicing T4)
  });

  it('gives zeros and empty lists for an empty range', async () => {
    const res = await get('/aggregations', { from: '2023-01-01', to: '2023-01-31', customer_id: fx.customer.id }).expect(200);
    expect(res.body.aggregations).toEqual({
      total: 0,
      open: 0,
      closed: 0,
      by_status: [],
      by_priority: [],
      by_category: [],
      by_team: [],
      by_assignee: [],
      by_origin: [],
    });
  });
});

const FIXTURE_AVERAGES = {
  total: 3,
  first_response_minutes: 45, // (30 + 60) / 2
  resolution_minutes: 180, // (240 + 120) / 2; T2 is open again
  exchanges_per_ticket: 1.33, // 4 / 3
  minutes_per_ticket: 20, // (45 + 15 + 0) / 3
  points_per_ticket: 0.67, // 2 / 3
  reopened_share: 0.3333, // T2
};

const EMPTY_AVERAGES = {
  total: 0,
  first_response_minutes: null,
  resolution_minutes: null,
  exchanges_per_ticket: null,
  minutes_per_ticket: null,
  points_per_ticket: null,
  reopened_share: null,
};

describe('GET /v1/tickets-insights/averages', () => {
  it('computes each average by hand', async () => {
    const res = await get('/averages', { from: '2025-01-01', to: '2025-12-31', customer_id: fx.customer.id }).expect(200);
    expect(res.body.averages).toEqual(FIXTURE_AVERAGES);
    const a2 = await get('/averages', { from: '2025-01-01', to: '2025-12-31', assignee_id: fx.a2.user.id }).expect(200);
    expect(a2.body.averages).toEqual({
      total: 1,
      first_response_minutes: 60,
      resolution_minutes: null,
      exchanges_per_ticket: 1,
      minutes_per_ticket: 15,
      points_per_ticket: 0.5,
      reopened_share: 1,
    });
  });

  it('counts a response dated before the opening (opened_at moved later) as 0 minutes', async () => {
    const customer = await makeCustomer();
    const early = await insertTicket({ ticketable_id: customer.id, opened_at: at('2025-03-01T10:00:00Z') });
    await insertReply(early, '2025-03-01T09:00:00Z', { author_id: staff.agent.user.id });
    const late = await insertTicket({ ticketable_id: customer.id, opened_at: at('2025-03-01T10:00:00Z') });
    await insertReply(late, '2025-03-01T10:09:00Z', { author_id: staff.agent.user.id });
    const res = await get('/averages', { from: '2025-03-01', to: '2025-03-01', customer_id: customer.id }).expect(200);
    expect(res.body.averages).toMatchObject({ total: 2, first_response_minutes: 4.5 });
  });

  it('gives nulls for an empty range', async () => {
    const res = await get('/averages', { from: '2023-01-01', to: '2023-01-31', customer_id: fx.customer.id }).expect(200);
    expect(res.body.averages).toEqual(EMPTY_AVERAGES);
  });
});

describe('GET /v1/tickets-insights/yearly-averages', () => {
  it('gives every calendar year of the range, empty ones too, clipped to the range', async () => {
    const res = await get('/yearly-averages', { from: '2024-06-01', to: '2025-12-31', customer_id: fx.customer.id }).expect(200);
    expect(res.body.yearly_averages).toEqual([
      { year: 2024, from: '2024-06-01', to: '2024-12-31', ...EMPTY_AVERAGES },
      { year: 2025, from: '2025-01-01', to: '2025-12-31', ...FIXTURE_AVERAGES },
    ]);
  });
});

describe('GET /v1/tickets-insights', () => {
  it('returns the aggregations, averages, yearly averages and a monthly history', async () => {
    const query = { from: '2025-01-01', to: '2025-02-28', customer_id: fx.customer.id };
    const res = await get('', query).expect(200);
    const parts = await Promise.all(['/aggregations', '/averages', '/yearly-averages'].map(async (p) => (await get(p, query).expect(200)).body));
    expect(res.body).toEqual({ ...parts[0], ...parts[1], ...parts[2], history: res.body.history });
    expect(res.body.averages).toEqual(FIXTURE_AVERAGES);
    expect(res.body.history).toEqual({
      interval: 'month',
      buckets: [
        { start: '2025-01-01', end: '2025-01-31', opened: 2, closed: 1 }, // T2's closing was undone by its reopen
        { start: '2025-02-01', end: '2025-02-28', opened: 1, closed: 1 },
      ],
    });
  });

  it('buckets by day and by week from Monday, every bucket present, the ends clipped to the range', async () => {
    const days = await get('', { from: '2025-01-05', to: '2025-01-08', customer_id: fx.customer.id, interval: 'day' }).expect(200);
    expect(days.body.history.buckets).toEqual([
      { start: '2025-01-05', end: '2025-01-05', opened: 0, closed: 0 },
      { start: '2025-01-06', end: '2025-01-06', opened: 1, closed: 1 },
      { start: '2025-01-07', end: '2025-01-07', opened: 1, closed: 0 },
      { start: '2025-01-08', end: '2025-01-08', opened: 0, closed: 0 }, // the invoicing ticket is not counted
    ]);
    const weeks = await get('', { from: '2025-01-01', to: '2025-01-19', customer_id: fx.customer.id, interval: 'week' }).expect(200);
    expect(weeks.body.history).toEqual({
      interval: 'week',
      buckets: [
        { start: '2025-01-01', end: '2025-01-05', opened: 0, closed: 0 },
        { start: '2025-01-06', end: '2025-01-12', opened: 2, closed: 1 },
        { start: '2025-01-13', end: '2025-01-19', opened: 0, closed: 0 },
      ],
    });
  });

  it('counts opened and closed tickets as the customer report does (the invoicing ticket in neither)', async () => {
    for (const [from, to] of [
      ['2025-01-01', '2025-02-28'],
      ['2025-01-06', '2025-01-08'],
    ]) {
      const res = await get('', { from, to, customer_id: fx.customer.id, interval: 'day' }).expect(200);
      const sum = (key: 'opened' | 'closed') => res.body.history.buckets.reduce((n: number, b: Record<string, number>) => n + b[key]!, 0);
      const report = await db().transaction((trx) => customerReportData(trx, fx.customer.id, reportPeriod(from, to, 'Europe/Paris'), '2026-01-01'));
      expect({ opened: report.opened, closed: report.closed }).toEqual({ opened: sum('opened'), closed: sum('closed') });
      // the invoicing ticket is listed, with its time, but counted neither opened nor closed
      expect(report.tickets.map((t) => t.id)).toContain(fx.t4);
    }
  });

  it('answers an empty range with zeros and nulls', async () => {
    const res = await get('', { from: '2023-02-01', to: '2023-02-03', customer_id: fx.customer.id, interval: 'day' }).expect(200);
    expect(res.body.aggregations.total).toBe(0);
    expect(res.body.averages).toEqual(EMPTY_AVERAGES);
    expect(res.body.yearly_averages).toEqual([{ year: 2023, from: '2023-02-01', to: '2023-02-03', ...EMPTY_AVERAGES }]);
    expect(res.body.history.buckets).toEqual(['2023-02-01', '2023-02-02', '2023-02-03'].map((d) => ({ start: d, end: d, opened: 0, closed: 0 })));
  });

  it('defaults to the last 12 months up to today in the time zone', async () => {
    setNow(at('2026-03-15T23:30:00Z')); // 2026-03-16 00:30 in Paris
    const res = await get('/averages').expect(200);
    expect(res.body.range).toEqual({ from: '2025-03-17', to: '2026-03-16', timezone: 'Europe/Paris' });
    const leap = await get('/averages', { to: '2024-02-29' }).expect(200);
    expect(leap.body.range).toMatchObject({ from: '2023-03-01', to: '2024-02-29' });
    const monthly = await get('', { customer_id: fx.customer.id }).expect(200);
    expect(monthly.body.history.buckets).toHaveLength(13);
    expect(monthly.body.history.buckets[0]).toEqual({ start: '2025-03-17', end: '2025-03-31', opened: 0, closed: 0 });
    expect(monthly.body.history.buckets[12]).toEqual({ start: '2026-03-01', end: '2026-03-16', opened: 0, closed: 0 });
  });

  it('refuses bad input with a 400 naming each field', async () => {
    const fields = async (path: string, query: Record<string, string | number>) => (await get(path, query).expect(400)).body.error.details.fields;
    expect(Object.keys(await fields('/averages', { team_id: 999999, customer_id: 999999, assignee_id: 999999 })).sort()).toEqual([
      'assignee_id',
      'customer_id',
      'team_id',
    ]);
    expect(Object.keys(await fields('/aggregations', { from: '2025-02-30', to: 'yesterday' })).sort()).toEqual(['from', 'to']);
    expect(Object.keys(await fields('/aggregations', { from: '2025-02-01', to: '2025-01-31' }))).toEqual(['from']);
    expect(Object.keys(await fields('/aggregations', { from: '0999-12-31', to: '9990-01-01' })).sort()).toEqual(['from', 'to']);
    expect(Object.keys(await fields('/yearly-averages', { from: '2015-01-01', to: '2025-01-01' }))).toEqual(['to']);
    expect(Object.keys(await fields('', { interval: 'year' }))).toEqual(['interval']);
    expect(Object.keys(await fields('', { team_id: 'abc' }))).toEqual(['team_id']);
    await get('/yearly-averages', { from: '2015-01-02', to: '2025-01-01', cache_buster: 1 }).expect(200);
    await api().get('/api/v1/tickets-insights').expect(401);
  });

  it('is described in the OpenAPI document with each figure, its unit and its computation', async () => {
    const doc = (await api().get('/api/openapi.json').expect(200)).body;
    const full = doc.paths['/api/v1/tickets-insights'].get;
    for (const name of ['total', 'by_assignee', 'first_response_minutes', 'reopened_share', 'opened', 'closed'])
      expect(full.description).toContain(`\`${name}\``);
    expect(full.description).toContain('| `minutes_per_ticket` | minutes |');
    expect(full.description).toContain('count(f.id) filter (where f.reopen_count > 0)');
    expect(full.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['assignee_id', 'customer_id', 'from', 'interval', 'team_id', 'to']);
    for (const part of ['aggregations', 'averages', 'yearly-averages']) expect(doc.paths[`/api/v1/tickets-insights/${part}`].get).toBeDefined();
  });
});

describe('days in the time zone, across DST changes (Europe/Paris)', () => {
  let customerId: number;
  beforeAll(async () => {
    customerId = (await makeCustomer()).id;
    const open = (iso: string, closed?: string) =>
      insertTicket({ ticketable_id: customerId, opened_at: at(iso), ...(closed ? { open: false, closed_at: at(closed) } : {}) });
    await open('2026-03-28T22:59:00Z'); // Sat 28 March 23:59 CET
    await open('2026-03-28T23:30:00Z'); // Sun 29 March 00:30 CET, the day clocks go forward
    await open('2026-03-29T21:30:00Z'); // Sun 29 March 23:30 CEST
    await open('2026-03-29T22:30:00Z'); // Mon 30 March 00:30 CEST
    await open('2026-10-24T22:30:00Z', '2026-10-25T23:30:00Z'); // Sun 25 October 00:30 CEST, the day clocks go back; closed Mon 26 00:30 CET
    await open('2026-10-25T22:30:00Z'); // Sun 25 October 23:30 CET
    await open('2026-10-25T23:00:00Z'); // Mon 26 October 00:00 CET
    await open('2025-12-31T23:30:00Z'); // Thu 1 January 2026 00:30 CET
  });

  it('puts a ticket at 00:30 local on the change day in that day, in spring and in autumn', async () => {
    const spring = await get('', { from: '2026-03-28', to: '2026-03-30', customer_id: customerId, interval: 'day' }).expect(200);
    expect(spring.body.history.buckets.map((b: { start: string; opened: number }) => [b.start, b.opened])).toEqual([
      ['2026-03-28', 1],
      ['2026-03-29', 2],
      ['2026-03-30', 1],
    ]);
    const autumn = await get('', { from: '2026-10-24', to: '2026-10-26', customer_id: customerId, interval: 'day' }).expect(200);
    expect(autumn.body.history.buckets).toEqual([
      { start: '2026-10-24', end: '2026-10-24', opened: 0, closed: 0 },
      { start: '2026-10-25', end: '2026-10-25', opened: 2, closed: 0 },
      { start: '2026-10-26', end: '2026-10-26', opened: 1, closed: 1 },
    ]);
  });

  it('bounds the range by local midnights', async () => {
    const day = await get('/aggregations', { from: '2026-03-29', to: '2026-03-29', customer_id: customerId }).expect(200);
    expect(day.body.aggregations.total).toBe(2);
    const autumn = await get('/averages', { from: '2026-10-25', to: '2026-10-25', customer_id: customerId }).expect(200);
    expect(autumn.body.averages).toMatchObject({ total: 2, resolution_minutes: 1500 }); // 25 hours that day
  });

  it('starts weeks on local Mondays and years on local 1 January', async () => {
    const weeks = await get('', { from: '2026-03-23', to: '2026-04-05', customer_id: customerId, interval: 'week' }).expect(200);
    expect(weeks.body.history.buckets).toEqual([
      { start: '2026-03-23', end: '2026-03-29', opened: 3, closed: 0 },
      { start: '2026-03-30', end: '2026-04-05', opened: 1, closed: 0 },
    ]);
    const years = await get('/yearly-averages', { from: '2025-06-01', to: '2026-12-31', customer_id: customerId }).expect(200);
    expect(years.body.yearly_averages.map((y: { year: number; total: number }) => [y.year, y.total])).toEqual([
      [2025, 0],
      [2026, 8],
    ]);
    const january = await get('', { from: '2026-01-01', to: '2026-01-31', customer_id: customerId }).expect(200);
    expect(january.body.history.buckets).toEqual([{ start: '2026-01-01', end: '2026-01-31', opened: 1, closed: 0 }]);
  });
});

describe('what is kept by triggers (rollups, stored facts, the search rows) equals a fresh computation', () => {
  const ALL = ['aggregations', 'averages', 'yearly_averages', 'history'] as const;
  const ranges: InsightsInput[] = [
    { from: '2025-01-01', to: '2025-12-31' },
    { from: '2025-01-06', to: '2025-01-07' },
    { from: '2026-03-23', to: '2026-10-31' },
    { from: '2024-06-01', to: '2026-12-31' },
    { from: '2030-01-01', to: '2030-01-31' },
  ];

  /** Every range and interval, from the rollups (or the stored facts) and from the definitions: the same answers. */
  async function expectSameAnswers(): Promise<void> {
    for (const range of ranges) {
      for (const interval of ['day', 'week', 'month'] as const) {
        const fresh = await ticketInsights({ ...range, interval }, ALL, undefined, 'definitions');
        expect({ range, interval, insights: await ticketInsights({ ...range, interval }, ALL, undefined, 'rollups') }).toEqual({
          range,
          interval,
          insights: fresh,
        });
        expect({ range, interval, insights: await ticketInsights({ ...range, interval }, ALL, undefined, 'tickets') }).toEqual({
          range,
          interval,
          insights: fresh,
        });
      }
    }
    const filtered = { from: '2025-01-01', to: '2026-12-31', customer_id: fx.customer.id, team_id: fx.teamId };
    expect(await ticketInsights(filtered, ALL, undefined, 'tickets')).toEqual(await ticketInsights(filtered, ALL, undefined, 'definitions'));
    for (const fact of TICKET_FACTS) {
      const differ = await db().raw(`select t.id from tickets t where (${fact.sql}) is distinct from (${fact.stored})`);
      expect({ fact: fact.name, differ: differ.rows }).toEqual({ fact: fact.name, differ: [] });
    }
    const actorId = staff.agent.user.id;
    expect(await countTickets({ actorId })).toEqual(await countTickets({ actorId, fromTickets: true }));
    const searchDiffers = await db().raw(
      'select t.id from tickets t full join ticket_search s on s.ticket_id = t.id where s.body is distinct from lower(t.body)',
    );
    expect(searchDiffers.rows).toEqual([]);
  }

  it('in the zone the job rebuilt them in, before and after the deltas are summed, through replies, segments, closings and deletions', async () => {
    expect(await runJob('ticket-rollups', new Date())).toEqual({ rebuilt_in: 'Europe/Paris' });
    expect(await rollupZone()).toBe('Europe/Paris');
    const unfiltered = await get('', { from: '2025-01-01', to: '2025-12-31' }).expect(200);
    const opened2025 = await db().raw(
      `select count(*)::int as n from tickets where opened_via <> 'invoicing' and extract(year from coalesce(opened_at, created_at) at time zone 'Europe/Paris') = 2025`,
    );
    expect(unfiltered.body.aggregations.total).toBe(opened2025.rows[0].n);
    await expectSameAnswers();

    // a response earlier than the first, then removed; a segment changed and one removed; a status and an assignee changed
    await insertReply(fx.t3, '2025-02-10T08:30:00Z', { author_id: staff.agent.user.id });
    await insertReply(fx.t1, '2025-01-06T09:15:00Z', { author_id: staff.agent.user.id });
    await expectSameAnswers();
    await db()('replies')
      .where({ ticket_id: fx.t1, created_at: at('2025-01-06T09:15:00Z') })
      .delete();
    await db()('replies').where({ ticket_id: fx.t3 }).update({ customer_visible: false });
    await db()('time_segments').where({ ticket_id: fx.t1 }).update({ minutes: 50 });
    await db()('time_segments').where({ ticket_id: fx.t2, kind: 'amend' }).delete();
    await db()('tickets').where({ id: fx.t2 }).update({ status_id: 3, assignee_id: null });
    await db()('tickets').where({ id: fx.t3 }).update({ body: '<p>The Ärger with the KERBEROS ticket</p>' });
    await expectSameAnswers();
    const found = await api().get('/api/v1/tickets/search').query({ 'filter[body]': 'ärger with the kerb' }).set(staff.agent.auth).expect(200);
    expect(found.body.map((t: { id: number }) => t.id)).toEqual([fx.t3]);
    await api().put(`/api/v1/tickets/close/${fx.t5}`).set(staff.agent.auth).expect(201);
    await api().put(`/api/v1/tickets/reopen/${fx.t1}`).set(staff.agent.auth).expect(201);
    expect(Number((await db()('ticket_rollup_deltas').count({ n: '*' }))[0]!.n)).toBeGreaterThan(0);
    await expectSameAnswers();
    const summed = await runJob('ticket-rollups', new Date());
    expect(summed.rollups_updated).toBeGreaterThan(0);
    expect(Number((await db()('ticket_rollup_deltas').count({ n: '*' }))[0]!.n)).toBe(0);
    await expectSameAnswers();
    const extra = await insertTicket({ ticketable_id: fx.other.id, opened_at: at('2025-03-01T09:00:00Z'), assignee_id: staff.agent.user.id });
    await expectSameAnswers();
    await db()('tickets').where({ id: extra }).delete();
    await expectSameAnswers();
    expect(await runJob('ticket-rollups', new Date())).toEqual({ rollups_updated: expect.any(Number) });
    await expectSameAnswers();
  });

  it('are not read while they are in another zone than the config: the tickets answer until the job rebuilds them', async () => {
    await updateSettings({ timezone: 'America/New_York' });
    try {
      expect(await rollupZone()).toBe('Europe/Paris');
      const { from, to } = ranges[0]!;
      const answered = await ticketInsights({ from, to }, ALL);
      expect(answered).toEqual(await ticketInsights({ from, to }, ALL, undefined, 'definitions'));
      expect(await runJob('ticket-rollups', new Date())).toEqual({ rebuilt_in: 'America/New_York' });
      await expectSameAnswers();
    } finally {
      await updateSettings({ timezone: 'Europe/Paris' });
      await runJob('ticket-rollups', new Date());
    }
  });
});
