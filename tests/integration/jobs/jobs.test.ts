/**
 * The scheduled jobs, run the way `helpdesk jobs run NAME --now ...` runs them, with the
 * clock moving forward through days: the auto-closure cycle and its restart, closure
 * requests, the points alert and renewal, the daily summary, the team report. Their
 * effects are read back through the API; their mail is delivered by the mailer to the
 * SMTP sink.
 */
import { setNow } from '../../../src/clock';
import { loadConfig, setConfig } from '../../../src/config';
import { db } from '../../../src/db/knex';
import { PgRunCoordinator, pruneJobRuns } from '../../../src/jobs/coordinator';
import { ingestMessage } from '../../../src/mail/inbound/ingest';
import type { Mailbox } from '../../../src/models/Mailbox';
import { updateSettings } from '../../../src/services/config/settings';
import { runCli, childEnv } from '../../helpers/cli';
import { api, makeContact, makeCustomer, useStaff } from '../../helpers/factories';
import { buildMail, makeMailbox } from '../../helpers/mail';
import { SmtpSink, parse } from '../../helpers/smtpSink';
import { drainOutbox, runJob } from '../../helpers/jobs';
import { useTestDatabase } from '../../helpers/useTestDatabase';

const database = useTestDatabase();
const staff = useStaff();
jest.setTimeout(60_000);

const DAY = 86_400_000;
const T0 = new Date('2026-03-02T09:00:00Z');
const at = (days: number, hours = 0) => new Date(T0.getTime() + days * DAY + hours * 3_600_000);

let sink: SmtpSink;
let mailbox: Mailbox;

beforeAll(async () => {
  sink = await SmtpSink.start();
  setConfig(loadConfig({ ...process.env, SMTP_URL: sink.url }));
  mailbox = await makeMailbox();
  await updateSettings({ auto_closure_enabled: true, auto_closure_delay_days: 3, auto_closure_reminders: 2, closure_delay_hours: 48 });
});
afterEach(() => setNow(undefined));
afterAll(async () => {
  await sink.stop();
  setConfig(loadConfig());
});

/** A ticket opened by a contact's mail at `when`. */
async function customerTicket(when: Date) {
  const customer = await makeCustomer();
  const contact = await makeContact(customer, { name: 'Pat' });
  setNow(when);
  const r = await ingestMessage({ mailbox, raw: await buildMail({ from: contact.email, to: mailbox.email, subject: 'Help', text: 'It broke.' }) });
  setNow(undefined);
  return { id: r.ticketId!, contact };
}

async function agentAnswers(ticketId: number, when: Date): Promise<void> {
  setNow(when);
  await api()
    .post(`/api/v1/replies?ticket_id=${ticketId}`)
    .set(staff.agent.auth)
    .send({ body: '<p>Please try again.</p>', close: false, send_to_assignee: false, send_to_contacts: true })
    .expect(201);
  setNow(undefined);
}

async function customerAnswers(ticketId: number, email: string, when: Date): Promise<void> {
  const number = (await db()('tickets').where({ id: ticketId }).first()).number;
  setNow(when);
  const r = await ingestMessage({ mailbox, raw: await buildMail({ from: email, to: mailbox.email, subject: `Re: [#${number}] Help`, text: 'Still broken.' }) });
  setNow(undefined);
  expect(r).toMatchObject({ outcome: 'reply_added', ticketId });
}

/** An out-of-office answer from the contact, stored on the ticket as an auto-reply. */
async function outOfOffice(ticketId: number, email: string, when: Date): Promise<void> {
  const number = (await db()('tickets').where({ id: ticketId }).first()).number;
  setNow(when);
  const r = await ingestMessage({
    mailbox,
    raw: await buildMail({
      from: email,
      to: mailbox.email,
      subject: `Out of office: Re: [#${number}] Help`,
      text: 'I am away until next month.',
      headers: { 'Auto-Submitted': 'auto-replied' },
    }),
  });
  setNow(undefined);
  expect(r).toMatchObject({ outcome: 'auto_reply', ticketId });
  expect(r.replyId).toBeTruthy();
  expect((await db()('replies').where({ id: r.replyId }).first()).flags).toContain('auto_reply');
}

