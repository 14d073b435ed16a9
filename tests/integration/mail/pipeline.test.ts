/**
 * The inbound pipeline's rules (SPEC section 3), run twice: through the entry point the
 * poller and `helpdesk mail import` share, and through IMAP (each message appended to a
 * real Dovecot and picked up by the running `imap` role).
 */
import { setNow } from '../../../src/clock';
import { config } from '../../../src/config';
import { db } from '../../../src/db/knex';
import { ImapRole } from '../../../src/mail/imap/imapRole';
import { type IngestResult, ingestMessage } from '../../../src/mail/inbound/ingest';
import { REPLY_ABOVE_MARKER } from '../../../src/mail/inbound/quotes';
import { replyAddress, signReplyToken } from '../../../src/mail/replyToken';
import { verpAddress } from '../../../src/mail/verp';
import type { Mailbox } from '../../../src/models/Mailbox';
import { readBlobBuffer } from '../../../src/services/blobs/blobStore';
import { updateSettings } from '../../../src/services/config/settings';
import { queueEmail } from '../../../src/services/outbox/queueEmail';
import { Dovecot } from '../../helpers/dovecot';
import { type Agent, api, makeContact, makeCustomer, makeTicket, makeUser } from '../../helpers/factories';
import { buildDsn, buildMail, makeMailbox } from '../../helpers/mail';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { waitFor } from '../../helpers/waitFor';

// The role stops before the database closes: after-all hooks run in the order they are declared.
afterAll(async () => {
  await role?.stop();
  await dovecot?.destroy();
});
useTestDatabase();
jest.setTimeout(60_000);

interface Via {
  name: string;
  makeBox(fields?: Record<string, unknown>): Promise<Mailbox>;
  ingest(raw: Buffer, box: Mailbox): Promise<IngestResult>;
}

const direct: Via = {
  name: 'directly',
  makeBox: (fields = {}) => makeMailbox(fields),
  ingest: (raw, box) => ingestMessage({ mailbox: box, raw }),
};

let dovecot: Dovecot | undefined;
let role: ImapRole | undefined;
let imapSeq = 0;

const throughImap: Via = {
  name: 'through IMAP',
  async makeBox(fields = {}) {
    const box = await makeMailbox({
      imap_host: '127.0.0.1',
      imap_port: dovecot!.port,
      imap_secure: false,
      imap_username: `pipe${process.pid}x${++imapSeq}`,
      imap_password: 'secret',
      ...fields,
    });
    await role!.sync();
    await waitFor(async () => (await db()('mailboxes').where({ id: box.id }).first()).last_uid !== null, { what: 'worker ready' });
    return box;
  },
  async ingest(raw, box) {
    const [uid] = await dovecot!.append(box.imap_username!, [raw]);
    await waitFor(async () => Number((await db()('mailboxes').where({ id: box.id }).first()).last_uid) >= uid!, {
      what: `UID ${uid} committed`,
    });
    const row = await db()('inbound_emails').where({ mailbox_id: box.id, imap_uid: uid }).first();
    if (!row) return { inboundEmailId: null, outcome: 'duplicate' };
    return { inboundEmailId: row.id, outcome: row.outcome, ticketId: row.ticket_id, replyId: row.reply_id, reason: row.reason };
  },
};

beforeAll(async () => {
  dovecot = await Dovecot.start();
  role = new ImapRole({ pollMs: 300, backoffMaxMs: 1000 });
  await role.start();
});
afterEach(() => setNow(undefined));

