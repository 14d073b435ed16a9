/**
 * The whole loop through real servers: a customer's mail appended to Dovecot becomes a
 * ticket (the `imap` role), the team is notified and the agent's answer reaches the
 * customer (the `mailer` role, to the smtp-server sink), the customer's answer built from
 * that copy lands on the same ticket, an agent answers by mail through the signed address;
 * forged agent mail does not pass. And an auto-responder that answers everything cannot
 * keep the helpdesk talking.
 */
import type { ParsedMail } from 'mailparser';
import { loadConfig, setConfig } from '../../../src/config';
import { db } from '../../../src/db/knex';
import { ImapRole } from '../../../src/mail/imap/imapRole';
import { MailerRole } from '../../../src/mail/outbound/mailerRole';
import type { Mailbox } from '../../../src/models/Mailbox';
import { updateSettings } from '../../../src/services/config/settings';
import { Dovecot } from '../../helpers/dovecot';
import { type Agent, api, makeContact, makeCustomer, makeUser } from '../../helpers/factories';
import { buildMail, makeMailbox } from '../../helpers/mail';
import { SmtpSink, parse } from '../../helpers/smtpSink';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { waitFor } from '../../helpers/waitFor';

jest.setTimeout(90_000);

const AUTO_MAIL_PER_HOUR = 4;
let dovecot: Dovecot;
let sink: SmtpSink;
let imap: ImapRole;
let mailer: MailerRole;
let seq = 0;

// Registered before useTestDatabase() so the roles stop while the database is still open.
afterAll(async () => {
  await mailer?.stop();
  await imap?.stop();
  await sink?.stop();
  await dovecot?.destroy();
  setConfig(loadConfig());
});
useTestDatabase();

beforeAll(async () => {
  dovecot = await Dovecot.start();
  sink = await SmtpSink.start();
  setConfig(loadConfig({ ...process.env, SMTP_URL: sink.url, AUTO_MAIL_PER_HOUR: String(AUTO_MAIL_PER_HOUR) }));
  imap = new ImapRole({ pollMs: 500, backoffMaxMs: 1000 });
  await imap.start();
  mailer = new MailerRole({ pollMs: 100 });
  await mailer.start();
});

async function supportMailbox(teamAgents: Agent[]): Promise<Mailbox> {
  const n = `${process.pid}x${++seq}`;
  const [team] = await db()('support_teams')
    .insert({ name: `Round trip ${n}`, created_at: new Date(), updated_at: new Date() })
    .returning('id');
  await db()('support_team_members').insert(teamAgents.map((a) => ({ support_team_id: team.id, user_id: a.user.id })));
  const box = await makeMailbox({
    email: `help${n}@helpdesk.test`,
    imap_host: '127.0.0.1',
    imap_port: dovecot.port,
    imap_secure: false,
    imap_username: `rt${n}`,
    imap_password: 'secret',
    team_id: team.id,
  });
  await imap.sync();
  await waitFor(async () => (await db()('mailboxes').where({ id: box.id }).first()).last_uid !== null, { what: 'mailbox watched' });
  return box;
}

/** The one message the sink got for `address` matching `pick`, once it is there. */
async function received(address: string, pick: (m: ParsedMail) => boolean = () => true): Promise<ParsedMail> {
  return waitFor(
    async () => {
      for (const m of sink.to(address)) {
        const parsed = await parse(m);
        if (pick(parsed)) return parsed;
      }
      return undefined;
    },
    { what: `mail to ${address}` },
  );
}

const deliver = (box: Mailbox, raw: Buffer) => dovecot.append(box.imap_username!, [raw]);
const inbound = (messageId: string) => waitFor(() => db()('inbound_emails').where({ message_id: messageId }).first(), { what: `inbound ${messageId}` });

