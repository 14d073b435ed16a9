/**
 * The mailboxes and inbound_emails resources, and `helpdesk mail import`.
 */
import { db } from '../../../src/db/knex';
import { ingestMessage } from '../../../src/mail/inbound/ingest';
import { replyAddress, signReplyToken } from '../../../src/mail/replyToken';
import { updateSettings } from '../../../src/services/config/settings';
import { createToken } from '../../../src/services/auth/tokens';
import { createUser } from '../../../src/services/users/users';
import { readBlobBuffer } from '../../../src/services/blobs/blobStore';
import { BIN, childEnv, runCli } from '../../helpers/cli';
import { type Agent, api, useStaff, makeContact, makeCustomer, makeTicket } from '../../helpers/factories';
import { buildMail, makeMailbox } from '../../helpers/mail';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const database = useTestDatabase();
jest.setTimeout(60_000);

const staff = useStaff();

describe('/api/v1/ticketing/mailboxes', () => {
  it('CRUD with a write-only, encrypted password', async () => {
    const res = await api()
      .post('/api/v1/ticketing/mailboxes')
      .set(staff.admin.auth)
      .send({
        name: 'Support',
        email: 'Help@Acme.test',
        imap_host: '127.0.0.1',
        imap_port: 1143,
        imap_secure: false,
        imap_username: 'help',
        imap_password: 's3cret!',
      })
      .expect(201);
    expect(res.body).toMatchObject({
      email: 'help@acme.test',
      has_password: true,
      after_import: 'seen',
      unknown_sender: 'quarantine',
      import_existing: 'unseen',
      imap_folder: 'INBOX',
    });
    expect(JSON.stringify(res.body)).not.toContain('s3cret');
    const row = await db()('mailboxes').where({ id: res.body.id }).first();
    expect(row.imap_password_encrypted).toMatch(/^v1:/);
    expect(row.imap_password_encrypted).not.toContain('s3cret');
    await api().post('/api/v1/ticketing/mailboxes').set(staff.admin.auth).send({ name: 'x', email: 'help@acme.test' }).expect(409);
    await api().post('/api/v1/ticketing/mailboxes').set(staff.admin.auth).send({ name: 'x', email: 'x@acme.test', after_import: 'move' }).expect(400);
    await api().post('/api/v1/ticketing/mailboxes').set(staff.admin.auth).send({ name: 'x', email: 'not-an-email' }).expect(400);
    await api().post('/api/v1/ticketing/mailboxes').set(staff.agent.auth).send({ name: 'x', email: 'y@acme.test' }).expect(403);
    const upd = await api().put(`/api/v1/ticketing/mailboxes/${res.body.id}`).set(staff.admin.auth).send({ after_import: 'move', move_to: 'Done' }).expect(200);
    expect(upd.body).toMatchObject({ after_import: 'move', move_to: 'Done' });
    const test = await api().post(`/api/v1/ticketing/mailboxes/${res.body.id}/test`).set(staff.admin.auth).expect(200);
    expect(test.body.ok).toBe(false);
    expect(test.body.error).toBeTruthy();
    await api().delete(`/api/v1/ticketing/mailboxes/${res.body.id}`).set(staff.admin.auth).expect(200);
  });
});

