/**
 * The mailer against a real SMTP server (smtp-server in this process): every rule of
 * SPEC section 4, asserted on the raw message the sink received, parsed with mailparser.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ParsedMail } from 'mailparser';
import { setNow } from '../../../src/clock';
import { config, loadConfig, setConfig } from '../../../src/config';
import { db } from '../../../src/db/knex';
import { ingestMessage } from '../../../src/mail/inbound/ingest';
import { REPLY_ABOVE_MARKER } from '../../../src/mail/inbound/quotes';
import { claimDue, runBatch, sendClaimed } from '../../../src/mail/outbound/outbox';
import { MailerRole } from '../../../src/mail/outbound/mailerRole';
import { type MailTransport, createMailTransport } from '../../../src/mail/outbound/transport';
import { tokenOf, verifyReplyToken } from '../../../src/mail/replyToken';
import { verifyVerp, verpAddress } from '../../../src/mail/verp';
import type { Mailbox } from '../../../src/models/Mailbox';
import { updateSettings } from '../../../src/services/config/settings';
import { queueEmail } from '../../../src/services/outbox/queueEmail';
import { type Agent, api, makeContact, makeCustomer, makeTicket, makeUser, useStaff } from '../../helpers/factories';
import { buildMail, makeMailbox } from '../../helpers/mail';
import { SmtpSink, parse } from '../../helpers/smtpSink';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { waitFor } from '../../helpers/waitFor';

useTestDatabase();
const staff = useStaff();
jest.setTimeout(60_000);

let sink: SmtpSink;
let transport: MailTransport;
let mailbox: Mailbox;
let seq = 0;
const unique = () => `${process.pid}-${++seq}`;

function configure(extra: Record<string, string> = {}): void {
  setConfig(loadConfig({ ...process.env, SMTP_URL: sink.url, AUTO_MAIL_PER_HOUR: '3', ...extra }));
}

beforeAll(async () => {
  sink = await SmtpSink.start();
  configure();
  transport = createMailTransport();
  mailbox = await makeMailbox({ name: 'Acme Support' });
});
afterEach(() => {
  setNow(undefined);
  sink.reject.clear();
});
afterAll(async () => {
  transport.close();
  await sink.stop();
  setConfig(loadConfig());
});

/**
 * Queues a short message from the mailbox, on no ticket (its rules are the outbox's, not a
 * template's): a team report whose subject ends in `subject`.
 */
function queuePlain(to: string, opts: { cc?: string[]; automatic?: boolean; subject?: string } = {}) {
  return queueEmail({
    template: 'team_report',
    to: [{ address: to }],
    cc: (opts.cc ?? []).map((address) => ({ address })),
    mailboxId: mailbox.id,
    data: { day: opts.subject ?? 'x' },
    automatic: opts.automatic ?? false,
  });
}

/** Runs the mailer's batches until nothing is due. */
async function drain(t: MailTransport = transport): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await runBatch(db(), t);
    if (r.claimed + r.suppressed === 0) return;
  }
  throw new Error('the outbox did not drain');
}

async function only(address: string): Promise<ParsedMail> {
  const got = sink.to(address);
  expect(got).toHaveLength(1);
  return parse(got[0]!);
}

/** A customer (two contacts) whose first contact's mail opened a ticket through the pipeline. */
async function ticketFromCustomerMail(opts: { team?: Agent[] } = {}) {
  const n = unique();
  const customer = await makeCustomer({ name: `Customer ${n}` });
  const pat = await makeContact(customer, { name: 'Pat Primary', email: `pat${n}@acme.test` });
  const cat = await makeContact(customer, { name: 'Cat Second', email: `cat${n}@acme.test` });
  let box = mailbox;
  if (opts.team) {
    const team = await db()('support_teams')
      .insert({ name: `Team ${n}`, created_at: new Date(), updated_at: new Date() })
      .returning('id');
    await db()('support_team_members').insert(opts.team.map((a) => ({ support_team_id: team[0].id, user_id: a.user.id })));
    box = await makeMailbox({ name: `Team box ${n}`, team_id: team[0].id });
  }
  const inboundId = `<first-${n}@acme.test>`;
  const r = await ingestMessage({
    mailbox: box,
    raw: await buildMail({ from: pat.email, to: box.email, subject: `Printer ${n} is on fire`, text: `Please help with printer ${n}.`, messageId: inboundId }),
  });
  expect(r.outcome).toBe('ticket_created');
  await db()('ticket_contacts').insert({ ticket_id: r.ticketId, contact_id: cat.id }).onConflict().ignore();
  const ticket = await db()('tickets').where({ id: r.ticketId }).first();
  return { ticket, pat, cat, box, inboundId, n };
}

