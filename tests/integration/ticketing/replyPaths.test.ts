/**
 * Every path that writes a reply (issue 14, "one writer per rule"): its stored row is
 * exactly the row src/services/replies/replyRow.ts returns for the same input (plus the
 * id), and each row of the README's table of reply paths holds against the database:
 * author, customer_visible, seen_at, origin, exchanges, status, notifications, closing and
 * reopening. The clock is fixed, so timestamps compare too.
 */
import { setNow } from '../../../src/clock';
import { db } from '../../../src/db/knex';
import { runAutoClosure } from '../../../src/jobs/autoClosure';
import { logger } from '../../../src/logger';
import { ingestMessage } from '../../../src/mail/inbound/ingest';
import { replyAddress, signReplyToken } from '../../../src/mail/replyToken';
import type { Mailbox } from '../../../src/models/Mailbox';
import { updateSettings } from '../../../src/services/config/settings';
import { queueEmail } from '../../../src/services/outbox/queueEmail';
import { type ReplyRowInput, replyRow } from '../../../src/services/replies/replyRow';
import { api, makeContact, makeCustomer, makeTicket, useStaff } from '../../helpers/factories';
import { buildMail, makeMailbox } from '../../helpers/mail';
import { useTestDatabase } from '../../helpers/useTestDatabase';

useTestDatabase();
const staff = useStaff();
jest.setTimeout(60_000);

const T = new Date('2026-04-01T10:00:00Z');
const DAY = 86_400_000;
const later = (days: number, hours = 0) => new Date(T.getTime() + days * DAY + hours * 3_600_000);

let mailbox: Mailbox;
let teamId: number;
const status: Record<'on_admin_reply' | 'on_customer_reply', number> = { on_admin_reply: 0, on_customer_reply: 0 };

beforeAll(async () => {
  const [team] = await db()('support_teams')
    .insert({ name: `Replies ${process.pid}` })
    .returning('id');
  teamId = team.id;
  await db()('support_team_members').insert([staff.agent, staff.admin].map((a) => ({ support_team_id: teamId, user_id: a.user.id })));
  mailbox = await makeMailbox({ team_id: teamId });
  for (const auto of ['on_admin_reply', 'on_customer_reply'] as const) status[auto] = (await db()('ticket_statuses').where({ auto_for: auto }).first()).id;
});
beforeEach(() => setNow(T));
afterEach(() => setNow(undefined));

/**
 * A ticket of the team, opened by the agent (its assignee), with two contacts (the primary
 * one first) and our earlier mail to the primary contact, for threading.
 */
async function scene(ticketState: { open?: boolean; closed_at?: Date | null; closure?: boolean } = {}) {
  const customer = await makeCustomer();
  const contact = await makeContact(customer, { name: 'Pat' });
  const colleague = await makeContact(customer);
  const ticket = await makeTicket({ agent: staff.agent, customer, contact, team_id: teamId });
  await db()('ticket_contacts').insert({ ticket_id: ticket.id, contact_id: colleague.id });
  const out = await queueEmail({ template: 'agent_reply', to: [{ address: contact.email }], ticketId: ticket.id, automatic: false });
  if (Object.keys(ticketState).length) {
    await db()('tickets')
      .where({ id: ticket.id })
      .update({ ...ticketState, closure_requested_at: ticketState.closure ? later(-1) : null });
  }
  const before = await db()('tickets').where({ id: ticket.id }).first();
  return { customer, contact, colleague, ticket: before, out, mailAfter: await lastMailId() };
}

async function lastMailId(): Promise<number> {
  return (await db()('outbound_emails').max('id as id').first())?.id ?? 0;
}

/** The mail queued about the ticket after `afterId`: template, To, Cc, the agent it goes to. */
async function mailSince(ticketId: number, afterId: number) {
  const rows = await db()('outbound_emails').where({ ticket_id: ticketId }).where('id', '>', afterId).orderBy('id');
  return rows.map((r) => ({
    template: r.template,
    to: r.to_addresses.map((a: { address: string }) => a.address),
    cc: r.cc_addresses.map((a: { address: string }) => a.address),
    user: r.recipient_user_id,
  }));
}

