/**
 * Hostile mail through a real Dovecot to the running `imap` role: each case of the
 * hostile-input issue, and after the ones that used to jam or freeze a mailbox, the next
 * ordinary message still becomes a ticket.
 */
import { config, loadConfig, setConfig } from '../../../src/config';
import { db } from '../../../src/db/knex';
import { ImapRole } from '../../../src/mail/imap/imapRole';
import { closeCpuPool } from '../../../src/mail/inbound/cpuPool';
import type { Mailbox } from '../../../src/models/Mailbox';
import { readBlobBuffer } from '../../../src/services/blobs/blobStore';
import { queueEmail } from '../../../src/services/outbox/queueEmail';
import { Dovecot } from '../../helpers/dovecot';
import { type Agent, api, makeContact, makeCustomer, makeTicket, makeUser } from '../../helpers/factories';
import { buildDsn, buildMail, makeMailbox } from '../../helpers/mail';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { waitFor } from '../../helpers/waitFor';

let dovecot: Dovecot;
let role: ImapRole;
const original = config();
afterAll(async () => {
  await role?.stop();
  await closeCpuPool();
  await dovecot?.destroy();
  setConfig(original);
});
useTestDatabase();
jest.setTimeout(120_000);

let agent: Agent;
let seq = 0;

beforeAll(async () => {
  // a deadline short enough for the "too complex" case, long enough for any ordinary message
  setConfig(loadConfig({ ...process.env, INBOUND_CPU_SECONDS: '1' }));
  dovecot = await Dovecot.start();
  agent = await makeUser('agent');
  role = new ImapRole({ pollMs: 300, backoffMaxMs: 1000 });
  await role.start();
});

async function imapBox(fields: Record<string, unknown> = {}): Promise<Mailbox> {
  const box = await makeMailbox({
    imap_host: '127.0.0.1',
    imap_port: dovecot.port,
    imap_secure: false,
    imap_username: `hostile${process.pid}x${++seq}`,
    imap_password: 'secret',
    ...fields,
  });
  await role.sync();
  await waitFor(async () => (await db()('mailboxes').where({ id: box.id }).first()).last_uid !== null, { what: 'worker ready' });
  return box;
}

/** Appends `raw` and waits until the cursor passes it; its row. */
async function deliver(box: Mailbox, raw: Buffer) {
  const [uid] = await dovecot.append(box.imap_username!, [raw]);
  await waitFor(async () => Number((await db()('mailboxes').where({ id: box.id }).first()).last_uid) >= uid!, { what: `UID ${uid} done`, timeoutMs: 60_000 });
  return db()('inbound_emails').where({ mailbox_id: box.id, imap_uid: uid }).first();
}

async function contactAt() {
  const customer = await makeCustomer();
  const contact = await makeContact(customer);
  return { customer, contact };
}

/** The next ordinary message from a contact becomes a ticket. */
async function nextMailIsATicket(box: Mailbox): Promise<void> {
  const { contact } = await contactAt();
  const row = await deliver(box, await buildMail({ from: contact.email, subject: 'an ordinary message after it' }));
  expect(row).toMatchObject({ outcome: 'ticket_created' });
}

const rawMail = (lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n`);

test('encoded words that decode to NUL (subject, display name) and control characters in a Message-ID are cleaned, stored once, and the mailbox goes on', async () => {
  const box = await imapBox();
  const { contact } = await contactAt();
  const cases = [
    ['Subject: =?UTF-8?B?AA==?=', `From: ${contact.email}`, `Message-ID: <nul-subject-${process.pid}@x.test>`],
    ['Subject: a =?UTF-8?B?AGV2aWwA?= name', `From: =?UTF-8?B?AE1hbGxvcnk=?= <${contact.email}>`, `Message-ID: <nul-name-${process.pid}@x.test>`],
    ['Subject: control characters', `From: ${contact.email}`, `Message-ID: <ctl-\x01\x1b-${process.pid}@x.test>`],
  ];
  for (const headers of cases) {
    const row = await deliver(box, rawMail([...headers, 'To: support@helpdesk.test', '', 'Hello =?UTF-8?B?AA==?= there']));
    expect(row.outcome).toBe('ticket_created');
    // eslint-disable-next-line no-control-regex -- control characters are what must not be there
    for (const value of [row.subject, row.message_id, row.from_name ?? '']) expect(value).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
    const ticket = await db()('tickets').where({ id: row.ticket_id }).first();
    expect(ticket.subject).not.toContain('\u0000');
  }
  expect(await db()('inbound_emails').where({ mailbox_id: box.id })).toHaveLength(3);
  await nextMailIsATicket(box);
});

test('a reply with a thousand header-like lines and no blank line is stripped in linear time; the next mail is a ticket', async () => {
  const box = await imapBox();
  const { customer, contact } = await contactAt();
  const ticket = await makeTicket({ agent, customer, contact });
  const flood = Array.from({ length: 3000 }, () => 'From: a').join('\n');
  const row = await deliver(box, await buildMail({ from: contact.email, subject: `Re: [#${ticket.number}] x`, text: `Still broken, see below.\n${flood}` }));
  expect(row).toMatchObject({ outcome: 'reply_added', ticket_id: ticket.id });
  const reply = await db()('replies').where({ id: row.reply_id }).first();
  expect(reply.body).toContain('Still broken, see below.');
  await nextMailIsATicket(box);
});

