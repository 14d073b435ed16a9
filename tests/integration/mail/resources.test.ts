/**
 * The mailboxes and inbound_emails resources, and `helpdesk mail import`.
 */
import { db } from '../../../src/db/knex';
import { ingestMessage } from '../../../src/mail/inbound/ingest';
import { childEnv, runCli } from '../../helpers/cli';
import { api, useStaff, makeContact, makeCustomer, makeTicket } from '../../helpers/factories';
import { buildMail, makeMailbox } from '../../helpers/mail';
import { useTestDatabase } from '../../helpers/useTestDatabase';
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
      .send({ name: 'Support', email: 'Help@Acme.test', imap_host: '127.0.0.1', imap_port: 1143, imap_secure: false, imap_username: 'help', imap_password: 's3cret!' })
      .expect(201);
    expect(res.body).toMatchObject({ email: 'help@acme.test', has_password: true, after_import: 'seen', unknown_sender: 'quarantine', import_existing: 'unseen', imap_folder: 'INBOX' });
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
    const list = await api().get(`/api/v1/ticketing/inbound_emails?filter[outcome]=quarantined&filter[mailbox_id]=${mailbox.id}`).set(staff.agent.auth).expect(200);
    expect(list.body.map((x: { id: number }) => x.id)).toEqual([r.inboundEmailId]);
    const byId = await api().get(`/api/v1/ticketing/inbound_emails?filter[message_id]=${encodeURIComponent('<stranger-1@unknown.test>')}`).set(staff.agent.auth).expect(200);
    expect(byId.body).toHaveLength(1);
    const shown = await api().get(`/api/v1/ticketing/inbound_emails/${r.inboundEmailId}`).set(staff.agent.auth).expect(200);
    expect(shown.body).toMatchObject({ from: 'stranger@unknown.test', from_name: 'Stranger', subject: 'Help please', outcome: 'quarantined', size: raw.length });
    const rawRes = await api().get(`/api/v1/ticketing/inbound_emails/${r.inboundEmailId}/raw`).set(staff.agent.auth).buffer(true).parse((res, cb) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => cb(null, Buffer.concat(parts)));
    }).expect(200);
    expect((rawRes.body as Buffer).equals(raw)).toBe(true);

    const customer = await makeCustomer();
    const assigned = await api().post(`/api/v1/ticketing/inbound_emails/${r.inboundEmailId}/assign`).set(staff.agent.auth).send({ customer_id: customer.id }).expect(200);
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
    const assigned = await api().post(`/api/v1/ticketing/inbound_emails/${r.inboundEmailId}/assign`).set(staff.agent.auth).send({ ticket_id: ticket.id }).expect(200);
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
});
