/**
 * The suppression list: a bounce linked through the VERP address of a message we sent
 * lists the failed address with its reason and source message; agents read the list, an
 * admin clears an entry (API or CLI), and the mailer then sends to the address again.
 */
import { db } from '../../../src/db/knex';
import { ingestMessage } from '../../../src/mail/inbound/ingest';
import { verpAddress } from '../../../src/mail/verp';
import { queueEmail } from '../../../src/services/outbox/queueEmail';
import { childEnv, runCli } from '../../helpers/cli';
import { api, makeContact, makeCustomer, makeTicket, useStaff } from '../../helpers/factories';
import { buildDsn, makeMailbox } from '../../helpers/mail';
import { useTestDatabase } from '../../helpers/useTestDatabase';

const database = useTestDatabase();
jest.setTimeout(60_000);
const staff = useStaff();

async function bouncedContact(n: number) {
  const mailbox = await makeMailbox();
  const customer = await makeCustomer();
  const contact = await makeContact(customer, { email: `Gone.${n}.${process.pid}@acme.test` });
  const ticket = await makeTicket({ agent: staff.agent, customer, contact });
  const out = await queueEmail({ template: 'agent_reply', to: [{ address: contact.email }], ticketId: ticket.id, automatic: false });
  const r = await ingestMessage({
    mailbox,
    raw: buildDsn({ failed: contact.email, to: verpAddress(mailbox.email, { outboundEmailId: out.id, recipientIndex: 0 }), id: `sup${n}-${process.pid}` }),
  });
  return { contact, out, inboundId: r.inboundEmailId };
}

test('a linked bounce is listed with its reason and source; an agent cannot clear it, an admin can', async () => {
  const { contact, out, inboundId } = await bouncedContact(1);
  const address = contact.email.toLowerCase();
  const list = await api()
    .get('/api/v1/ticketing/suppressions')
    .query({ 'filter[address]': `GONE.1.${process.pid}` })
    .set(staff.agent.auth)
    .expect(200);
  expect(list.headers['x-total-count']).toBe('1');
  expect(list.body).toEqual([expect.objectContaining({ address, source: 'bounce', inbound_email_id: inboundId, outbound_email_id: out.id })]);
  expect(list.body[0].reason).toMatch(/5\.1\.1/);
  const id = list.body[0].id;
  await api().delete(`/api/v1/ticketing/suppressions/${id}`).set(staff.agent.auth).expect(403);
  await api().delete(`/api/v1/ticketing/suppressions/${id}`).set(staff.admin.auth).expect(200, { response: 'element deleted' });
  await api().delete(`/api/v1/ticketing/suppressions/${id}`).set(staff.admin.auth).expect(404);
  expect(await db()('undeliverable_addresses').where({ address })).toHaveLength(0);
});

test('helpdesk suppressions list and clear', async () => {
  const { contact } = await bouncedContact(2);
  const address = contact.email.toLowerCase();
  const env = childEnv({ DATABASE_URL: database.url(), HELPDESK_SECRET: process.env.HELPDESK_SECRET });
  const listed = await runCli(['suppressions', 'list', address], env);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toContain(address);
  expect(listed.stdout).toMatch(/5\.1\.1/);
  const cleared = await runCli(['suppressions', 'clear', contact.email], env);
  expect(cleared).toMatchObject({ code: 0 });
  expect(cleared.stdout).toContain(`cleared ${address}`);
  expect(await db()('undeliverable_addresses').where({ address })).toHaveLength(0);
  expect((await runCli(['suppressions', 'clear', address], env)).code).toBe(1);
  expect((await runCli(['suppressions', 'nonsense'], env)).code).toBe(64);
});