describe('/api/v1/ticketing/inbound_emails', () => {
  it('lists with filters, shows, gives the raw message, and assigns a quarantined one', async () => {
    const mailbox = await makeMailbox();
    const raw = await buildMail({ from: 'Stranger <stranger@unknown.test>', subject: 'Help please', messageId: '<stranger-1@unknown.test>' });
    const r = await ingestMessage({ mailbox, raw });
    expect(r.outcome).toBe('quarantined');
    const list = await api()
      .get(`/api/v1/ticketing/inbound_emails?filter[outcome]=quarantined&filter[mailbox_id]=${mailbox.id}`)
      .set(staff.agent.auth)
      .expect(200);
    expect(list.body.map((x: { id: number }) => x.id)).toEqual([r.inboundEmailId]);
    const byId = await api()
      .get(`/api/v1/ticketing/inbound_emails?filter[message_id]=${encodeURIComponent('<stranger-1@unknown.test>')}`)
      .set(staff.agent.auth)
      .expect(200);
    expect(byId.body).toHaveLength(1);
    const shown = await api().get(`/api/v1/ticketing/inbound_emails/${r.inboundEmailId}`).set(staff.agent.auth).expect(200);
    expect(shown.body).toMatchObject({
      from: 'stranger@unknown.test',
      from_name: 'Stranger',
      subject: 'Help please',
      outcome: 'quarantined',
      size: raw.length,
    });
    const rawRes = await api()
      .get(`/api/v1/ticketing/inbound_emails/${r.inboundEmailId}/raw`)
      .set(staff.agent.auth)
      .buffer(true)
      .parse((res, cb) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => cb(null, Buffer.concat(parts)));
      })
      .expect(200);
    expect((rawRes.body as Buffer).equals(raw)).toBe(true);

    const customer = await makeCustomer();
    const assigned = await api()
      .post(`/api/v1/ticketing/inbound_emails/${r.inboundEmailId}/assign`)
      .set(staff.agent.auth)
      .send({ customer_id: customer.id })
      .expect(200);
    expect(assigned.body.outcome).toBe('ticket_created');
    const ticket = await db()('tickets').where({ id: assigned.body.ticket_id }).first();
    expect(ticket).toMatchObject({ ticketable_id: customer.id, subject: 'Help please', origin: 'email' });
    expect(await db()('contacts').where({ email: 'stranger@unknown.test', contactable_id: customer.id })).toHaveLength(1);
    await api().post(`/api/v1/ticketing/inbound_emails/${r.inboundEmailId}/assign`).set(staff.agent.auth).send({ customer_id: customer.id }).expect(409);
  });

  it('assigns a quarantined message as a reply on a ticket', async () => {
    const mailbox = await makeMailbox();
    const customer = await makeCustomer();
    const contact = await makeContact(customer);
    const ticket = await makeTicket({ agent: staff.agent, customer, contact });
    const r = await ingestMessage({ mailbox, raw: await buildMail({ from: 'cc.person@elsewhere.test', text: 'Adding my two cents.' }) });
    const assigned = await api()
      .post(`/api/v1/ticketing/inbound_emails/${r.inboundEmailId}/assign`)
      .set(staff.agent.auth)
      .send({ ticket_id: ticket.id })
      .expect(200);
    expect(assigned.body).toMatchObject({ outcome: 'reply_added', ticket_id: ticket.id });
    const reply = await db()('replies').where({ id: assigned.body.reply_id }).first();
    expect(reply.body).toBe('<p>Adding my two cents.</p>');
    await api().post(`/api/v1/ticketing/inbound_emails/${r.inboundEmailId}/assign`).set(staff.agent.auth).send({}).expect(400);
    await api().post(`/api/v1/ticketing/inbound_emails/999999/assign`).set(staff.agent.auth).send({ ticket_id: ticket.id }).expect(404);
  });

  it('retries a failed message and refuses to retry others', async () => {
    const mailbox = await makeMailbox();
    const customer = await makeCustomer();
    const contact = await makeContact(customer);
    const raw = await buildMail({ from: contact.email, messageId: '<will-fail@x.test>' });
    const r = await ingestMessage({ mailbox, raw });
    await db()('inbound_emails').where({ id: r.inboundEmailId }).update({ outcome: 'failed', ticket_id: null, error: 'simulated' });
    await db()('tickets').where({ id: r.ticketId }).delete();
    const retried = await api().post(`/api/v1/ticketing/inbound_emails/${r.inboundEmailId}/retry`).set(staff.agent.auth).expect(200);
    expect(retried.body.outcome).toBe('ticket_created');
    expect(retried.body.inboundEmailId).toBe(r.inboundEmailId);
    await api().post(`/api/v1/ticketing/inbound_emails/${r.inboundEmailId}/retry`).set(staff.agent.auth).expect(409);
    await api().get('/api/v1/ticketing/inbound_emails?filter[outcome]=nonsense').set(staff.agent.auth).expect(400);
  });
});