describe('an agent reply to the customer', () => {
  it('is one message: primary contact in To, the others in Cc, with every header, both parts and the attachments', async () => {
    const { ticket, pat, cat, inboundId } = await ticketFromCustomerMail();
    await drain();
    sink.clear();
    const upload = await api()
      .post(`/api/v1/ticketing/attachments?ticket_id=${ticket.id}`)
      .set(staff.agent.auth)
      .attach('file', Buffer.from('%PDF-1.4 invoice'), { filename: 'invoice.pdf', contentType: 'application/pdf' })
      .expect(201);
    const reply = await api()
      .post(`/api/v1/replies?ticket_id=${ticket.id}`)
      .set(staff.agent.auth)
      .send({
        body: '<p>Hello {{contact.name}}, <strong>fixed</strong> &lt;script&gt;</p>',
        close: false,
        send_to_assignee: false,
        send_to_contacts: true,
        attachment_ids: [upload.body.id],
      })
      .expect(201);
    const row = await db()('outbound_emails').where({ reply_id: reply.body.id, template: 'agent_reply' }).first();
    expect(row.state).toBe('queued');
    await drain();

    // One SMTP transaction per recipient, each from its own VERP return path, the same bytes to both.
    const delivered = sink.to(pat.email);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.to).toEqual([pat.email]);
    expect(delivered[0]!.from).toBe(verpAddress(mailbox.email, { outboundEmailId: row.id, recipientIndex: 0 }));
    expect(verifyVerp(delivered[0]!.from)).toEqual({ outboundEmailId: row.id, recipientIndex: 0 });
    const copy = sink.to(cat.email);
    expect(copy).toHaveLength(1);
    expect(copy[0]!.to).toEqual([cat.email]);
    expect(verifyVerp(copy[0]!.from)).toEqual({ outboundEmailId: row.id, recipientIndex: 1 });
    expect(copy[0]!.raw.equals(delivered[0]!.raw)).toBe(true);
    const mail = await parse(delivered[0]!);
    expect(mail.to).toMatchObject({ value: [{ address: pat.email, name: 'Pat Primary' }] });
    expect(mail.cc).toMatchObject({ value: [{ address: cat.email, name: 'Cat Second' }] });
    expect(mail.from?.value[0]).toEqual({ address: mailbox.email, name: 'Acme Support' });
    expect(mail.subject).toBe(`[#${ticket.number}] ${ticket.subject}`);
    expect(mail.messageId).toBe(row.message_id);
    expect(mail.inReplyTo).toBe(inboundId);
    expect(mail.references).toEqual(inboundId);
    const replyTo = mail.replyTo!.value[0]!.address!;
    expect(replyTo.startsWith(mailbox.email.split('@')[0]!)).toBe(true);
    expect(verifyReplyToken(tokenOf(replyTo)!)).toEqual({ ticketNumber: ticket.number, recipient: { kind: 'contact', id: pat.id } });
    expect(mail.headers.get('x-helpdesk-loop')).toBeTruthy();
    expect(mail.headers.get('auto-submitted')).toBeUndefined();
    expect(mail.headers.get('x-auto-response-suppress')).toBeUndefined();
    expect(mail.text).toContain(REPLY_ABOVE_MARKER);
    expect(mail.text).toContain('Hello Pat Primary, fixed <script>');
    expect(mail.html).toContain(REPLY_ABOVE_MARKER);
    expect(mail.html).toContain('Hello Pat Primary, <strong>fixed</strong> &lt;script&gt;');
    expect(mail.html).not.toContain('<script>');
    expect(mail.attachments).toHaveLength(1);
    expect(mail.attachments[0]).toMatchObject({ filename: 'invoice.pdf', contentType: 'application/pdf' });
    expect(mail.attachments[0]!.content.toString()).toBe('%PDF-1.4 invoice');

    const shown = await api().get(`/api/v1/ticketing/outbound_emails/${row.id}`).set(staff.agent.auth).expect(200);
    expect(shown.body).toMatchObject({
      state: 'sent',
      attempts: 1,
      message_id: row.message_id,
      subject: mail.subject,
      in_reply_to: inboundId,
      from: mailbox.email,
    });
    expect(shown.body.delivered_recipients.sort()).toEqual([pat.email, cat.email].sort());
  });

  it('an image shown in the body travels inline by cid', async () => {
    const { ticket, pat } = await ticketFromCustomerMail();
    await drain();
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const upload = await api()
      .post(`/api/v1/ticketing/attachments?ticket_id=${ticket.id}`)
      .set(staff.agent.auth)
      .attach('file', png, { filename: 'shot.png', contentType: 'image/png' })
      .expect(201);
    const url = `/api/v1/ticketing/attachments/${upload.body.id}/content?expires=9999999999&signature=x`;
    await api()
      .post(`/api/v1/replies?ticket_id=${ticket.id}`)
      .set(staff.agent.auth)
      .send({
        body: `<p>See <img src="https://help.example${url}"></p>`,
        close: false,
        send_to_assignee: false,
        send_to_contacts: true,
        attachment_ids: [upload.body.id],
      })
      .expect(201);
    await drain();
    const mail = await only(pat.email);
    const image = mail.attachments.find((a) => a.filename === 'shot.png')!;
    expect(image.contentId).toBeTruthy();
    expect(image.related).toBe(true);
    // mailparser turns cid: references into data: URLs; the raw message has the reference.
    expect(
      sink
        .to(pat.email)[0]!
        .raw.toString()
        .replace(/=\r?\n/g, ''),
    ).toContain(`src=3D"cid:${image.contentId!.replace(/[<>]/g, '')}"`);
  });

  it('a reply not sent to the contacts is an internal note: no customer mail; the assignee hears of it', async () => {
    const { ticket, pat } = await ticketFromCustomerMail();
    const assignee = await makeUser('agent');
    await api().put(`/api/v1/tickets/assign/${ticket.id}`).set(staff.agent.auth).send({ assignee_id: assignee.user.id }).expect(201);
    await drain();
    sink.clear();
    await api()
      .post(`/api/v1/replies?ticket_id=${ticket.id}`)
      .set(staff.agent.auth)
      .send({ body: '<p>Internal: call them</p>', close: false, send_to_assignee: true, send_to_contacts: false })
      .expect(201);
    await drain();
    expect(sink.to(pat.email)).toHaveLength(0);
    const mail = await only(assignee.user.email);
    expect(mail.subject).toBe(`[#${ticket.number}] ${staff.agent.user.name}: ${ticket.subject}`);
    expect(mail.text).toContain('added an internal note');
    expect(mail.text).toContain('Internal: call them');
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
  });
});