const ticketNow = async (id: number) => db()('tickets').where({ id }).first();

/** The stored row is the one function's row for this input, id aside; returns it. */
async function expectRowOf(replyId: number | null | undefined, input: Omit<ReplyRowInput, 'body'> & { body?: string }) {
  const stored = await db()('replies').where({ id: replyId }).first();
  expect(stored).toBeDefined();
  expect(stored).toEqual({ id: replyId, ...replyRow({ ...input, body: input.body ?? stored.body }).row });
  return stored;
}

const teamMail = (template: string) =>
  [staff.agent, staff.admin].map((a) => ({ template, to: [a.user.email], cc: [], user: a.user.id })).sort((a, b) => a.user - b.user);

describe('API agent reply sent to contacts', () => {
  it('the agent, visible, unseen, origin admin, to the primary contact; an exchange, on_admin_reply, agent_reply to the contacts; closes only with close: true, never reopens', async () => {
    const s = await scene();
    const send = (body: string, close: boolean) =>
      api()
        .post(`/api/v1/replies?ticket_id=${s.ticket.id}`)
        .set(staff.agent.auth)
        .send({ body, close, send_to_assignee: false, send_to_contacts: true })
        .expect(201);
    const res = await send('<p>Fixed.</p>', true);
    const stored = await expectRowOf(res.body.id, {
      author: { kind: 'agent', userId: staff.agent.user.id, via: 'api' },
      ticketId: s.ticket.id,
      body: '<p>Fixed.</p>',
      toContacts: true,
      contactIds: [s.contact.id, s.colleague.id],
    });
    expect(stored).toMatchObject({
      author_type: 'App\\User',
      author_id: staff.agent.user.id,
      customer_visible: true,
      seen_at: null,
      origin: 'admin',
      contact_id: s.contact.id,
    });
    expect(await ticketNow(s.ticket.id)).toMatchObject({ exchanges: s.ticket.exchanges + 1, status_id: status.on_admin_reply, open: false });
    expect(await mailSince(s.ticket.id, s.mailAfter)).toEqual([{ template: 'agent_reply', to: [s.contact.email], cc: [s.colleague.email], user: null }]);

    // on the closed ticket: still an exchange, and the ticket stays closed
    await send('<p>One more thing.</p>', false);
    expect(await ticketNow(s.ticket.id)).toMatchObject({ exchanges: s.ticket.exchanges + 2, open: false });
  });
});

describe('API internal note', () => {
  it('the agent, hidden, unseen, origin admin, no recipient; no exchange, no status change; only the team hears (notify_team), the author excepted', async () => {
    const s = await scene();
    const res = await api()
      .post(`/api/v1/replies?ticket_id=${s.ticket.id}`)
      .set(staff.agent.auth)
      .send({ body: '<p>Called them.</p>', close: false, send_to_assignee: true, send_to_contacts: false, notify_team: true })
      .expect(201);
    const stored = await expectRowOf(res.body.id, {
      author: { kind: 'agent', userId: staff.agent.user.id, via: 'api' },
      ticketId: s.ticket.id,
      body: '<p>Called them.</p>',
      toContacts: false,
    });
    expect(stored).toMatchObject({ author_id: staff.agent.user.id, customer_visible: false, seen_at: null, origin: 'admin', contact_id: null });
    expect(await ticketNow(s.ticket.id)).toMatchObject({ exchanges: s.ticket.exchanges, status_id: s.ticket.status_id, open: true });
    // the assignee is the author: only the other team member is told
    expect(await mailSince(s.ticket.id, s.mailAfter)).toEqual([{ template: 'reply_to_team', to: [staff.admin.user.email], cc: [], user: staff.admin.user.id }]);
  });
});