describe('assign: one rule for who wrote it', () => {
  let seq = 0;
  /** An agent with an alternate address, written in mixed case in mail. */
  async function agentWithAlias(): Promise<Agent & { alias: string }> {
    const n = `${process.pid}x${++seq}`;
    const user = await createUser({ name: `Forwarding Agent ${n}`, email: `fwd${n}@helpdesk.test`, alternate_emails: [`Alias${n}@Helpdesk.test`] });
    const token = await createToken({ userId: user.id });
    return { user, token, auth: { Authorization: `Bearer ${token}` }, alias: `alias${n}@helpdesk.test` };
  }
  const assign = (id: number | null, body: object) => api().post(`/api/v1/ticketing/inbound_emails/${id}/assign`).set(staff.agent.auth).send(body);

  it("the pipeline knows an agent by an alternate address: with the agent's token, an agent reply", async () => {
    const mailbox = await makeMailbox();
    const agent = await agentWithAlias();
    const ticket = await makeTicket({ agent: staff.agent });
    const token = signReplyToken({ ticketNumber: ticket.number, recipient: { kind: 'user', id: agent.user.id } });
    const r = await ingestMessage({
      mailbox,
      raw: await buildMail({ from: `Agent <${agent.alias.toUpperCase()}>`, to: replyAddress(mailbox.email, token), text: 'Done.' }),
    });
    expect(r).toMatchObject({ outcome: 'reply_added', ticketId: ticket.id });
    expect(await db()('replies').where({ id: r.replyId }).first()).toMatchObject({ author_type: 'App\\User', author_id: agent.user.id });
  });

  it("mail from an agent's alternate address, assigned to a customer or a ticket, never makes the agent a contact", async () => {
    const mailbox = await makeMailbox();
    const agent = await agentWithAlias();
    const customer = await makeCustomer();
    const first = await ingestMessage({
      mailbox,
      raw: await buildMail({ from: `Agent <${agent.alias}>`, subject: 'A note of mine', text: 'Something to track.' }),
    });
    expect(first.outcome).toBe('quarantined');
    const created = await assign(first.inboundEmailId, { customer_id: customer.id }).expect(200);
    expect(created.body).toMatchObject({ outcome: 'ticket_created' });
    const ticket = await db()('tickets').where({ id: created.body.ticket_id }).first();
    expect(ticket).toMatchObject({ ticketable_id: customer.id, author_type: 'App\\User', author_id: agent.user.id, contact_id: null });

    // on a ticket: the agent's internal note, sent to nobody, changing nothing
    const contact = await makeContact(customer);
    const other = await makeTicket({ agent: staff.agent, customer, contact });
    const second = await ingestMessage({
      mailbox,
      raw: await buildMail({ from: agent.alias, subject: `Re: [#${other.number}]`, text: 'Told them by phone.' }),
    });
    expect(second.outcome).toBe('quarantined');
    const noted = await assign(second.inboundEmailId, { ticket_id: other.id }).expect(200);
    expect(noted.body).toMatchObject({ outcome: 'reply_added', ticket_id: other.id });
    const note = await db()('replies').where({ id: noted.body.reply_id }).first();
    expect(note).toMatchObject({ author_type: 'App\\User', author_id: agent.user.id, customer_visible: false, contact_id: null });
    expect(await db()('outbound_emails').where({ reply_id: note.id })).toHaveLength(0);
    expect(await db()('tickets').where({ id: other.id }).first()).toMatchObject({ exchanges: other.exchanges, status_id: other.status_id });

    expect(await db()('contacts').whereRaw('lower(email) in (?, ?)', [agent.alias, agent.user.email])).toHaveLength(0);
  });

  it("an agent's forward with customer_id is a ticket of that customer, for the forwarded sender when that is one of its contacts", async () => {
    await updateSettings({ auto_acknowledge: true });
    try {
      const mailbox = await makeMailbox();
      const agent = await agentWithAlias();
      const customer = await makeCustomer();
      const contact = await makeContact(customer, { name: 'Pat Customer' });
      const forwarded = [
        'Can you look at this one?',
        '',
        '---------- Forwarded message ---------',
        `From: Pat Customer <${contact.email.toUpperCase()}>`,
        'Date: Mon, 3 Jun 2024 09:12:00 +0000',
        'Subject: Printer on fire',
        `To: ${agent.user.email}`,
        '',
        'The printer is on fire.',
      ].join('\n');
      const r = await ingestMessage({ mailbox, raw: await buildMail({ from: agent.user.email, subject: 'Fwd: Printer on fire', text: forwarded }) });
      expect(r.outcome).toBe('quarantined');
      const res = await assign(r.inboundEmailId, { customer_id: customer.id }).expect(200);
      expect(res.body).toMatchObject({ outcome: 'ticket_created' });
      const ticket = await db()('tickets').where({ id: res.body.ticket_id }).first();
      expect(ticket).toMatchObject({ ticketable_id: customer.id, contact_id: contact.id, author_type: 'App\\User', author_id: agent.user.id, origin: 'email' });
      expect(ticket.body).toContain('The printer is on fire.');
      expect(await db()('ticket_contacts').where({ ticket_id: ticket.id }).pluck('contact_id')).toEqual([contact.id]);
      // nothing went to the customer, nor back to the agent
      expect(await db()('outbound_emails').where({ ticket_id: ticket.id, template: 'ticket_acknowledgement' })).toHaveLength(0);
      expect(await db()('contacts').where({ email: agent.user.email })).toHaveLength(0);

      // forwarded as an attached message, naming a contact of another customer: no contact at all
      const stranger = await makeContact(await makeCustomer());
      const original = await buildMail({ from: `Someone <${stranger.email}>`, subject: 'Elsewhere', text: 'Not yours.' });
      const attached = await ingestMessage({
        mailbox,
        raw: await buildMail({
          from: agent.alias,
          subject: 'Fwd: Elsewhere',
          text: 'See attached.',
          attachments: [{ filename: 'original.eml', content: original, contentType: 'message/rfc822' }],
        }),
      });
      const other = await assign(attached.inboundEmailId, { customer_id: customer.id }).expect(200);
      const second = await db()('tickets').where({ id: other.body.ticket_id }).first();
      expect(second).toMatchObject({ ticketable_id: customer.id, contact_id: null, author_type: 'App\\User', author_id: agent.user.id });
      expect(await db()('ticket_contacts').where({ ticket_id: second.id })).toHaveLength(0);
    } finally {
      await updateSettings({ auto_acknowledge: false });
    }
  });

  it("an agent's forward as an attached message names the customer", async () => {
    const mailbox = await makeMailbox();
    const agent = await agentWithAlias();
    const customer = await makeCustomer();
    const contact = await makeContact(customer);
    const original = await buildMail({ from: `Pat <${contact.email}>`, subject: 'Broken', text: 'It broke.' });
    const r = await ingestMessage({
      mailbox,
      raw: await buildMail({
        from: agent.user.email,
        subject: 'Fwd: Broken',
        text: 'See attached.',
        attachments: [{ filename: 'original.eml', content: original, contentType: 'message/rfc822' }],
      }),
    });
    const res = await assign(r.inboundEmailId, { customer_id: customer.id }).expect(200);
    expect(await db()('tickets').where({ id: res.body.ticket_id }).first()).toMatchObject({ ticketable_id: customer.id, contact_id: contact.id });
  });

  it("with customer_id, mail from another customer's contact is filed under the chosen customer and that contact is not linked", async () => {
    const mailbox = await makeMailbox();
    const theirs = await makeCustomer();
    const chosen = await makeCustomer();
    const address = `wanderer${process.pid}x${++seq}@elsewhere.test`;
    const r = await ingestMessage({ mailbox, raw: await buildMail({ from: `Wanderer <${address}>`, subject: 'About the other account', text: 'Hello.' }) });
    expect(r.outcome).toBe('quarantined');
    // meanwhile someone makes them a contact of their own company
    const contact = await makeContact(theirs, { email: address });
    const res = await assign(r.inboundEmailId, { customer_id: chosen.id }).expect(200);
    expect(res.body).toMatchObject({ outcome: 'ticket_created' });
    expect(res.body.flags).toContain('other_customer');
    const ticket = await db()('tickets').where({ id: res.body.ticket_id }).first();
    expect(ticket).toMatchObject({ ticketable_id: chosen.id, contact_id: null });
    expect(await db()('ticket_contacts').where({ ticket_id: ticket.id })).toHaveLength(0);
    expect(await db()('contacts').where({ id: contact.id }).first()).toMatchObject({ contactable_id: theirs.id });
    expect(await db()('contacts').whereRaw('lower(email) = ?', [address])).toHaveLength(1);
  });
});