describe('mail to agents', () => {
  it('inbound customer mail: one message per team member with its own token, automatic headers, never the author', async () => {
    const [a, b] = [await makeUser(), await makeUser()];
    const { ticket, box, pat } = await ticketFromCustomerMail({ team: [a, b] });
    await drain();
    for (const agent of [a, b]) {
      const mail = await only(agent.user.email);
      expect(mail.subject).toBe(`[#${ticket.number}] New ticket: ${ticket.subject}`);
      expect(mail.from?.value[0]?.address).toBe(box.email);
      expect(verifyReplyToken(tokenOf(mail.replyTo!.value[0]!.address!)!)).toEqual({
        ticketNumber: ticket.number,
        recipient: { kind: 'user', id: agent.user.id },
      });
      expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
      expect(mail.headers.get('x-auto-response-suppress')).toBe('All');
      expect(mail.text).toContain(`Please help with printer`);
      expect(mail.text).toContain(pat.email);
      expect(mail.text!.indexOf(REPLY_ABOVE_MARKER)).toBe(0);
    }

    sink.clear();
    const reply = await ingestMessage({
      mailbox: box,
      raw: await buildMail({ from: pat.email, to: box.email, subject: `Re: [#${ticket.number}] x`, text: 'Still burning.' }),
    });
    expect(reply.outcome).toBe('reply_added');
    await drain();
    for (const agent of [a, b]) expect((await only(agent.user.email)).subject).toBe(`[#${ticket.number}] Customer reply: ${ticket.subject}`);

    // notify_team on an API reply: the members, not the author.
    sink.clear();
    await api()
      .post(`/api/v1/replies?ticket_id=${ticket.id}`)
      .set(a.auth)
      .send({ body: '<p>On it</p>', close: false, send_to_assignee: false, send_to_contacts: false, notify_team: true })
      .expect(201);
    await drain();
    expect(sink.to(a.user.email)).toHaveLength(0);
    expect((await only(b.user.email)).text).toContain('On it');
  });

  it('assignment: the assignee gets one message; assigning oneself sends none', async () => {
    const { ticket } = await ticketFromCustomerMail();
    const assignee = await makeUser();
    await api().put(`/api/v1/tickets/assign/${ticket.id}`).set(staff.agent.auth).send({ assignee_id: assignee.user.id }).expect(201);
    await api().put(`/api/v1/tickets/assign/${ticket.id}`).set(assignee.auth).send({ assignee_id: assignee.user.id }).expect(201);
    await drain();
    const mail = await only(assignee.user.email);
    expect(mail.subject).toBe(`[#${ticket.number}] Assigned to you: ${ticket.subject}`);
    expect(mail.text).toContain(`${staff.agent.user.name} assigned ticket #${ticket.number}`);
  });
});