const show = async (id: number) => (await api().get(`/api/v1/tickets/${id}`).set(staff.agent.auth).expect(200)).body;
const reminders = (id: number) => db()('outbound_emails').where({ ticket_id: id, template: 'auto_closure_reminder' }).orderBy('id');

describe('auto-closure', () => {
  it('reminds at the right times, closes after the last reminder, and sends the closing notice', async () => {
    const { id, contact } = await customerTicket(at(0));
    await agentAnswers(id, at(0, 1));
    expect(await runJob('auto-closure', at(3))).toMatchObject({ reminded: 0 });
    expect(await runJob('auto-closure', at(3, 1))).toMatchObject({ reminded: 1, closed: 0 });
    expect(await runJob('auto-closure', at(3, 1))).toMatchObject({ reminded: 0, closed: 0 }); // idempotent
    let ticket = await show(id);
    expect(ticket.auto_closure_alerts).toEqual(['2026-03-05 10:00:00']);
    const reminder = ticket.replies.find((r: { auto_closure_message: boolean }) => r.auto_closure_message);
    expect(reminder).toMatchObject({ customer_visible: true });
    expect(reminder.body).toContain('2026-03-11');
    const [first] = await reminders(id);
    expect(first).toMatchObject({ automatic: true, to_addresses: [{ name: 'Pat', address: contact.email }] });
    await drainOutbox();
    const mail = await parse(sink.to(contact.email).find((m) => m.raw.includes('waiting for your answer'))!);
    expect(mail.subject).toBe(`[#${ticket.number}] Help`);
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');

    expect(await runJob('auto-closure', at(6))).toMatchObject({ reminded: 0 });
    expect(await runJob('auto-closure', at(6, 2))).toMatchObject({ reminded: 1 });
    expect(await runJob('auto-closure', at(9, 1))).toMatchObject({ closed: 0 });
    expect(await runJob('auto-closure', at(9, 2))).toMatchObject({ reminded: 0, closed: 1 });
    expect(await runJob('auto-closure', at(9, 2))).toMatchObject({ reminded: 0, closed: 0 });
    ticket = await show(id);
    expect(ticket).toMatchObject({ open: false, closed_at: '2026-03-11 11:00:00' });
    expect(ticket.auto_closure_alerts).toHaveLength(2);
    expect(await db()('outbound_emails').where({ ticket_id: id, template: 'ticket_closed' })).toHaveLength(1);
    expect(await runJob('auto-closure', at(30))).toMatchObject({ reminded: 0, closed: 0 });
  });

  it('a customer reply in the middle restarts the count; waiting on the agent is never reminded', async () => {
    const { id, contact } = await customerTicket(at(0));
    await agentAnswers(id, at(0));
    expect(await runJob('auto-closure', at(3))).toMatchObject({ reminded: 1 });
    await customerAnswers(id, contact.email, at(4));
    for (const day of [6, 9, 20, 40]) expect(await runJob('auto-closure', at(day))).toMatchObject({ reminded: 0, closed: 0 });
    await agentAnswers(id, at(41));
    expect(await runJob('auto-closure', at(43))).toMatchObject({ reminded: 0 });
    expect(await runJob('auto-closure', at(44))).toMatchObject({ reminded: 1 });
    const last = (await reminders(id)).pop();
    expect(last.data).toMatchObject({ reminder: 1, reminders: 2 });
    expect(await runJob('auto-closure', at(47))).toMatchObject({ reminded: 1 });
    expect(await runJob('auto-closure', at(50))).toMatchObject({ closed: 1 });
    expect((await show(id)).open).toBe(false);
  });

  it('an out-of-office reply neither blocks the reminders nor restarts their count', async () => {
    const { id, contact } = await customerTicket(at(0));
    await agentAnswers(id, at(0, 1));
    await outOfOffice(id, contact.email, at(0, 2));
    expect(await runJob('auto-closure', at(3))).toMatchObject({ reminded: 0 });
    expect(await runJob('auto-closure', at(3, 1))).toMatchObject({ reminded: 1, closed: 0 });
    await outOfOffice(id, contact.email, at(3, 2)); // answering the reminder
    expect(await runJob('auto-closure', at(6))).toMatchObject({ reminded: 0 });
    expect(await runJob('auto-closure', at(6, 2))).toMatchObject({ reminded: 1 });
    await outOfOffice(id, contact.email, at(6, 3));
    expect(await runJob('auto-closure', at(9, 2))).toMatchObject({ reminded: 0, closed: 1 });
    expect(await show(id)).toMatchObject({ open: false, closed_at: '2026-03-11 11:00:00' });
    expect(await reminders(id)).toHaveLength(2);
  });

  it('does nothing when switched off', async () => {
    const { id } = await customerTicket(at(0));
    await agentAnswers(id, at(0));
    await updateSettings({ auto_closure_enabled: false });
    try {
      expect(await runJob('auto-closure', at(100))).toMatchObject({ reminded: 0, closed: 0 });
    } finally {
      await updateSettings({ auto_closure_enabled: true });
    }
    expect((await reminders(id)).length).toBe(0);
  });
});