describe('what the inbound_emails API shows', () => {
  it('an error as its class and first line: never a stack, a path or SQL; no internal fields', async () => {
    const mailbox = await makeMailbox();
    const customer = await makeCustomer();
    const contact = await makeContact(customer);
    const r = await ingestMessage({ mailbox, raw: await buildMail({ from: contact.email }) });
    const stack = [
      'error 23505: insert into "tickets" ("body", "number") values ($1, $2) - duplicate key value violates unique constraint "tickets_number_unique"',
      '    at Parser.parseErrorMessage (/work/main/node_modules/pg-protocol/dist/parser.js:287:98)',
      '    at ingestBatch (/work/main/src/mail/inbound/ingest.ts:260:5)',
    ].join('\n');
    await db()('inbound_emails').where({ id: r.inboundEmailId }).update({ outcome: 'failed', error: stack });
    const shown = await api().get(`/api/v1/ticketing/inbound_emails/${r.inboundEmailId}`).set(staff.agent.auth).expect(200);
    expect(shown.body.error).toBe('error 23505: duplicate key value violates unique constraint "tickets_number_unique"');
    for (const hidden of ['raw_sha256', 'imap_uid']) expect(shown.body).not.toHaveProperty(hidden);
    expect(shown.body).toMatchObject({
      mailbox_id: mailbox.id,
      from: contact.email,
      outcome: 'failed',
      size: expect.any(Number),
      attachments_count: 0,
      flags: [],
    });

    await db()('inbound_emails').where({ id: r.inboundEmailId }).update({
      error:
        "TypeError: Cannot read properties of undefined (reading 'id') at decide (/srv/helpdesk/src/mail/inbound/ingest.ts:212:14)\n    at next (node:internal/process/task_queues:95:5)",
    });
    const list = await api().get(`/api/v1/ticketing/inbound_emails?filter[mailbox_id]=${mailbox.id}`).set(staff.agent.auth).expect(200);
    expect(list.body[0].error).toBe("TypeError: Cannot read properties of undefined (reading 'id') at decide (…)");
    const text = JSON.stringify(list.body);
    for (const leak of ['/srv/', '/work/', 'node_modules', 'node:internal', '\\n', 'insert into', 'raw_sha256']) expect(text).not.toContain(leak);
  });
});