describe('customer mail reply', () => {
  it('the contact, visible, unseen, origin email; an exchange, on_customer_reply, the team told; cancels a pending closure and reopens a closed ticket', async () => {
    const s = await scene({ closure: true });
    const r = await ingestMessage({ mailbox, raw: await buildMail({ from: s.contact.email, inReplyTo: s.out.message_id, text: 'Still broken.' }) });
    expect(r).toMatchObject({ outcome: 'reply_added', ticketId: s.ticket.id });
    const stored = await expectRowOf(r.replyId, {
      author: { kind: 'contact', contactId: s.contact.id, ofTicketCustomer: true },
      ticketId: s.ticket.id,
      body: '<p>Still broken.</p>',
      flags: [],
      inboundEmailId: r.inboundEmailId,
    });
    expect(stored).toMatchObject({
      author_type: 'App\\Contact',
      author_id: s.contact.id,
      customer_visible: true,
      seen_at: null,
      origin: 'email',
      contact_id: s.contact.id,
    });
    expect(await ticketNow(s.ticket.id)).toMatchObject({
      exchanges: s.ticket.exchanges + 1,
      status_id: status.on_customer_reply,
      closure: false,
      closure_requested_at: null,
      open: true,
    });
    expect(await mailSince(s.ticket.id, s.mailAfter)).toEqual(teamMail('customer_reply_to_team'));

    await db()('tickets')
      .where({ id: s.ticket.id })
      .update({ open: false, closed_at: later(-1) });
    const again = await ingestMessage({ mailbox, raw: await buildMail({ from: s.contact.email, inReplyTo: s.out.message_id, text: 'Back again.' }) });
    expect(again).toMatchObject({ outcome: 'reply_added', ticketId: s.ticket.id });
    expect(await ticketNow(s.ticket.id)).toMatchObject({ exchanges: s.ticket.exchanges + 2, open: true, closed_at: null });
  });

  it("machine-generated mail from the ticket's contact is such a reply too, flagged machine_generated", async () => {
    const s = await scene();
    const r = await ingestMessage({
      mailbox,
      raw: await buildMail({ from: s.contact.email, inReplyTo: s.out.message_id, text: 'Alert resolved.', headers: { 'Auto-Submitted': 'auto-generated' } }),
    });
    expect(r).toMatchObject({ outcome: 'reply_added', ticketId: s.ticket.id });
    const stored = await expectRowOf(r.replyId, {
      author: { kind: 'contact', contactId: s.contact.id, ofTicketCustomer: true },
      ticketId: s.ticket.id,
      flags: ['machine_generated'],
      inboundEmailId: r.inboundEmailId,
    });
    expect(stored).toMatchObject({ customer_visible: true, flags: ['machine_generated'] });
    expect(await ticketNow(s.ticket.id)).toMatchObject({ exchanges: s.ticket.exchanges + 1, status_id: status.on_customer_reply });
    expect(await mailSince(s.ticket.id, s.mailAfter)).toEqual(teamMail('customer_reply_to_team'));
  });
});