describe('closure-requests', () => {
  it('closes closure_delay_hours after the request, with a notice', async () => {
    const { id } = await customerTicket(at(0));
    setNow(at(1));
    await api().put(`/api/v1/tickets/${id}`).set(staff.agent.auth).send({ closure: true }).expect(201);
    setNow(undefined);
    expect(await show(id)).toMatchObject({ closure: true, closure_requested_at: '2026-03-03 09:00:00', open: true });
    expect(await runJob('closure-requests', at(2, 23))).toMatchObject({ closed: 0 });
    expect(await runJob('closure-requests', at(3))).toMatchObject({ closed: 1 });
    expect(await runJob('closure-requests', at(3))).toMatchObject({ closed: 0 });
    expect(await show(id)).toMatchObject({ open: false, closure: false, closed_at: '2026-03-05 09:00:00' });
    expect(await db()('outbound_emails').where({ ticket_id: id, template: 'ticket_closed' })).toHaveLength(1);
  });

  it('a customer reply, reopen or open cancel it', async () => {
    const byReply = await customerTicket(at(0));
    const byReopen = await customerTicket(at(0));
    for (const t of [byReply, byReopen]) await api().put(`/api/v1/tickets/${t.id}`).set(staff.agent.auth).send({ closure: true }).expect(201);
    await customerAnswers(byReply.id, byReply.contact.email, at(0, 1));
    await api().put(`/api/v1/tickets/reopen/${byReopen.id}`).set(staff.agent.auth).expect(201);
    expect(await runJob('closure-requests', at(30))).toMatchObject({ closed: 0 });
    for (const t of [byReply, byReopen]) expect(await show(t.id)).toMatchObject({ open: true, closure: false });
  });
});