describe('thread headers of mail to customers', () => {
  /** Message-IDs of the ticket's mail to agents. */
  const agentOnlyIds = async (ticketId: number): Promise<string[]> =>
    (await db()('outbound_emails').where({ ticket_id: ticketId }).whereNotNull('recipient_user_id').select('message_id')).map((r) => r.message_id);

  /** The header block of the one message the sink got for `address` with the row's Message-ID. */
  const rawHeadersOf = (address: string, messageId: string): string => {
    const headers = sink
      .to(address)
      .map((m) => m.raw.toString('utf8'))
      .map((raw) => raw.slice(0, raw.indexOf('\r\n\r\n')));
    const got = headers.filter((h) => h.includes(`\r\nMessage-ID: ${messageId}\r\n`));
    expect(got).toHaveLength(1);
    return got[0]!;
  };

  it('name no notification sent to an agent, neither in In-Reply-To nor in References', async () => {
    const [a, b] = [await makeUser(), await makeUser()];
    const { ticket, pat, box, inboundId } = await ticketFromCustomerMail({ team: [a, b] });
    const customerReplyId = `<again-${unique()}@acme.test>`;
    const r = await ingestMessage({
      mailbox: box,
      raw: await buildMail({ from: pat.email, to: box.email, subject: `Re: [#${ticket.number}] x`, text: 'Still burning.', messageId: customerReplyId }),
    });
    expect(r.outcome).toBe('reply_added');
    await api()
      .post(`/api/v1/replies?ticket_id=${ticket.id}`)
      .set(a.auth)
      .send({ body: '<p>Internal: looking</p>', close: false, send_to_assignee: false, send_to_contacts: false, notify_team: true })
      .expect(201);
    await api()
      .post(`/api/v1/replies?ticket_id=${ticket.id}`)
      .set(a.auth)
      .send({ body: '<p>Fixed it</p>', close: false, send_to_assignee: false, send_to_contacts: true })
      .expect(201);
    await drain();

    const notifications = await agentOnlyIds(ticket.id);
    expect(notifications.length).toBeGreaterThanOrEqual(5); // new ticket x2, customer reply x2, the note
    const row = await db()('outbound_emails').where({ ticket_id: ticket.id, template: 'agent_reply' }).first();
    const headers = rawHeadersOf(pat.email, row.message_id);
    for (const id of notifications) expect(headers).not.toContain(id);
    const mail = await parse(sink.to(pat.email).find((m) => m.raw.includes(row.message_id))!);
    expect(mail.inReplyTo).toBe(customerReplyId);
    expect(mail.references).toEqual([inboundId, customerReplyId]);

    // Mail to an agent may name them: the team's notification of the note names its predecessors.
    const toB = await db()('outbound_emails').where({ ticket_id: ticket.id, recipient_user_id: b.user.id, template: 'reply_to_team' }).first();
    expect(toB.references).toContain(notifications[0]);
  });

  it('a ticket the customer never wrote to: no fallback to an agent notification', async () => {
    const assignee = await makeUser();
    const customer = await makeCustomer();
    const contact = await makeContact(customer, { email: `never${unique()}@acme.test` });
    const ticket = await makeTicket({ agent: staff.agent, customer, contact });
    await api().put(`/api/v1/tickets/assign/${ticket.id}`).set(staff.agent.auth).send({ assignee_id: assignee.user.id }).expect(201);
    await api()
      .post(`/api/v1/replies?ticket_id=${ticket.id}`)
      .set(staff.agent.auth)
      .send({ body: '<p>Internal</p>', close: false, send_to_assignee: true, send_to_contacts: false })
      .expect(201);
    await drain();
    await api()
      .post(`/api/v1/replies?ticket_id=${ticket.id}`)
      .set(staff.agent.auth)
      .send({ body: '<p>First words to you</p>', close: false, send_to_assignee: false, send_to_contacts: true })
      .expect(201);
    await api()
      .post(`/api/v1/replies?ticket_id=${ticket.id}`)
      .set(staff.agent.auth)
      .send({ body: '<p>Second words to you</p>', close: false, send_to_assignee: false, send_to_contacts: true })
      .expect(201);
    await drain();

    const notifications = await agentOnlyIds(ticket.id);
    expect(notifications.length).toBeGreaterThanOrEqual(2); // the assignment and the note
    const [first, second] = await db()('outbound_emails').where({ ticket_id: ticket.id, template: 'agent_reply' }).orderBy('id');
    const firstHeaders = rawHeadersOf(contact.email, first.message_id);
    expect(firstHeaders).not.toMatch(/^In-Reply-To:/im);
    expect(firstHeaders).not.toMatch(/^References:/im);
    const secondHeaders = rawHeadersOf(contact.email, second.message_id);
    for (const id of notifications) {
      expect(firstHeaders).not.toContain(id);
      expect(secondHeaders).not.toContain(id);
    }
    // Our own earlier mail to the customer is the fallback.
    expect(second).toMatchObject({ in_reply_to: first.message_id, references: first.message_id });
  });
});

describe('mail to people who wrote in', () => {
  it('the acknowledgement of a new ticket and the notice to a rejected unknown sender', async () => {
    await updateSettings({ auto_acknowledge: true });
    try {
      const n = unique();
      const contact = await makeContact(await makeCustomer(), { name: 'Ada', email: `ada${n}@acme.test` });
      const r = await ingestMessage({ mailbox, raw: await buildMail({ from: contact.email, to: mailbox.email, subject: `Cannot log in ${n}` }) });
      const strictBox = await makeMailbox({ name: 'Strict', unknown_sender: 'reject' });
      // A forged From with a payload in the subject and the name: none of it may go back out.
      await ingestMessage({
        mailbox: strictBox,
        raw: await buildMail({
          from: `"Cheap pills at pills.test" <stranger${n}@else.test>`,
          to: strictBox.email,
          subject: `Buy now at pills.test ${n}`,
          text: 'pills.test',
        }),
      });
      await drain();
      const ticket = await db()('tickets').where({ id: r.ticketId }).first();
      const ack = await only(contact.email);
      expect(ack.subject).toBe(`[#${ticket.number}] Cannot log in ${n}`);
      expect(ack.text).toContain(`opened ticket #${ticket.number}`);
      expect(ack.headers.get('auto-submitted')).toBe('auto-generated');
      expect(verifyReplyToken(tokenOf(ack.replyTo!.value[0]!.address!)!)).toEqual({
        ticketNumber: ticket.number,
        recipient: { kind: 'contact', id: contact.id },
      });
      const notice = await only(`stranger${n}@else.test`);
      expect(notice.subject).toBe(`Your message to ${strictBox.email} was not delivered`);
      const raw = sink.to(`stranger${n}@else.test`)[0]!.raw.toString();
      expect(raw).not.toMatch(/pills|Buy now/i);
      expect(notice.text).toContain(`to ${strictBox.email} was not accepted`);
      expect(notice.from?.value[0]?.address).toBe(strictBox.email);
      expect(notice.replyTo).toBeUndefined();
      expect(notice.headers.get('x-auto-response-suppress')).toBe('All');
      expect(notice.text).not.toContain(REPLY_ABOVE_MARKER);
    } finally {
      await updateSettings({ auto_acknowledge: false });
    }
  });
});