describe('agent mail reply (token-proven)', () => {
  it('the agent, visible, unseen, origin email, to the primary contact; an exchange, on_admin_reply, agent_reply to the contacts; a pending closure stays', async () => {
    const s = await scene({ closure: true });
    const token = signReplyToken({ ticketNumber: s.ticket.number, recipient: { kind: 'user', id: staff.agent.user.id } });
    const r = await ingestMessage({
      mailbox,
      raw: await buildMail({ from: staff.agent.user.email, to: replyAddress(mailbox.email, token), text: 'We fixed it.' }),
    });
    expect(r).toMatchObject({ outcome: 'reply_added', ticketId: s.ticket.id });
    const stored = await expectRowOf(r.replyId, {
      author: { kind: 'agent', userId: staff.agent.user.id, via: 'email' },
      ticketId: s.ticket.id,
      body: '<p>We fixed it.</p>',
      toContacts: true,
      contactIds: [s.contact.id, s.colleague.id],
      flags: [],
      inboundEmailId: r.inboundEmailId,
    });
    expect(stored).toMatchObject({
      author_type: 'App\\User',
      author_id: staff.agent.user.id,
      customer_visible: true,
      seen_at: null,
      origin: 'email',
      contact_id: s.contact.id,
    });
    expect(await ticketNow(s.ticket.id)).toMatchObject({ exchanges: s.ticket.exchanges + 1, status_id: status.on_admin_reply, open: true, closure: true });
    expect(await mailSince(s.ticket.id, s.mailAfter)).toEqual([{ template: 'agent_reply', to: [s.contact.email], cc: [s.colleague.email], user: null }]);
  });

  it("the agent's auto-reply (token-proven) is kept as the agent's note: hidden, no exchange, no status change, sent to nobody", async () => {
    const s = await scene();
    const token = signReplyToken({ ticketNumber: s.ticket.number, recipient: { kind: 'user', id: staff.agent.user.id } });
    const raw = await buildMail({
      from: staff.agent.user.email,
      to: replyAddress(mailbox.email, token),
      subject: 'Out of office',
      text: 'I am away.',
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    const r = await ingestMessage({ mailbox, raw });
    expect(r).toMatchObject({ outcome: 'auto_reply', ticketId: s.ticket.id });
    const stored = await expectRowOf(r.replyId, {
      author: { kind: 'agent', userId: staff.agent.user.id, via: 'email' },
      ticketId: s.ticket.id,
      toContacts: true,
      contactIds: [s.contact.id, s.colleague.id],
      flags: ['auto_reply'],
      inboundEmailId: r.inboundEmailId,
    });
    expect(stored).toMatchObject({
      author_id: staff.agent.user.id,
      customer_visible: false,
      contact_id: null,
      seen_at: null,
      origin: 'email',
      flags: ['auto_reply'],
    });
    expect(await ticketNow(s.ticket.id)).toMatchObject({ exchanges: s.ticket.exchanges, status_id: s.ticket.status_id, open: true });
    expect(await mailSince(s.ticket.id, s.mailAfter)).toEqual([]);
  });
});

describe('auto-reply stored on a ticket', () => {
  it('the contact, visible, unseen, origin email, marked auto_reply; no exchange, no status change, nobody told, a closed ticket stays closed', async () => {
    const s = await scene({ open: false, closed_at: later(-1) });
    const raw = await buildMail({
      from: s.contact.email,
      inReplyTo: s.out.message_id,
      subject: 'Out of office',
      text: 'I am away.',
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    const r = await ingestMessage({ mailbox, raw });
    expect(r).toMatchObject({ outcome: 'auto_reply', ticketId: s.ticket.id });
    const stored = await expectRowOf(r.replyId, {
      author: { kind: 'contact', contactId: s.contact.id, ofTicketCustomer: true },
      ticketId: s.ticket.id,
      flags: ['auto_reply'],
      inboundEmailId: r.inboundEmailId,
    });
    expect(stored).toMatchObject({
      author_type: 'App\\Contact',
      author_id: s.contact.id,
      customer_visible: true,
      seen_at: null,
      origin: 'email',
      flags: ['auto_reply'],
    });
    expect(await ticketNow(s.ticket.id)).toMatchObject({
      exchanges: s.ticket.exchanges,
      status_id: s.ticket.status_id,
      open: false,
      closed_at: s.ticket.closed_at,
    });
    expect(await mailSince(s.ticket.id, s.mailAfter)).toEqual([]);
  });
});

describe("another customer's contact's answer", () => {
  it('that contact, hidden, unseen, origin email; no exchange, no status change; the team told, the contact never joins; a closed ticket stays closed', async () => {
    const s = await scene({ open: false, closed_at: later(-1) });
    const outsider = await makeContact(await makeCustomer());
    const r = await ingestMessage({ mailbox, raw: await buildMail({ from: outsider.email, inReplyTo: s.out.message_id, text: 'Copied in, my two cents.' }) });
    expect(r).toMatchObject({ outcome: 'reply_added', ticketId: s.ticket.id });
    const stored = await expectRowOf(r.replyId, {
      author: { kind: 'contact', contactId: outsider.id, ofTicketCustomer: false },
      ticketId: s.ticket.id,
      flags: [],
      inboundEmailId: r.inboundEmailId,
    });
    expect(stored).toMatchObject({
      author_type: 'App\\Contact',
      author_id: outsider.id,
      contact_id: outsider.id,
      customer_visible: false,
      seen_at: null,
      origin: 'email',
    });
    expect(await ticketNow(s.ticket.id)).toMatchObject({ exchanges: s.ticket.exchanges, status_id: s.ticket.status_id, open: false });
    expect(await mailSince(s.ticket.id, s.mailAfter)).toEqual(teamMail('customer_reply_to_team'));
    expect(await db()('ticket_contacts').where({ ticket_id: s.ticket.id }).pluck('contact_id')).not.toContain(outsider.id);
  });
});

describe('held mail assigned to a ticket', () => {
  const assign = (inboundId: number | null, ticketId: number) =>
    api().post(`/api/v1/ticketing/inbound_emails/${inboundId}/assign`).set(staff.admin.auth).send({ ticket_id: ticketId }).expect(200);

  it("an agent's mail without a token: the agent's internal note (whole body), hidden, unseen, origin email; no exchange, no status change, nobody told, stays closed", async () => {
    const s = await scene({ open: false, closed_at: later(-1) });
    const r = await ingestMessage({
      mailbox,
      raw: await buildMail({ from: staff.agent.user.email, subject: `Re: [#${s.ticket.number}]`, text: 'Told them by phone.' }),
    });
    expect(r.outcome).toBe('quarantined');
    const res = await assign(r.inboundEmailId, s.ticket.id);
    const stored = await expectRowOf(res.body.reply_id, {
      author: { kind: 'agent', userId: staff.agent.user.id, via: 'email' },
      ticketId: s.ticket.id,
      toContacts: false,
      flags: [],
      inboundEmailId: r.inboundEmailId,
    });
    expect(stored).toMatchObject({
      author_type: 'App\\User',
      author_id: staff.agent.user.id,
      customer_visible: false,
      contact_id: null,
      seen_at: null,
      origin: 'email',
    });
    expect(stored.body).toContain('Told them by phone.');
    expect(await ticketNow(s.ticket.id)).toMatchObject({ exchanges: s.ticket.exchanges, status_id: s.ticket.status_id, open: false });
    expect(await mailSince(s.ticket.id, s.mailAfter)).toEqual([]);
  });

  it("a stranger's mail: a customer reply from a new contact of the ticket's customer, who joins it; an exchange, on_customer_reply, the team told; reopens even past the reopen window", async () => {
    await updateSettings({ reopen_window_days: 30 });
    const s = await scene({ open: false, closed_at: later(-60) });
    const address = `stranger${process.pid}@unknown.test`;
    const r = await ingestMessage({ mailbox, raw: await buildMail({ from: address, inReplyTo: s.out.message_id, text: 'I work with Pat.' }) });
    expect(r.outcome).toBe('quarantined');
    const res = await assign(r.inboundEmailId, s.ticket.id);
    const contact = await db()('contacts').where({ email: address }).first();
    expect(contact.contactable_id).toBe(s.customer.id);
    const stored = await expectRowOf(res.body.reply_id, {
      author: { kind: 'contact', contactId: contact.id, ofTicketCustomer: true },
      ticketId: s.ticket.id,
      flags: [],
      inboundEmailId: r.inboundEmailId,
    });
    expect(stored).toMatchObject({ author_type: 'App\\Contact', author_id: contact.id, customer_visible: true, seen_at: null, origin: 'email' });
    expect(await ticketNow(s.ticket.id)).toMatchObject({ exchanges: s.ticket.exchanges + 1, status_id: status.on_customer_reply, open: true, closed_at: null });
    expect(await mailSince(s.ticket.id, s.mailAfter)).toEqual(teamMail('customer_reply_to_team'));
    expect(await db()('ticket_contacts').where({ ticket_id: s.ticket.id }).pluck('contact_id')).toContain(contact.id);
  });

  it("another customer's contact's mail: hidden, unseen, origin email; no exchange, no status change, nobody told, the contact never joins", async () => {
    const s = await scene();
    const address = `wanderer${process.pid}@elsewhere.test`;
    const r = await ingestMessage({ mailbox, raw: await buildMail({ from: address, inReplyTo: s.out.message_id, text: 'About that.' }) });
    expect(r.outcome).toBe('quarantined');
    const outsider = await makeContact(await makeCustomer(), { email: address });
    const res = await assign(r.inboundEmailId, s.ticket.id);
    const stored = await expectRowOf(res.body.reply_id, {
      author: { kind: 'contact', contactId: outsider.id, ofTicketCustomer: false },
      ticketId: s.ticket.id,
      flags: [],
      inboundEmailId: r.inboundEmailId,
    });
    expect(stored).toMatchObject({ author_id: outsider.id, contact_id: outsider.id, customer_visible: false, seen_at: null, origin: 'email' });
    expect(await ticketNow(s.ticket.id)).toMatchObject({ exchanges: s.ticket.exchanges, status_id: s.ticket.status_id, open: true });
    expect(await mailSince(s.ticket.id, s.mailAfter)).toEqual([]);
    expect(await db()('ticket_contacts').where({ ticket_id: s.ticket.id }).pluck('contact_id')).not.toContain(outsider.id);
  });
});

describe('auto-closure message', () => {
  it('the system (no author id), visible, unseen, origin system, to the primary contact; no exchange, no status change, the reminder mailed to the contacts; the closing run writes no reply', async () => {
    await updateSettings({ auto_closure_enabled: true, auto_closure_delay_days: 3, auto_closure_reminders: 1 });
    try {
      const s = await scene();
      await api()
        .post(`/api/v1/replies?ticket_id=${s.ticket.id}`)
        .set(staff.agent.auth)
        .send({ body: '<p>Try this.</p>', close: false, send_to_assignee: false, send_to_contacts: true })
        .expect(201);
      const answered = await ticketNow(s.ticket.id);
      const afterAnswer = await lastMailId();
      const run = async (at: Date) => {
        setNow(at);
        return runAutoClosure({ log: logger, progress: () => undefined });
      };
      expect(await run(later(3, 1))).toMatchObject({ reminded: expect.any(Number) });
      const reminders = await db()('replies').where({ ticket_id: s.ticket.id, auto_closure_message: true });
      expect(reminders).toHaveLength(1);
      const stored = await expectRowOf(reminders[0].id, { author: { kind: 'system' }, ticketId: s.ticket.id, contactIds: [s.contact.id, s.colleague.id] });
      expect(stored).toMatchObject({
        author_type: 'App\\User',
        author_id: null,
        customer_visible: true,
        seen_at: null,
        origin: 'system',
        contact_id: s.contact.id,
        created_at: later(3, 1),
      });
      expect(await ticketNow(s.ticket.id)).toMatchObject({
        exchanges: answered.exchanges,
        status_id: answered.status_id,
        open: true,
        auto_closure_alerts: [later(3, 1)],
      });
      expect(await mailSince(s.ticket.id, afterAnswer)).toEqual([
        { template: 'auto_closure_reminder', to: [s.contact.email], cc: [s.colleague.email], user: null },
      ]);

      const beforeClose = await lastMailId();
      await run(later(6, 2));
      expect(await ticketNow(s.ticket.id)).toMatchObject({ open: false, exchanges: answered.exchanges, status_id: answered.status_id });
      expect(await db()('replies').where({ ticket_id: s.ticket.id }).pluck('auto_closure_message')).toEqual([false, true]); // the answer and the reminder
      expect(await mailSince(s.ticket.id, beforeClose)).toEqual([{ template: 'ticket_closed', to: [s.contact.email], cc: [s.colleague.email], user: null }]);
    } finally {
      await updateSettings({ auto_closure_enabled: false });
    }
  });
});