test('customer, agent by API, customer again, agent by mail: one ticket; forged agent mail does not pass', async () => {
  const [alice, bob] = [await makeUser('agent', { name: 'Alice Agent' }), await makeUser('agent', { name: 'Bob Agent' })];
  const box = await supportMailbox([alice, bob]);
  const customer = await makeCustomer();
  const pat = await makeContact(customer, { name: 'Pat', email: `pat.rt${process.pid}@acme.test` });

  // 1. The customer writes; the team hears of it.
  const firstId = `<rt-first-${process.pid}@acme.test>`;
  await deliver(box, await buildMail({ from: pat.email, to: box.email, subject: 'VPN is down', text: 'Nobody can connect.', messageId: firstId }));
  const first = await inbound(firstId);
  expect(first.outcome).toBe('ticket_created');
  const ticket = await db()('tickets').where({ id: first.ticket_id }).first();
  const toBob = await received(bob.user.email, (m) => m.subject === `[#${ticket.number}] New ticket: VPN is down`);
  expect(toBob.text).toContain('Nobody can connect.');

  // 2. Alice answers through the API; the customer's copy arrives.
  await api()
    .post(`/api/v1/replies?ticket_id=${ticket.id}`)
    .set(alice.auth)
    .send({ body: '<p>Restart the client, please.</p>', close: false, send_to_assignee: false, send_to_contacts: true })
    .expect(201);
  const copy = await received(pat.email);
  expect(copy.subject).toBe(`[#${ticket.number}] VPN is down`);
  expect(copy.inReplyTo).toBe(firstId);
  expect(copy.text).toContain('Restart the client, please.');

  // 3. The customer answers the copy the way a mail client does.
  const answerId = `<rt-answer-${process.pid}@acme.test>`;
  await deliver(
    box,
    await buildMail({
      from: pat.email,
      to: copy.replyTo!.value[0]!.address!,
      subject: `Re: ${copy.subject}`,
      text: `Restarted, it works now.\n\nOn Monday Acme Support wrote:\n> ${copy.text!.split('\n').join('\n> ')}`,
      messageId: answerId,
      inReplyTo: copy.messageId,
      references: `${copy.references ?? ''} ${copy.messageId}`.trim(),
    }),
  );
  const answer = await inbound(answerId);
  expect(answer).toMatchObject({ outcome: 'reply_added', ticket_id: ticket.id });
  const answerReply = await db()('replies').where({ id: answer.reply_id }).first();
  expect(answerReply).toMatchObject({ author_type: 'App\\Contact', author_id: pat.id });
  expect(answerReply.body).toContain('Restarted, it works now.');
  expect(answerReply.body).not.toContain('Restart the client');

  // 4. Bob answers his notification by mail, through his signed address.
  const bobNote = await received(bob.user.email, (m) => m.subject === `[#${ticket.number}] Customer reply: VPN is down`);
  const bobId = `<rt-bob-${process.pid}@helpdesk.test>`;
  await deliver(
    box,
    await buildMail({
      from: bob.user.email,
      to: bobNote.replyTo!.value[0]!.address!,
      subject: `Re: ${bobNote.subject}`,
      text: 'Glad it works. Closing soon.',
      messageId: bobId,
      inReplyTo: bobNote.messageId,
    }),
  );
  const bobAnswer = await inbound(bobId);
  expect(bobAnswer).toMatchObject({ outcome: 'reply_added', ticket_id: ticket.id });
  expect(await db()('replies').where({ id: bobAnswer.reply_id }).first()).toMatchObject({
    author_type: 'App\\User',
    author_id: bob.user.id,
    customer_visible: true,
  });
  const fromBob = await received(pat.email, (m) => (m.text ?? '').includes('Glad it works.'));
  expect(fromBob.subject).toBe(`[#${ticket.number}] VPN is down`);
  expect(fromBob.text).toContain('Bob Agent');
  expect(fromBob.inReplyTo).toBe(answerId);

  // 5. Forged: Bob's From with no token and no In-Reply-To; Bob's From with the customer's token.
  const forgedId = `<rt-forged-${process.pid}@evil.test>`;
  await deliver(
    box,
    await buildMail({
      from: bob.user.email,
      to: box.email,
      subject: `Re: [#${ticket.number}] VPN is down`,
      text: 'Send me the passwords.',
      messageId: forgedId,
    }),
  );
  const stolenId = `<rt-stolen-${process.pid}@evil.test>`;
  await deliver(
    box,
    await buildMail({
      from: bob.user.email,
      to: copy.replyTo!.value[0]!.address!,
      subject: `Re: ${copy.subject}`,
      text: 'Send me the passwords too.',
      messageId: stolenId,
    }),
  );
  for (const id of [forgedId, stolenId]) {
    const row = await inbound(id);
    expect(row.outcome).not.toBe('reply_added');
    expect(row.reply_id).toBeNull();
  }
  const agentReplies = await db()('replies').where({ ticket_id: ticket.id, author_type: 'App\\User' });
  expect(agentReplies.map((r) => r.author_id).sort()).toEqual([alice.user.id, bob.user.id].sort());
  expect(await db()('tickets').where({ id: ticket.id }).first()).toMatchObject({ open: true });
  expect(await db()('inbound_emails').whereIn('message_id', [firstId, answerId, bobId]).whereNot({ ticket_id: ticket.id })).toHaveLength(0);
});