describe('who never gets mail', () => {
  /** Not automatic, so only the address rules apply (the hourly limit has its own test). */
  async function sendTo(addresses: { to: string; cc?: string[] }) {
    const row = await queuePlain(addresses.to, { cc: addresses.cc });
    await drain();
    return db()('outbound_emails').where({ id: row.id }).first();
  }

  it('our own mailboxes, undeliverable and no-reply addresses are dropped; a message with nobody left is suppressed', async () => {
    const n = unique();
    await db()('undeliverable_addresses').insert({ address: `gone${n}@acme.test`, reason: '5.1.1 user unknown' });
    expect(await sendTo({ to: mailbox.email.toUpperCase() })).toMatchObject({ state: 'suppressed', suppressed_reason: 'our_mailbox' });
    expect(await sendTo({ to: mailbox.email.replace('@', '+abc@') })).toMatchObject({ state: 'suppressed', suppressed_reason: 'our_mailbox' });
    expect(await sendTo({ to: `gone${n}@acme.test` })).toMatchObject({ state: 'suppressed', suppressed_reason: 'undeliverable' });
    expect(await sendTo({ to: `no-reply@vendor${n}.test` })).toMatchObject({ state: 'suppressed', suppressed_reason: 'no_reply' });
    expect(await sendTo({ to: `MAILER-DAEMON@vendor${n}.test` })).toMatchObject({ state: 'suppressed', suppressed_reason: 'no_reply' });
    const partial = await sendTo({ to: `gone${n}@acme.test`, cc: [`kept${n}@acme.test`] });
    expect(partial.state).toBe('sent');
    expect(partial.dropped_recipients).toEqual([{ address: `gone${n}@acme.test`, reason: 'undeliverable' }]);
    const mail = await only(`kept${n}@acme.test`);
    expect(mail.to).toMatchObject({ value: [{ address: `kept${n}@acme.test` }] });
    expect(sink.to(`gone${n}@acme.test`)).toHaveLength(0);
    const listed = await api().get('/api/v1/ticketing/outbound_emails?filter[state]=suppressed').set(staff.agent.auth).expect(200);
    expect(listed.body.some((m: { suppressed_reason: string }) => m.suppressed_reason === 'undeliverable')).toBe(true);
  });

  it('at most AUTO_MAIL_PER_HOUR automatic messages per recipient per hour (3 here); mail an agent writes is not limited', async () => {
    const address = `busy${unique()}@acme.test`;
    const queue = (automatic: boolean) => queuePlain(address, { automatic });
    for (let i = 0; i < 5; i++) await queue(true);
    await queue(false);
    await drain();
    expect(sink.to(address)).toHaveLength(4);
    const rows = await db()('outbound_emails').whereRaw(`to_addresses->0->>'address' = ?`, [address]).orderBy('id');
    expect(rows.map((r) => r.state)).toEqual(['sent', 'sent', 'sent', 'suppressed', 'suppressed', 'sent']);
    expect(rows[3].suppressed_reason).toBe('rate_limit');
    // An hour later the limit starts again.
    setNow(new Date(Date.now() + 3601_000));
    await queue(true);
    await drain();
    expect(sink.to(address)).toHaveLength(5);
  });

  it('the hourly limit counts an address with its +tag removed', async () => {
    const n = unique();
    for (let i = 0; i < 5; i++) await queuePlain(`tagged${n}+${i}@acme.test`, { automatic: true });
    await drain();
    const rows = await db()('outbound_emails')
      .whereRaw(`to_addresses->0->>'address' like ?`, [`tagged${n}+%`])
      .orderBy('id');
    expect(rows.map((r) => r.state)).toEqual(['sent', 'sent', 'sent', 'suppressed', 'suppressed']);
    expect(rows[4].dropped_recipients).toEqual([{ address: `tagged${n}+4@acme.test`, reason: 'rate_limit' }]);
    expect(sink.messages.filter((m) => m.to.some((t) => t.startsWith(`tagged${n}+`)))).toHaveLength(3);
  });
});

/**
 * Lets a message's backoff (or its claim's lease) pass: its due time, and the start of its
 * retry window, moved back as if the wait were over, since delivery times are wall clock.
 * Returns the wait.
 */
async function waitOutBackoff(id: number): Promise<number> {
  const { next_attempt_at } = await db()('outbound_emails').where({ id }).first('next_attempt_at');
  const shift = Math.max(0, new Date(next_attempt_at).getTime() - Date.now()) + 1000;
  const back = (column: string) => db().raw(`${column} - make_interval(secs => ?)`, [shift / 1000]);
  await db()('outbound_emails')
    .where({ id })
    .update({ next_attempt_at: back('next_attempt_at'), queued_at: back('queued_at') });
  return shift;
}