test('a message over the CPU deadline is quarantined as too_complex with its raw bytes; the next mail is a ticket', async () => {
  const box = await imapBox();
  const { contact } = await contactAt();
  const html = `<div>${'<p><b>x</b> y</p>'.repeat(200_000)}</div>`;
  const raw = await buildMail({ from: contact.email, subject: 'heavy', html });
  const row = await deliver(box, raw);
  // only work on another thread can be cut off at a deadline: a loop on this one could not
  // (the event-loop delay while hostile mail is read is measured by bench/hostile.ts)
  expect(row).toMatchObject({ outcome: 'quarantined', reason: 'too_complex' });
  expect((await readBlobBuffer(db(), row.raw_sha256)).equals(raw)).toBe(true);
  await nextMailIsATicket(box);
});

test('a message over INBOUND_MAX_BYTES is held with only its start fetched, its row giving the real size; the next mail is a ticket', async () => {
  const box = await imapBox();
  const { contact } = await contactAt();
  const limit = 64 * 1024;
  setConfig(loadConfig({ ...process.env, INBOUND_CPU_SECONDS: '1', INBOUND_MAX_BYTES: String(limit) }));
  try {
    const raw = await buildMail({ from: contact.email, subject: 'a big one', text: 'x'.repeat(300 * 1024) });
    const row = await deliver(box, raw);
    expect(row).toMatchObject({ outcome: 'quarantined', size: raw.length, subject: 'a big one' });
    expect(row.reason).toBe(`the message is ${raw.length} bytes, over the ${limit} byte limit; only its first ${limit} bytes were fetched and kept`);
    const kept = await readBlobBuffer(db(), row.raw_sha256);
    expect(kept.equals(raw.subarray(0, limit))).toBe(true);
    // a ticket of its start would hold cut-off attachments: it cannot be assigned
    const customer = await makeCustomer();
    const refused = await api().post(`/api/v1/ticketing/inbound_emails/${row.id}/assign`).set(agent.auth).send({ customer_id: customer.id }).expect(409);
    expect(refused.body.error.message).toMatch(new RegExp(`only the first ${limit} of this message's ${raw.length} bytes were kept`));
    await nextMailIsATicket(box);
  } finally {
    setConfig(loadConfig({ ...process.env, INBOUND_CPU_SECONDS: '1' }));
  }
});

test("a customer forging an agent's From with the Message-ID of that agent's notification is quarantined, never an agent reply", async () => {
  const box = await imapBox();
  const { customer, contact } = await contactAt();
  const ticket = await makeTicket({ agent, customer, contact });
  const notification = await queueEmail({
    template: 'customer_reply_to_team',
    to: [{ address: agent.user.email }],
    ticketId: ticket.id,
    recipientUserId: agent.user.id,
    automatic: true,
  });
  const row = await deliver(
    box,
    await buildMail({
      from: agent.user.email,
      subject: `Re: [#${ticket.number}]`,
      inReplyTo: notification.message_id,
      references: notification.message_id,
      text: 'Refund approved.',
    }),
  );
  expect(row).toMatchObject({ outcome: 'quarantined', ticket_id: ticket.id });
  expect(await db()('replies').where({ ticket_id: ticket.id, author_type: 'App\\User' })).toHaveLength(0);
  expect(await db()('outbound_emails').where({ ticket_id: ticket.id, template: 'agent_reply' })).toHaveLength(0);
});