describe.each([direct, throughImap])('$name', (via) => {
  const tag = via === direct ? 'direct' : 'imap';
  let mailbox: Mailbox;
  let agent: Agent;
  let teamId: number;

  beforeAll(async () => {
    agent = await makeUser('agent', { email: `agent.${via.name.replace(/\W/g, '')}@helpdesk.test` });
    const [team] = await db()('support_teams').insert({ name: 'Support' }).returning('id');
    teamId = team.id;
    await db()('support_team_members').insert({ support_team_id: teamId, user_id: agent.user.id });
    mailbox = await via.makeBox({ team_id: teamId, priority_id: 3 });
  });

  const ingest = async (raw: Buffer, box: Mailbox = mailbox) => via.ingest(raw, box);

  async function contactAt(domain = 'acme.test') {
    const customer = await makeCustomer({ email_domains: [domain] });
    const contact = await makeContact(customer, { email: `person${Date.now()}${Math.random().toString(36).slice(2, 6)}@${domain}`, name: 'Pat Customer' });
    return { customer, contact };
  }

  describe('a new message from a contact', () => {
    it('opens a ticket with every field the spec names', async () => {
      const { customer, contact } = await contactAt();
      const raw = await buildMail({
        from: `Pat <${contact.email.toUpperCase()}>`,
        subject: 'Printer <b>fire</b>',
        html: '<p onclick="x">It <b>burns</b> {{ticket.number}}</p><script>alert(1)</script>',
      });
      const result = await ingest(raw);
      expect(result.outcome).toBe('ticket_created');
      const t = await db()('tickets').where({ id: result.ticketId }).first();
      const defaultStatus = await db()('ticket_statuses').where({ auto_for: 'default' }).first();
      expect(t).toMatchObject({
        origin: 'email',
        opened_via: 'email',
        ticketable_type: 'App\\Customer',
        ticketable_id: customer.id,
        contact_id: contact.id,
        author_type: 'App\\Contact',
        author_id: contact.id,
        team_id: teamId,
        priority_id: 3,
        ticket_category_id: 1,
        ticket_sub_category_id: 1,
        status_id: defaultStatus.id,
        mailbox_id: mailbox.id,
        open: true,
        subject: 'Printer fire',
      });
      expect(t.body).toBe('<p>It burns {{ticket.number}}</p>');
      expect(t.estimated_resolution_date.getTime() - t.created_at.getTime()).toBe(4 * 3600_000);
      const row = await db()('inbound_emails').where({ id: result.inboundEmailId }).first();
      expect(row).toMatchObject({ outcome: 'ticket_created', from: contact.email, mailbox_id: mailbox.id, ticket_id: t.id });
      expect((await readBlobBuffer(db(), row.raw_sha256)).equals(raw)).toBe(true);
      const notes = await db()('outbound_emails').where({ ticket_id: t.id, template: 'new_ticket_to_team' });
      expect(notes.map((n: { recipient_user_id: number }) => n.recipient_user_id)).toEqual([agent.user.id]);
    });

    it('stores attachments and rewrites inline cid images', async () => {
      const { contact } = await contactAt();
      const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
      const raw = await buildMail({
        from: contact.email,
        html: '<p>See <img src="cid:shot@x"></p>',
        attachments: [
          { filename: 'shot.png', content: png, contentType: 'image/png', cid: 'shot@x' },
          { filename: '../../report.txt', content: 'report' },
        ],
      });
      const result = await ingest(raw);
      const t = await db()('tickets').where({ id: result.ticketId }).first();
      const atts = await db()('attachments').where({ ticket_id: t.id }).orderBy('id');
      expect(atts.map((a: { filename: string }) => a.filename)).toEqual(['shot.png', 'report.txt']);
      expect(atts[0]).toMatchObject({ content_id: 'shot@x', sniffed_type: 'image/png' });
      // stored as the plain path; signed when served, so the image loads however old the ticket
      expect(t.body).toContain(`<img src="/api/v1/ticketing/attachments/${atts[0].id}/content" />`);
      const imageOf = async () => {
        const served = await api().get(`/api/v1/tickets/${t.id}`).set(agent.auth).expect(200);
        const body: string = served.body.body ?? served.body.data?.body;
        const src = body.match(/<img src="([^"]+)"/)![1]!.replace(/&amp;/g, '&');
        expect(src).toMatch(new RegExp(`^/api/v1/ticketing/attachments/${atts[0].id}/content\\?expires=\\d+&signature=[\\w-]+$`));
        return src;
      };
      await api()
        .get(await imageOf())
        .expect(200);
      setNow(new Date(Date.now() + (config().contentUrlTtlSeconds + 86400) * 1000));
      const later = await imageOf();
      expect((await api().get(later).expect(200)).body.equals(png)).toBe(true);
    });

    it('is stored once when delivered twice', async () => {
      const { contact } = await contactAt();
      const raw = await buildMail({ from: contact.email, messageId: `<twice-${tag}@customer.test>` });
      const first = await ingest(raw);
      const second = await ingest(raw);
      expect(first.outcome).toBe('ticket_created');
      expect(second.outcome).toBe('duplicate');
      expect(await db()('inbound_emails').where({ message_id: `<twice-${tag}@customer.test>` })).toHaveLength(1);
      expect(await db()('tickets').where({ id: first.ticketId })).toHaveLength(1);
    });

    it('dedupes a message without Message-ID by the hash of its bytes', async () => {
      const { contact } = await contactAt();
      const raw = Buffer.from(`From: ${contact.email}\r\nTo: support@helpdesk.test\r\nSubject: no id\r\n\r\nHello\r\n`);
      expect((await ingest(raw)).outcome).toBe('ticket_created');
      expect((await ingest(raw)).outcome).toBe('duplicate');
    });
  });

  describe('threading', () => {
    async function ticketWithOutbound() {
      const { customer, contact } = await contactAt();
      const ticket = await makeTicket({ agent, customer, contact });
      const out = await queueEmail({ template: 'agent_reply', to: [{ address: contact.email }], ticketId: ticket.id, automatic: false });
      return { customer, contact, ticket, out };
    }

    it('by In-Reply-To naming our message: a reply that moves the status and tells the team', async () => {
      const { contact, ticket, out } = await ticketWithOutbound();
      await db()('tickets').where({ id: ticket.id }).update({ closure: true, closure_requested_at: new Date() });
      const raw = await buildMail({
        from: contact.email,
        subject: 'Re: whatever',
        text: `Thanks, that fixed it.\n\nOn Mon, 1 Jan 2024 at 10:00, Support <support@helpdesk.test> wrote:\n> ${REPLY_ABOVE_MARKER}\n> old text`,
        inReplyTo: out.message_id,
      });
      const r = await ingest(raw);
      expect(r).toMatchObject({ outcome: 'reply_added', ticketId: ticket.id });
      const reply = await db()('replies').where({ id: r.replyId }).first();
      expect(reply).toMatchObject({ origin: 'email', author_type: 'App\\Contact', author_id: contact.id, customer_visible: true });
      expect(reply.body).toBe('<p>Thanks, that fixed it.</p>');
      const t = await db()('tickets').where({ id: ticket.id }).first();
      const status = await db()('ticket_statuses').where({ auto_for: 'on_customer_reply' }).first();
      expect(t).toMatchObject({ exchanges: ticket.exchanges + 1, status_id: status.id, closure: false, closure_requested_at: null });
    });

    it('by References only', async () => {
      const { contact, ticket, out } = await ticketWithOutbound();
      const raw = await buildMail({ from: contact.email, subject: 'no number', references: `<unrelated@x.test> ${out.message_id}` });
      expect(await ingest(raw)).toMatchObject({ outcome: 'reply_added', ticketId: ticket.id });
    });

    it('by the signed reply address when a relay dropped the headers', async () => {
      const { contact, ticket } = await ticketWithOutbound();
      const token = signReplyToken({ ticketNumber: ticket.number, recipient: { kind: 'contact', id: contact.id } });
      const raw = await buildMail({ from: contact.email, to: replyAddress(mailbox.email, token), subject: 'plain subject' });
      expect(await ingest(raw)).toMatchObject({ outcome: 'reply_added', ticketId: ticket.id });
      const forged = replyAddress(
        mailbox.email,
        token.replace(/.$/, (c) => (c === '0' ? '1' : '0')),
      );
      const other = await ingest(await buildMail({ from: contact.email, to: forged, subject: 'plain subject' }));
      expect(other.outcome).toBe('ticket_created');
    });

    it('by [#NUMBER] from a contact of that customer, but not from a stranger', async () => {
      const { customer, ticket } = await ticketWithOutbound();
      const colleague = await makeContact(customer, { email: `colleague${Date.now()}@acme.test` });
      const r = await ingest(await buildMail({ from: colleague.email, subject: `Re: [#${ticket.number.toLowerCase()}] help` }));
      expect(r).toMatchObject({ outcome: 'reply_added', ticketId: ticket.id });
      const { contact: stranger } = await contactAt('other.test');
      const s = await ingest(await buildMail({ from: stranger.email, subject: `Re: [#${ticket.number}] help` }));
      expect(s.outcome).toBe('ticket_created');
      expect(s.ticketId).not.toBe(ticket.id);
    });

    it('reopens a closed ticket, or opens a new one past the reopen window', async () => {
      const { contact, ticket, out } = await ticketWithOutbound();
      await db()('tickets').where({ id: ticket.id }).update({ open: false, closed_at: new Date() });
      const r = await ingest(await buildMail({ from: contact.email, inReplyTo: out.message_id }));
      expect(r).toMatchObject({ outcome: 'reply_added', ticketId: ticket.id });
      expect((await db()('tickets').where({ id: ticket.id }).first()).open).toBe(true);

      await updateSettings({ reopen_window_days: 30 });
      await db()('tickets')
        .where({ id: ticket.id })
        .update({ open: false, closed_at: new Date(Date.now() - 31 * 86400_000) });
      const late = await ingest(await buildMail({ from: contact.email, inReplyTo: out.message_id }));
      expect(late.outcome).toBe('ticket_created');
      const successor = await db()('tickets').where({ id: late.ticketId }).first();
      expect(successor.previous_ticket_id).toBe(ticket.id);
      expect((await db()('tickets').where({ id: ticket.id }).first()).open).toBe(false);
    });
  });

  describe('automatic mail', () => {
    it('an auto-reply on a ticket is stored, marked, and changes nothing', async () => {
      const { customer, contact } = await contactAt();
      const ticket = await makeTicket({ agent, customer, contact });
      const out = await queueEmail({ template: 'agent_reply', to: [{ address: contact.email }], ticketId: ticket.id, automatic: false });
      const before = await db()('tickets').where({ id: ticket.id }).first();
      const queuedBefore = (await db()('outbound_emails').where({ ticket_id: ticket.id })).length;
      const r = await ingest(
        await buildMail({ from: contact.email, subject: 'Out of office', inReplyTo: out.message_id, headers: { 'Auto-Submitted': 'auto-replied' } }),
      );
      expect(r).toMatchObject({ outcome: 'auto_reply', ticketId: ticket.id });
      const reply = await db()('replies').where({ id: r.replyId }).first();
      expect(reply.flags).toEqual(['auto_reply']);
      const after = await db()('tickets').where({ id: ticket.id }).first();
      expect(after).toMatchObject({ status_id: before.status_id, exchanges: before.exchanges, open: before.open });
      expect((await db()('outbound_emails').where({ ticket_id: ticket.id })).length).toBe(queuedBefore);
    });

    it('an auto-reply to nothing is only recorded', async () => {
      const { contact } = await contactAt();
      const r = await ingest(await buildMail({ from: contact.email, headers: { 'X-Autoreply': 'yes' } }));
      expect(r).toMatchObject({ outcome: 'auto_reply', ticketId: null });
    });

    it("a known contact's monitoring mail opens a flagged ticket that gets no automatic answer", async () => {
      await updateSettings({ auto_acknowledge: true });
      try {
        const { contact } = await contactAt();
        const r = await ingest(await buildMail({ from: contact.email, subject: 'ALERT disk full', headers: { 'Auto-Submitted': 'auto-generated' } }));
        expect(r.outcome).toBe('ticket_created');
        const t = await db()('tickets').where({ id: r.ticketId }).first();
        expect(t.flags).toEqual(['machine_generated']);
        expect(await db()('outbound_emails').where({ ticket_id: t.id, template: 'ticket_acknowledgement' })).toHaveLength(0);
        const person = await ingest(await buildMail({ from: contact.email, subject: 'real person' }));
        expect(await db()('outbound_emails').where({ ticket_id: person.ticketId, template: 'ticket_acknowledgement' })).toHaveLength(1);
      } finally {
        await updateSettings({ auto_acknowledge: false });
      }
    });

    it('machine mail from an unknown sender is only recorded, never quarantined', async () => {
      const r = await ingest(await buildMail({ from: `jira-${tag}@unknown.test`, headers: { Precedence: 'bulk' } }));
      expect(r.outcome).toBe('auto_reply');
    });

    /** A DSN for `failed` (5.1.1 user unknown), sent to `to`, quoting the headers of `original`. */
    const dsnFor = (failed: string, to: string, original: string, id: string) => buildDsn({ failed, to, id, original: [original, 'Subject: [#ABC234] reply'] });

    it('a bounce to the VERP address of a message and recipient marks that message bounced and that address undeliverable', async () => {
      const { customer, contact } = await contactAt();
      const cc = await makeContact(customer);
      const ticket = await makeTicket({ agent, customer, contact });
      const out = await queueEmail({
        template: 'agent_reply',
        to: [{ address: contact.email }],
        cc: [{ address: cc.email }],
        ticketId: ticket.id,
        automatic: false,
      });
      await db()('outbound_emails').where({ id: out.id }).update({ state: 'sent' });
      const verp = verpAddress(mailbox.email, { outboundEmailId: out.id, recipientIndex: 1 });
      // the report names the primary contact, but the VERP address says the Cc recipient failed: only that one counts
      const r = await ingest(dsnFor(contact.email, verp, `Message-ID: ${out.message_id}`, `dsn-verp-${tag}`));
      expect(r.outcome).toBe('bounce');
      const o = await db()('outbound_emails').where({ id: out.id }).first();
      expect(o.state).toBe('bounced');
      expect(o.bounce_reason).toMatch(/5\.1\.1/);
      expect(await db()('undeliverable_addresses').where({ address: cc.email.toLowerCase() }).first()).toMatchObject({
        outbound_email_id: out.id,
        source: 'bounce',
      });
      expect(await db()('undeliverable_addresses').where({ address: contact.email.toLowerCase() })).toHaveLength(0);
    });

    it('a bounce linked only by the returned Message-ID marks the message and suppresses nobody; an unlinked one changes nothing', async () => {
      const { customer, contact } = await contactAt();
      const ticket = await makeTicket({ agent, customer, contact });
      const out = await queueEmail({ template: 'agent_reply', to: [{ address: contact.email }], ticketId: ticket.id, automatic: false });
      // while another recipient still waits for a retry the message stays queued: a report must not stop its delivery
      const stillQueued = await ingest(dsnFor(contact.email, mailbox.email, `Message-ID: ${out.message_id}`, `dsn-queued-${tag}`));
      expect(stillQueued.outcome).toBe('bounce');
      expect((await db()('outbound_emails').where({ id: out.id }).first()).state).toBe('queued');
      await db()('outbound_emails').where({ id: out.id }).update({ state: 'sent' });
      const byId = await ingest(dsnFor(contact.email, mailbox.email, `Message-ID: ${out.message_id}`, `dsn-id-${tag}`));
      expect(byId.outcome).toBe('bounce');
      expect((await db()('outbound_emails').where({ id: out.id }).first()).state).toBe('bounced');
      expect(await db()('undeliverable_addresses').where({ address: contact.email.toLowerCase() })).toHaveLength(0);
      // a stranger's DSN that answers nothing of ours (a forged VERP address included)
      const forged = verpAddress(mailbox.email, { outboundEmailId: out.id, recipientIndex: 0 }).replace(/-[0-9a-f]{16}@/, '-0000000000000000@');
      for (const [to, id] of [
        [mailbox.email, `dsn-none-${tag}`],
        [forged, `dsn-forged-${tag}`],
      ] as const) {
        const unlinked = await ingest(dsnFor(contact.email, to, 'Message-ID: <nothing-of-ours@elsewhere.test>', id));
        expect(unlinked).toMatchObject({ outcome: 'bounce', reason: 'unlinked' });
      }
      expect(await db()('undeliverable_addresses').where({ address: contact.email.toLowerCase() })).toHaveLength(0);
    });

    it('our own mail coming back is a loop', async () => {
      const raw = await buildMail({ from: mailbox.email, messageId: `<abc-${tag}@helpdesk.test>`, headers: { 'X-Helpdesk-Loop': 'helpdesk.test' } });
      expect((await ingest(raw)).outcome).toBe('loop');
      const fromUs = await buildMail({ from: mailbox.email });
      expect((await ingest(fromUs)).outcome).toBe('loop');
    });
  });

  describe('unknown senders', () => {
    it('quarantine (the default), then an agent assigns it', async () => {
      const r = await ingest(await buildMail({ from: `new.person-${tag}@nowhere.test`, subject: 'who am I' }));
      expect(r.outcome).toBe('quarantined');
      expect(await db()('contacts').whereRaw('lower(email) = ?', [`new.person-${tag}@nowhere.test`])).toHaveLength(0);
    });

    it('create_contact under the customer whose domain matches, else quarantine', async () => {
      const box = await via.makeBox({ unknown_sender: 'create_contact' });
      const customer = await makeCustomer({ email_domains: [`globex-${tag}.test`] });
      const r = await ingest(await buildMail({ from: `Hank <hank@globex-${tag}.test>` }), box);
      expect(r.outcome).toBe('ticket_created');
      const contact = await db()('contacts')
        .where({ email: `hank@globex-${tag}.test` })
        .first();
      expect(contact).toMatchObject({ contactable_id: customer.id, name: 'Hank' });
      const other = await ingest(await buildMail({ from: `x-${tag}@unmatched.test` }), box);
      expect(other.outcome).toBe('quarantined');
    });

    it('reject records it and queues a short notice each time (the mailer caps them per hour)', async () => {
      const box = await via.makeBox({ unknown_sender: 'reject' });
      const r = await ingest(await buildMail({ from: `spammer-${tag}@bad.test` }), box);
      expect(r.outcome).toBe('rejected');
      const notices = await db()('outbound_emails')
        .where({ template: 'unknown_sender_notice' })
        .whereRaw(`to_addresses->0->>'address' = ?`, [`spammer-${tag}@bad.test`]);
      expect(notices).toHaveLength(1);
      for (let i = 0; i < 12; i++) await ingest(await buildMail({ from: `spammer-${tag}@bad.test` }), box);
      const after = await db()('outbound_emails')
        .where({ template: 'unknown_sender_notice' })
        .whereRaw(`to_addresses->0->>'address' = ?`, [`spammer-${tag}@bad.test`]);
      expect(after).toHaveLength(13);
      expect(after.every((n) => n.automatic)).toBe(true); // so AUTO_MAIL_PER_HOUR applies (mailer.test.ts)
    });

    it("a stranger's out-of-office answering a ticket is recorded, linked to that ticket, with no effect", async () => {
      const { contact } = await contactAt();
      const first = await ingest(await buildMail({ from: contact.email, messageId: `<ooo-thread-${tag}@acme.test>` }));
      const before = await db()('replies').where({ ticket_id: first.ticketId }).count({ n: '*' });
      const r = await ingest(
        await buildMail({
          from: `away-${tag}@elsewhere.test`,
          inReplyTo: `<ooo-thread-${tag}@acme.test>`,
          subject: 'Out of office',
          headers: { 'Auto-Submitted': 'auto-replied' },
        }),
      );
      expect(r).toMatchObject({ outcome: 'auto_reply', ticketId: first.ticketId, replyId: null });
      expect(await db()('replies').where({ ticket_id: first.ticketId }).count({ n: '*' })).toEqual(before);
    });

    it('reject: a stranger answering inside a known thread is held for an agent, not rejected', async () => {
      const box = await via.makeBox({ unknown_sender: 'reject' });
      const { contact } = await contactAt();
      const first = await ingest(await buildMail({ from: contact.email, messageId: `<thread-${tag}@acme.test>` }), box);
      expect(first.outcome).toBe('ticket_created');
      const r = await ingest(await buildMail({ from: `colleague-${tag}@elsewhere.test`, inReplyTo: `<thread-${tag}@acme.test>`, subject: 'Re: help' }), box);
      expect(r).toMatchObject({ outcome: 'quarantined', ticketId: first.ticketId });
      expect(r.reason).toContain('held for an agent');
      const notices = await db()('outbound_emails')
        .where({ template: 'unknown_sender_notice' })
        .whereRaw(`to_addresses->0->>'address' = ?`, [`colleague-${tag}@elsewhere.test`]);
      expect(notices).toHaveLength(0);
    });
  });

  describe('agents answering by mail', () => {
    async function setup() {
      const { customer, contact } = await contactAt();
      const ticket = await makeTicket({ agent, customer, contact });
      const notification = await queueEmail({
        template: 'customer_reply_to_team',
        to: [{ address: agent.user.email }],
        ticketId: ticket.id,
        recipientUserId: agent.user.id,
        automatic: true,
      });
      return { contact, ticket, notification };
    }

    it('with a token issued to that agent: an agent reply sent on to the customer', async () => {
      const { contact, ticket } = await setup();
      const token = signReplyToken({ ticketNumber: ticket.number, recipient: { kind: 'user', id: agent.user.id } });
      const r = await ingest(await buildMail({ from: agent.user.email, to: replyAddress(mailbox.email, token), text: 'We fixed it.' }));
      expect(r).toMatchObject({ outcome: 'reply_added', ticketId: ticket.id });
      const reply = await db()('replies').where({ id: r.replyId }).first();
      expect(reply).toMatchObject({ author_type: 'App\\User', author_id: agent.user.id, customer_visible: true });
      const sent = await db()('outbound_emails').where({ reply_id: r.replyId, template: 'agent_reply' }).first();
      expect(sent.to_addresses).toEqual([{ name: contact.name, address: contact.email }]);
    });

    it('In-Reply-To a notification sent to that agent proves nothing (Message-IDs travel in other mail): quarantined', async () => {
      const { ticket, notification } = await setup();
      const r = await ingest(await buildMail({ from: agent.user.email, inReplyTo: notification.message_id }));
      expect(r).toMatchObject({ outcome: 'quarantined', ticketId: ticket.id });
      expect(await db()('replies').where({ ticket_id: ticket.id, author_type: 'App\\User' })).toHaveLength(0);
    });

    it('a token issued to that agent for another ticket does not prove a reply on the ticket the headers name', async () => {
      const { ticket, notification } = await setup();
      const { ticket: other } = await setup();
      const token = signReplyToken({ ticketNumber: other.number, recipient: { kind: 'user', id: agent.user.id } });
      const r = await ingest(await buildMail({ from: agent.user.email, to: replyAddress(mailbox.email, token), inReplyTo: notification.message_id }));
      expect(r).toMatchObject({ outcome: 'quarantined', ticketId: ticket.id });
      expect(await db()('replies').whereIn('ticket_id', [ticket.id, other.id]).where({ author_type: 'App\\User' })).toHaveLength(0);
    });

    it('a forged agent From without a token, or with a customer token, is quarantined', async () => {
      const { contact, ticket } = await setup();
      const bare = await ingest(await buildMail({ from: agent.user.email, subject: `Re: [#${ticket.number}]` }));
      expect(bare.outcome).toBe('quarantined');
      expect(bare.reason).toMatch(/forgeable/);
      const customerToken = signReplyToken({ ticketNumber: ticket.number, recipient: { kind: 'contact', id: contact.id } });
      const stolen = await ingest(await buildMail({ from: agent.user.email, to: replyAddress(mailbox.email, customerToken) }));
      expect(stolen.outcome).toBe('quarantined');
      expect(await db()('replies').where({ ticket_id: ticket.id, author_type: 'App\\User' })).toHaveLength(0);
    });
  });

  describe('bad mail', () => {
    it('too deep MIME is quarantined with the reason; the next message still goes through', async () => {
      let body = 'leaf';
      for (let i = 0; i < 25; i++) body = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${body}\r\n--b${i}--`;
      const raw = Buffer.from(`From: x@acme.test\r\nSubject: deep\r\nMessage-ID: <deep@x>\r\nMIME-Version: 1.0\r\n${body}\r\n`);
      const r = await ingest(raw);
      expect(r.outcome).toBe('quarantined');
      expect(r.reason).toMatch(/nests more than 20/);
      const { contact } = await contactAt();
      expect((await ingest(await buildMail({ from: contact.email }))).outcome).toBe('ticket_created');
    });

    // Dovecot refuses to store NUL bytes, so this one goes in directly only
    const directOnly = via === direct ? it : () => undefined;
    directOnly('garbage bytes are recorded, never thrown', async () => {
      const r = await ingest(Buffer.from([0, 1, 2, 255, 254, 10, 13, 0]));
      expect(['quarantined', 'failed', 'rejected', 'auto_reply']).toContain(r.outcome);
      expect(r.inboundEmailId).not.toBeNull();
    });
  });
});