describe('contract-points', () => {
  async function contract(fields: Record<string, unknown>) {
    const customer = await makeCustomer({ name: `Points ${Math.random().toString(36).slice(2, 7)}` });
    const res = await api()
      .post('/api/v1/ticketing/support_contracts')
      .set(staff.admin.auth)
      .send({ support_contracteable_id: customer.id, points_alert: 5, started_at: '2026-03-01 00:00:00', ...fields })
      .expect(201);
    return { id: res.body.id as number, customer };
  }
  async function spend(customerId: number, minutes: number, when: Date) {
    setNow(when);
    const t = await api()
      .post(`/api/v1/tickets?ticketable_type=App%5CCustomer&ticketable_id=${customerId}`)
      .set(staff.agent.auth)
      .send({ subject: 'Work', body: 'work', priority_id: 2, ticket_category_id: 1, ticket_sub_category_id: 1 })
      .expect(201);
    await api().put(`/api/v1/tickets/amend/${t.body.id}`).set(staff.agent.auth).send({ time: minutes }).expect(201);
    setNow(undefined);
  }
  const shown = async (id: number) => (await api().get(`/api/v1/ticketing/support_contracts/${id}`).set(staff.agent.auth).expect(200)).body;
  const alerts = (id: number) => db()('outbound_emails').where({ template: 'points_alert' }).whereRaw(`(data->>'contract_id')::int = ?`, [id]);

  beforeAll(async () => {
    await updateSettings({ points_per_hour: 1, points_alert_emails: ['sales@helpdesk.test', 'boss@helpdesk.test'] });
  });

  it('alerts once when points drop below the threshold, again only after a renewal', async () => {
    const { id, customer } = await contract({ type: 2, points_init: 10, points_auto_renew: 10, expires_at: '2026-04-01 00:00:00' });
    await spend(customer.id, 4 * 60, at(1));
    expect((await runJob('contract-points', at(1, 1))).alerts_sent).toBe(0);
    await spend(customer.id, 2 * 60, at(2));
    expect(await shown(id)).toMatchObject({ points_current: 4 });
    expect(await runJob('contract-points', at(2, 1))).toMatchObject({ alerts_sent: 1 });
    expect(await runJob('contract-points', at(2, 2))).toMatchObject({ alerts_sent: 0 });
    expect((await alerts(id)).map((a) => a.to_addresses[0].address).sort()).toEqual(['boss@helpdesk.test', 'sales@helpdesk.test']);
    expect((await shown(id)).last_notified_at).toBe('2026-03-04 10:00:00');
    await drainOutbox();
    const mail = await parse(sink.to('boss@helpdesk.test').find((m) => m.raw.includes(customer.name))!);
    expect(mail.subject).toBe(`Support points running low: ${customer.name}`);
    expect(mail.text).toContain('Points left: 4 of 10');

    // the monthly period ends: renewed with 10 more points, no alert while above the threshold
    const renewed = await runJob('contract-points', new Date('2026-04-01T00:30:00Z'));
    expect(renewed).toMatchObject({ renewed: 1, alerts_sent: 0, expired: 0 });
    expect(await shown(id)).toMatchObject({
      points_total: 20,
      points_current: 14,
      points_auto_added: 10,
      expires_at: '2026-05-01 00:00:00',
      renewed_at: '2026-04-01 00:30:00',
    });
    expect(await runJob('contract-points', new Date('2026-04-01T00:30:00Z'))).toMatchObject({ renewed: 0 });
    await spend(customer.id, 10 * 60, new Date('2026-04-02T00:00:00Z'));
    expect(await runJob('contract-points', new Date('2026-04-02T01:00:00Z'))).toMatchObject({ alerts_sent: 1 });
    expect(await alerts(id)).toHaveLength(4);
  });

  it('a contract without renewal expires; a prepaid block with auto-renew is topped up when it runs out', async () => {
    const ending = await contract({ type: 1, points_init: 10, points_alert: 0, expires_at: '2026-03-10 00:00:00' });
    const block = await contract({ type: 1, points_init: 2, points_alert: 0, points_auto_renew: 5 });
    await spend(block.customer.id, 3 * 60, at(1));
    const r = await runJob('contract-points', at(9));
    expect(r.expired).toBeGreaterThanOrEqual(1);
    expect((await shown(ending.id)).expired_at).toBe('2026-03-11 09:00:00');
    expect(await shown(block.id)).toMatchObject({ points_total: 7, points_current: 4, points_auto_added: 5 });
    const again = await runJob('contract-points', at(9));
    expect(again).toMatchObject({ renewed: 0, expired: 0 });
  });
});