describe('delivery faults', () => {
  it('a temporary failure retries later with the same Message-ID', async () => {
    const address = `later${unique()}@acme.test`;
    sink.reject.set(address, '451 try again later');
    const row = await queuePlain(address);
    await drain();
    const waiting = await db()('outbound_emails').where({ id: row.id }).first();
    expect(waiting).toMatchObject({ state: 'queued', attempts: 1 });
    expect(waiting.last_error).toMatch(/451/);
    expect(new Date(waiting.next_attempt_at).getTime()).toBeGreaterThan(Date.now() + 30_000);
    sink.reject.clear();
    await waitOutBackoff(row.id);
    await drain();
    const mail = await only(address);
    expect(mail.messageId).toBe(row.message_id);
    expect(await db()('outbound_emails').where({ id: row.id }).first()).toMatchObject({ state: 'sent', attempts: 2, last_error: null });
  });

  it('a temporary failure for one recipient retries to that one only; a 5xx one is not tried again', async () => {
    const n = unique();
    const [to, later, gone] = [`first${n}@acme.test`, `later${n}@acme.test`, `gone${n}@acme.test`];
    sink.reject.set(later, '451 greylisted');
    sink.reject.set(gone, '550 no such user');
    const row = await queuePlain(to, { cc: [later, gone] });
    await drain();
    const waiting = await db()('outbound_emails').where({ id: row.id }).first();
    expect(waiting).toMatchObject({ state: 'queued', attempts: 1, delivered_recipients: [to], rejected_recipients: [gone] });
    expect(waiting.last_error).toMatch(/451/);
    expect(waiting.last_error).toMatch(/550/);
    expect(sink.to(to)).toHaveLength(1);
    expect(verifyVerp(sink.to(to)[0]!.from)).toEqual({ outboundEmailId: row.id, recipientIndex: 0 });

    sink.reject.clear(); // the 550 one would now be accepted: it must not be tried again
    await waitOutBackoff(row.id);
    await drain();
    expect(sink.to(to)).toHaveLength(1);
    expect(sink.to(gone)).toHaveLength(0);
    const retried = sink.to(later);
    expect(retried).toHaveLength(1);
    expect(retried[0]!.to).toEqual([later]);
    expect(retried[0]!.from).toBe(verpAddress(mailbox.email, { outboundEmailId: row.id, recipientIndex: 1 }));
    expect(verifyVerp(retried[0]!.from)).toEqual({ outboundEmailId: row.id, recipientIndex: 1 });
    const mail = await parse(retried[0]!);
    expect(mail.messageId).toBe(row.message_id);
    expect(mail.cc).toMatchObject({ value: [{ address: later }, { address: gone }] });
    const done = await db()('outbound_emails').where({ id: row.id }).first();
    expect(done).toMatchObject({ state: 'sent', attempts: 2, rejected_recipients: [gone], last_error: null });
    expect(done.delivered_recipients.sort()).toEqual([to, later].sort());
  });

  it('the recipient index is the place in To then Cc as queued, not as screened', async () => {
    const n = unique();
    await db()('undeliverable_addresses').insert({ address: `dead${n}@acme.test`, reason: '5.1.1 user unknown' });
    const row = await queuePlain(`dead${n}@acme.test`, { cc: [`alive${n}@acme.test`] });
    await drain();
    const got = sink.to(`alive${n}@acme.test`);
    expect(got).toHaveLength(1);
    expect(verifyVerp(got[0]!.from)).toEqual({ outboundEmailId: row.id, recipientIndex: 1 });
    // screening moved the Cc into To; the index still names its queued place
    expect((await parse(got[0]!)).to).toMatchObject({ value: [{ address: `alive${n}@acme.test` }] });
  });

  it('every recipient refused for good: failed, naming them', async () => {
    const n = unique();
    for (const a of [`x${n}@acme.test`, `y${n}@acme.test`]) sink.reject.set(a, '550 no such user');
    const row = await queuePlain(`x${n}@acme.test`, { cc: [`y${n}@acme.test`] });
    await drain();
    const failed = await db()('outbound_emails').where({ id: row.id }).first();
    expect(failed).toMatchObject({ state: 'failed', attempts: 1, delivered_recipients: [], sent_at: null });
    expect(failed.rejected_recipients.sort()).toEqual([`x${n}@acme.test`, `y${n}@acme.test`]);
  });

  it('a message whose ticket was deleted before it went fails, saying so', async () => {
    const { ticket, pat } = await ticketFromCustomerMail();
    await drain();
    await api()
      .post(`/api/v1/replies?ticket_id=${ticket.id}`)
      .set(staff.agent.auth)
      .send({ body: '<p>Done</p>', close: false, send_to_assignee: false, send_to_contacts: true })
      .expect(201);
    const row = await db()('outbound_emails').where({ ticket_id: ticket.id, template: 'agent_reply' }).first();
    await api().delete(`/api/v1/tickets/${ticket.id}`).set(staff.admin.auth).expect(200);
    await drain();
    expect(await db()('outbound_emails').where({ id: row.id }).first()).toMatchObject({
      state: 'failed',
      last_error: expect.stringMatching(/no longer exists/),
    });
    expect(sink.to(pat.email).filter((m) => m.raw.includes('Done'))).toHaveLength(0);
  });

  it('gives up on a temporary failure after about a day', async () => {
    const address = `never${unique()}@acme.test`;
    sink.reject.set(address, '450 mailbox busy');
    const row = await queuePlain(address);
    let waited = 0;
    for (let i = 0; i < 30; i++) {
      await drain();
      const r = await db()('outbound_emails').where({ id: row.id }).first();
      if (r.state !== 'queued') break;
      waited += await waitOutBackoff(row.id);
    }
    const failed = await db()('outbound_emails').where({ id: row.id }).first();
    expect(failed.state).toBe('failed');
    expect(failed.last_error).toMatch(/gave up after \d+ attempts/);
    expect(waited).toBeGreaterThan(12 * 3600_000);
    expect(waited).toBeLessThan(36 * 3600_000);
  });

  it('mail queued under a business clock set ahead (jobs run --now) is due at once: delivery times are wall clock', async () => {
    const address = `ahead${unique()}@acme.test`;
    setNow(new Date(Date.now() + 3 * 86400_000));
    const row = await queuePlain(address);
    setNow(undefined);
    expect(new Date(row.next_attempt_at!).getTime()).toBeLessThanOrEqual(Date.now());
    await drain();
    expect(await only(address)).toBeDefined();
  });

  it('a 550 fails the message at once, visible in outbound_emails; retry sends it', async () => {
    const address = `nobody${unique()}@acme.test`;
    sink.reject.set(address, '550 no such user');
    const row = await queuePlain(address);
    await drain();
    const shown = await api().get(`/api/v1/ticketing/outbound_emails/${row.id}`).set(staff.agent.auth).expect(200);
    expect(shown.body).toMatchObject({ state: 'failed', attempts: 1 });
    expect(shown.body.last_error).toMatch(/550/);
    const failedList = await api().get('/api/v1/ticketing/outbound_emails?filter[state]=failed').set(staff.agent.auth).expect(200);
    expect(failedList.body.map((m: { id: number }) => m.id)).toContain(row.id);

    await api().post(`/api/v1/ticketing/outbound_emails/${row.id}/retry`).set(staff.agent.auth).expect(200);
    sink.reject.clear();
    await drain();
    expect((await only(address)).messageId).toBe(row.message_id);
    const again = await api().post(`/api/v1/ticketing/outbound_emails/${row.id}/retry`).set(staff.agent.auth).expect(409);
    expect(again.body.error.code).toBe('conflict');
  });

  it('the sink stopped while mail is queued, then started: every message arrives once', async () => {
    configure({ MAILER_RETRY_BASE_SECONDS: '0.2', MAILER_RETRY_MAX_DELAY_SECONDS: '0.5' });
    const role = new MailerRole({ pollMs: 100 });
    try {
      await sink.stop();
      await role.start();
      const rows: { id: number; message_id: string }[] = [];
      for (let i = 0; i < 20; i++) {
        rows.push(await queuePlain(`outage${i}-${unique()}@acme.test`, { subject: `n${i}` }));
      }
      await waitFor(
        async () =>
          (
            await db()('outbound_emails')
              .whereIn(
                'id',
                rows.map((r) => r.id),
              )
              .where('attempts', '>=', 2)
          ).length === 20,
        { what: 'retries while the sink is down' },
      );
      await sink.resume();
      await waitFor(
        async () =>
          (
            await db()('outbound_emails')
              .whereIn(
                'id',
                rows.map((r) => r.id),
              )
              .where({ state: 'sent' })
          ).length === 20,
        { what: 'all sent' },
      );
      const ids = new Set(rows.map((r) => r.message_id));
      const got = (await Promise.all(sink.messages.map(parse))).filter((m) => ids.has(m.messageId!));
      expect(got).toHaveLength(20);
      expect(new Set(got.map((m) => m.messageId)).size).toBe(20);
    } finally {
      await role.stop();
      configure();
    }
  });
});