test("a stranger's DSN naming a customer (X-Failed-Recipients, 5.1.1) answers nothing of ours: recorded unlinked, nobody suppressed", async () => {
  const box = await imapBox();
  const { contact } = await contactAt();
  const forged = buildDsn({
    from: 'MAILER-DAEMON@evil.test',
    to: 'support@helpdesk.test',
    failed: contact.email,
    id: `forged-dsn-${process.pid}`,
    headers: [`X-Failed-Recipients: ${contact.email}`],
  });
  const row = await deliver(box, forged);
  expect(row).toMatchObject({ outcome: 'bounce', reason: 'unlinked' });
  expect(await db()('undeliverable_addresses').where({ address: contact.email.toLowerCase() })).toHaveLength(0);
});

test("a contact of another customer answering in a ticket's thread is recorded for the agents but never joins the ticket", async () => {
  const box = await imapBox();
  const { customer, contact } = await contactAt();
  const { contact: outsider } = await contactAt();
  const ticket = await makeTicket({ agent, customer, contact });
  const sent = await queueEmail({ template: 'agent_reply', to: [{ address: contact.email }], ticketId: ticket.id, automatic: false });
  const row = await deliver(
    box,
    await buildMail({ from: outsider.email, subject: 'Re: your ticket', inReplyTo: sent.message_id, text: 'I am from another company.' }),
  );
  expect(row).toMatchObject({ outcome: 'reply_added', ticket_id: ticket.id });
  expect(row.flags).toContain('other_customer');
  const reply = await db()('replies').where({ id: row.reply_id }).first();
  expect(reply).toMatchObject({ customer_visible: false, author_id: outsider.id });
  expect(await db()('ticket_contacts').where({ ticket_id: ticket.id }).pluck('contact_id')).toEqual([contact.id]);
  expect((await db()('tickets').where({ id: ticket.id }).first()).exchanges).toBe(ticket.exchanges);
});

test('values longer than their columns are cut to fit, never through a surrogate pair: the message lands instead of failing', async () => {
  const box = await imapBox({ unknown_sender: 'create_contact' });
  const domain = `long${process.pid}.test`;
  await makeCustomer({ email_domains: [domain] });
  const row = await deliver(
    box,
    await buildMail({
      from: `"${'N'.repeat(299)}😀" <someone@${domain}>`,
      subject: `${'s'.repeat(9_999)}😀 tail`,
      text: 'see the picture',
      html: '<p>see <img src="cid:pic"></p>',
      attachments: [{ filename: 'p.png', content: Buffer.from('89504e470d0a1a0a', 'hex'), contentType: 'image/png', cid: `${'c'.repeat(300)}@x` }],
    }),
  );
  expect(row.outcome).toBe('ticket_created');
  expect(row.subject.length).toBeLessThanOrEqual(10_000);
  expect(row.subject).not.toMatch(/[\ud800-\udbff]$/);
  const contact = await db()('contacts')
    .where({ email: `someone@${domain}` })
    .first();
  expect(contact.name.length).toBeLessThanOrEqual(255);
  const [attachment] = await db()('attachments').where({ ticket_id: row.ticket_id });
  expect(attachment.content_id.length).toBe(255);
});

test("an out-of-office from another customer's contact is kept on the ticket for the agents and tells nobody", async () => {
  const box = await imapBox();
  const { customer, contact } = await contactAt();
  const { contact: outsider } = await contactAt();
  const ticket = await makeTicket({ agent, customer, contact });
  // the assignee hears of every customer reply: not of this one
  await db()('tickets').where({ id: ticket.id }).update({ assignee_id: agent.user.id });
  const sent = await queueEmail({ template: 'agent_reply', to: [{ address: contact.email }], ticketId: ticket.id, automatic: false });
  const row = await deliver(
    box,
    await buildMail({ from: outsider.email, subject: 'Out of office', inReplyTo: sent.message_id, headers: { 'Auto-Submitted': 'auto-replied' } }),
  );
  expect(row).toMatchObject({ outcome: 'auto_reply', ticket_id: ticket.id });
  expect((await db()('replies').where({ id: row.reply_id }).first()).customer_visible).toBe(false);
  expect(await db()('outbound_emails').where({ ticket_id: ticket.id, reply_id: row.reply_id })).toHaveLength(0);
});