describe('helpdesk mail import', () => {
  it('stores a message from a file or stdin and exits 0; 75 when the database is down', async () => {
    const mailbox = await makeMailbox();
    const customer = await makeCustomer();
    const contact = await makeContact(customer);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mail-import-')), 'msg.eml');
    fs.writeFileSync(file, await buildMail({ from: contact.email, subject: 'From the MTA' }));
    const env = childEnv({ DATABASE_URL: database.url(), HELPDESK_SECRET: process.env.HELPDESK_SECRET });
    const ok = await runCli(['mail', 'import', '--mailbox', mailbox.email, file], env);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ outcome: 'ticket_created' });
    const again = await runCli(['mail', 'import', '--mailbox', String(mailbox.id), file], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).outcome).toBe('duplicate');
    const down = await runCli(['mail', 'import', '--mailbox', mailbox.email, file], { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    expect(down.code).toBe(75);
    const unknown = await runCli(['mail', 'import', '--mailbox', 'nobody@nowhere.test', file], env);
    expect(unknown.code).toBe(64);
  });

  it('holds a message over INBOUND_MAX_BYTES, from a file or stdin, with only its start read and kept', async () => {
    const mailbox = await makeMailbox();
    const contact = await makeContact(await makeCustomer());
    const limit = 64 * 1024;
    const env = childEnv({ DATABASE_URL: database.url(), HELPDESK_SECRET: process.env.HELPDESK_SECRET, INBOUND_MAX_BYTES: String(limit) });
    for (const via of ['file', 'stdin']) {
      const raw = await buildMail({ from: contact.email, subject: `Big via ${via}`, text: 'y'.repeat(400 * 1024) });
      let out: { code: number | null; stdout: string };
      if (via === 'file') {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mail-import-')), 'big.eml');
        fs.writeFileSync(file, raw);
        out = await runCli(['mail', 'import', '--mailbox', mailbox.email, file], env);
      } else {
        out = await cliWithStdin(['mail', 'import', '--mailbox', mailbox.email, '-'], env, raw);
      }
      expect([via, out.code]).toEqual([via, 0]);
      const { inboundEmailId } = JSON.parse(out.stdout);
      const row = await db()('inbound_emails').where({ id: inboundEmailId }).first();
      expect(row).toMatchObject({ outcome: 'quarantined', size: raw.length, subject: `Big via ${via}` });
      expect(row.reason).toBe(`the message is ${raw.length} bytes, over the ${limit} byte limit; only its first ${limit} bytes were fetched and kept`);
      expect((await readBlobBuffer(db(), row.raw_sha256)).equals(raw.subarray(0, limit))).toBe(true);
    }
    // under the limit, stdin gives the whole message
    const small = await buildMail({ from: contact.email, subject: 'Small via stdin' });
    const out = await cliWithStdin(['mail', 'import', '--mailbox', mailbox.email], env, small);
    const row = await db()('inbound_emails')
      .where({ id: JSON.parse(out.stdout).inboundEmailId })
      .first();
    expect(row).toMatchObject({ outcome: 'ticket_created', size: small.length });
    expect((await readBlobBuffer(db(), row.raw_sha256)).equals(small)).toBe(true);
  });
});

/** `helpdesk ...args` with `input` on its stdin. */
function cliWithStdin(args: string[], env: NodeJS.ProcessEnv, input: Buffer): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
    child.stdin.end(input);
  });
}