describe('daily-points-summary', () => {
  it('one row per contract per day however often it runs', async () => {
    const customer = await makeCustomer();
    const res = await api()
      .post('/api/v1/ticketing/support_contracts')
      .set(staff.admin.auth)
      .send({ support_contracteable_id: customer.id, type: 1, points_init: 8 })
      .expect(201);
    const rows = () => db()('daily_points_summaries').where({ support_contract_id: res.body.id });
    await runJob('daily-points-summary', new Date('2026-06-01T10:00:00Z'));
    const second = await runJob('daily-points-summary', new Date('2026-06-01T23:00:00Z'));
    expect(second).toMatchObject({ day: '2026-06-01', rows_added: 0, rows_updated: 0 });
    expect(await rows()).toHaveLength(1);
    await runJob('daily-points-summary', new Date('2026-06-02T10:00:00Z'));
    expect((await rows()).map((r) => r.day).sort()).toEqual(['2026-06-01', '2026-06-02']);
    expect((await rows())[0]).toMatchObject({ points_total: 8, points_current: 8, points_consumed: 0 });
  });
});

describe('team-report', () => {
  it("mails yesterday's summary once to each report address", async () => {
    await updateSettings({ team_report_emails: ['team@helpdesk.test'] });
    await customerTicket(new Date('2026-07-14T12:00:00Z'));
    await customerTicket(new Date('2026-07-14T15:00:00Z'));
    expect(await runJob('team-report', new Date('2026-07-15T07:00:00Z'))).toMatchObject({ day: '2026-07-14', reports_sent: 1 });
    expect(await runJob('team-report', new Date('2026-07-15T09:00:00Z'))).toMatchObject({ reports_sent: 0 });
    await drainOutbox();
    const mail = await parse(sink.to('team@helpdesk.test').find((m) => m.raw.includes('2026-07-14'))!);
    expect(mail.subject).toBe('Helpdesk report for 2026-07-14');
    expect(mail.text).toMatch(/Tickets opened:\s+2\n/);
    expect(mail.text).toContain('Oldest open tickets');
  });
});

describe('the run coordinator', () => {
  it('the first claim of a slot wins, another instance is refused; the run is recorded; old claims are pruned', async () => {
    const key = `contract-points:${new Date('2026-02-01T10:00:00Z').toISOString()}`;
    const first = new PgRunCoordinator();
    expect(await first.shouldRun(key)).toBe(true);
    expect(await new PgRunCoordinator().shouldRun(key)).toBe(false);
    first.report(key, { summary: { renewed: 2 } });
    await first.onComplete(key);
    const row = await db()('job_runs')
      .where({ job: 'contract-points', slot: new Date('2026-02-01T10:00:00Z') })
      .first();
    expect(row).toMatchObject({ summary: { renewed: 2 }, error: null });
    expect(row.finished_at).not.toBeNull();
    setNow(new Date(Date.now() + 15 * DAY));
    try {
      expect(await pruneJobRuns(14)).toBeGreaterThanOrEqual(1);
    } finally {
      setNow(undefined);
    }
    expect(await db()('job_runs').where({ id: row.id })).toHaveLength(0);
  });
});

describe('the CLI', () => {
  it('jobs list names every job; jobs run prints what it did, with the clock at --now', async () => {
    const env = childEnv({ DATABASE_URL: database.url(), HELPDESK_SECRET: process.env.HELPDESK_SECRET, LOG_LEVEL: 'warn' });
    const listed = await runCli(['jobs', 'list'], env);
    expect(listed.code).toBe(0);
    for (const name of ['auto-closure', 'closure-requests', 'contract-points', 'daily-points-summary', 'team-report']) expect(listed.stdout).toContain(name);

    const { id } = await customerTicket(at(200));
    await agentAnswers(id, at(200));
    const ran = await runCli(['jobs', 'run', 'auto-closure', '--now', at(203, 1).toISOString()], env);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/^auto-closure at 2026-09-21T10:00:00.000Z: \d+ reminded, \d+ closed \(.* s, peak RSS \d+ MB, \+\d+ MB during the job\)\n$/);
    expect((await show(id)).auto_closure_alerts).toEqual(['2026-09-21 10:00:00']);

    expect((await runCli(['jobs', 'run', 'nope'], env)).code).toBe(64);
    const badNow = await runCli(['jobs', 'run', 'auto-closure', '--now', 'yesterday'], env);
    expect(badNow.code).toBe(64);
    expect(badNow.stderr).toContain('--now must be an ISO-8601 time');
  });
});