describe('claims', () => {
  const rowOf = async (id: number) => db()('outbound_emails').where({ id }).first();

  it('a send that outlasted its lease is not recorded over the lane that took the message after it', async () => {
    await drain();
    const address = `slow${unique()}@acme.test`;
    const row = await queuePlain(address);
    const first = await claimDue(db(), 10);
    const mine = first.claimed.filter((c) => c.row.id === row.id);
    expect(mine).toHaveLength(1);
    expect((await rowOf(row.id)).claim_token).toBe(mine[0]!.token);

    // The first lane is still talking to a slow server when its lease ends: a second lane claims.
    await waitOutBackoff(row.id);
    const second = (await claimDue(db(), 10)).claimed.filter((c) => c.row.id === row.id);
    expect(second).toHaveLength(1);
    expect(second[0]!.token).not.toBe(mine[0]!.token);

    // The first lane's send finally ends (accepted): not recorded, the second lane's claim stands.
    const late = await sendClaimed(db(), transport, mine);
    expect(late.stale).toBe(1);
    expect(await rowOf(row.id)).toMatchObject({ state: 'queued', attempts: 2, claim_token: second[0]!.token, sent_at: null });

    // The second lane's outcome (a temporary failure) is recorded, and its token cleared.
    sink.reject.set(address, '451 greylisted');
    const current = await sendClaimed(db(), transport, second);
    expect(current.stale).toBe(0);
    const after = await rowOf(row.id);
    expect(after).toMatchObject({ state: 'queued', attempts: 2, claim_token: null });
    expect(after.last_error).toMatch(/451/);
    expect(new Date(after.next_attempt_at).getTime()).toBeGreaterThan(Date.now() + 30_000);
  });

  it('retry: a waiting message falls due now; one being sent is 409 being_sent; a sent one 409', async () => {
    const address = `hurry${unique()}@acme.test`;
    sink.reject.set(address, '451 try again later');
    const row = await queuePlain(address);
    await drain();
    const waiting = await rowOf(row.id);
    expect(waiting).toMatchObject({ state: 'queued', attempts: 1, claim_token: null });
    expect(new Date(waiting.next_attempt_at).getTime()).toBeGreaterThan(Date.now() + 30_000);
    sink.reject.clear();

    const hurried = await api().post(`/api/v1/ticketing/outbound_emails/${row.id}/retry`).set(staff.agent.auth).expect(200);
    expect(hurried.body).toMatchObject({ state: 'queued', attempts: 1 });
    expect(new Date((await rowOf(row.id)).next_attempt_at).getTime()).toBeLessThanOrEqual(Date.now());

    const claim = (await claimDue(db(), 10)).claimed.filter((c) => c.row.id === row.id);
    expect(claim).toHaveLength(1);
    const busy = await api().post(`/api/v1/ticketing/outbound_emails/${row.id}/retry`).set(staff.agent.auth).expect(409);
    expect(busy.body.error.code).toBe('being_sent');
    expect((await rowOf(row.id)).claim_token).toBe(claim[0]!.token);

    await sendClaimed(db(), transport, claim);
    expect(await rowOf(row.id)).toMatchObject({ state: 'sent', attempts: 2, claim_token: null });
    expect((await only(address)).messageId).toBe(row.message_id);
    const done = await api().post(`/api/v1/ticketing/outbound_emails/${row.id}/retry`).set(staff.agent.auth).expect(409);
    expect(done.body.error.code).toBe('conflict');
  });

  it('retry: a claim whose lane died (lease over) is no longer being sent', async () => {
    await drain();
    const row = await queuePlain(`dead${unique()}@acme.test`);
    expect((await claimDue(db(), 10)).claimed.some((c) => c.row.id === row.id)).toBe(true);
    await waitOutBackoff(row.id); // the lease runs out
    await api().post(`/api/v1/ticketing/outbound_emails/${row.id}/retry`).set(staff.agent.auth).expect(200);
    await drain();
    expect(await rowOf(row.id)).toMatchObject({ state: 'sent', claim_token: null });
  });
});