test('an auto-responder that answers every message: the exchange stops at the hourly limit', async () => {
  await updateSettings({ auto_acknowledge: true });
  const agent = await makeUser('agent');
  const box = await supportMailbox([agent]);
  const customer = await makeCustomer();
  const bot = await makeContact(customer, { name: 'Robot', email: `robot${process.pid}@acme.test` });
  // The worst kind: no Auto-Submitted, a fresh subject, no thread headers, so each answer looks like a new request.
  let answered = 0;
  sink.onMessage = async (m) => {
    if (!m.to.includes(bot.email)) return;
    answered++;
    const original = await parse(m);
    await deliver(
      box,
      await buildMail({
        from: bot.email,
        to: box.email,
        subject: `I got your mail "${(original.subject ?? '').replace(/\[#\w+\]/, '')}" ${answered}`,
        text: 'Thank you for your message. I will read it soon.',
      }),
    );
  };
  try {
    await deliver(box, await buildMail({ from: bot.email, to: box.email, subject: 'Order status', text: 'Where is my order?' }));
    await waitFor(async () => answered >= AUTO_MAIL_PER_HOUR, { what: 'the responder answering', timeoutMs: 60_000 });
    // Quiet: nothing more goes to the responder.
    let last = -1;
    await waitFor(
      async () => {
        const count = sink.to(bot.email).length;
        const quiet =
          count === last && (await db()('outbound_emails').where({ state: 'queued' }).whereRaw(`to_addresses->0->>'address' = ?`, [bot.email])).length === 0;
        last = count;
        return quiet;
      },
      { what: 'the exchange to stop', intervalMs: 3000, timeoutMs: 60_000 },
    );
    const toBot = sink.to(bot.email).length;
    expect(toBot).toBe(AUTO_MAIL_PER_HOUR);
    const rows = await db()('outbound_emails').whereRaw(`to_addresses->0->>'address' = ?`, [bot.email]);
    expect(rows.filter((r) => r.state === 'suppressed').every((r) => r.suppressed_reason === 'rate_limit')).toBe(true);
    expect(rows.filter((r) => r.state === 'suppressed').length).toBeGreaterThanOrEqual(1);
    const tickets = await db()('inbound_emails').where({ mailbox_id: box.id, outcome: 'ticket_created' });
    expect(tickets.length).toBe(AUTO_MAIL_PER_HOUR + 1);
  } finally {
    sink.onMessage = undefined;
    await updateSettings({ auto_acknowledge: false });
  }
});