describe('the loop guard and bounces', () => {
  it('our own message coming back is a loop, and a bounce shows on the message it reports', async () => {
    const address = `bouncing${unique()}@acme.test`;
    const row = await queuePlain(address);
    await drain();
    const sent = sink.to(address)[0]!;
    const loop = await ingestMessage({ mailbox, raw: sent.raw });
    expect(loop.outcome).toBe('loop');

    const dsn = await buildMail({
      from: 'MAILER-DAEMON@mx.acme.test',
      to: mailbox.email,
      subject: 'Undelivered Mail Returned to Sender',
      text: `This is the mail system.\n\n<${address}>: host mx.acme.test said: 550 5.1.1 user unknown\n\nMessage-ID: ${row.message_id}\n`,
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    const bounce = await ingestMessage({ mailbox, raw: dsn });
    expect(bounce.outcome).toBe('bounce');
    const shown = await api().get(`/api/v1/ticketing/outbound_emails/${row.id}`).set(staff.agent.auth).expect(200);
    expect(shown.body).toMatchObject({ state: 'bounced', bounce_inbound_email_id: bounce.inboundEmailId });
    expect(shown.body.bounce_reason).toBeTruthy();
  });
});

describe('without SMTP_URL', () => {
  it('writes each message as an .eml file under the data dir and counts it as sent', async () => {
    const dir = fs.mkdtempSync(path.join(config().dataDir, '..', 'eml-'));
    setConfig(loadConfig({ ...process.env, SMTP_URL: undefined, HELPDESK_DATA_DIR: dir }));
    const files = createMailTransport();
    try {
      const row = await queuePlain(`file${unique()}@acme.test`, { subject: 'to a file', automatic: true });
      await drain(files);
      expect(await db()('outbound_emails').where({ id: row.id }).first()).toMatchObject({ state: 'sent' });
      const day = fs.readdirSync(path.join(dir, 'outgoing'))[0]!;
      const written = fs.readdirSync(path.join(dir, 'outgoing', day)).filter((f) => f.endsWith('.eml'));
      expect(written).toHaveLength(1);
      const text = fs.readFileSync(path.join(dir, 'outgoing', day, written[0]!), 'utf8');
      expect(text).toContain(`Message-ID: ${row.message_id}`);
      expect(text).toContain('Auto-Submitted: auto-generated');
      expect(text).toContain('Helpdesk report for to a file');
    } finally {
      files.close();
      configure();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
