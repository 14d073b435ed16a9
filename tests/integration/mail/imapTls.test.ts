/**
 * IMAP over TLS against Dovecot: STARTTLS on the plain port and TLS from the start on the
 * imaps port, both verifying the server's certificate (trusted through TLS_CA_FILE), as
 * Dovecot's own log of each login confirms; without that trust the login test fails on
 * the certificate.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, setConfig } from '../../../src/config';
import { db } from '../../../src/db/knex';
import { testImapLogin } from '../../../src/mail/imap/connection';
import { ImapRole } from '../../../src/mail/imap/imapRole';
import { DOVECOT_PASSWORD, Dovecot } from '../../helpers/dovecot';
import { makeContact, makeCustomer } from '../../helpers/factories';
import { buildMail, makeMailbox } from '../../helpers/mail';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { waitFor } from '../../helpers/waitFor';

jest.setTimeout(60_000);

let dovecot: Dovecot;
let caFile: string;
let role: ImapRole | undefined;
afterAll(async () => {
  await role?.stop();
  await dovecot?.destroy();
  setConfig(loadConfig());
});
useTestDatabase();

beforeAll(async () => {
  dovecot = await Dovecot.start({ tls: true });
  caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ca-')), 'ca.pem');
  fs.writeFileSync(caFile, dovecot.certificatePem!);
});

const account = (n: string, secure: boolean) => ({
  imap_host: '127.0.0.1',
  imap_port: secure ? dovecot.tlsPort : dovecot.port,
  imap_secure: secure,
  imap_username: `tls${process.pid}${n}`,
  imap_password: DOVECOT_PASSWORD,
});

test('without trust in its certificate the login test fails on the certificate', async () => {
  setConfig(loadConfig({ ...process.env, TLS_CA_FILE: undefined }));
  const box = await makeMailbox(account('a', true));
  const result = await testImapLogin(box);
  expect(result.ok).toBe(false);
  expect(result.error).toMatch(/certificate/i);
});

test('STARTTLS and implicit TLS, certificate trusted through TLS_CA_FILE: mail becomes tickets', async () => {
  setConfig(loadConfig({ ...process.env, TLS_CA_FILE: caFile }));
  const contact = await makeContact(await makeCustomer(), { email: `tls.customer.${process.pid}@acme.test` });
  const starttls = await makeMailbox(account('b', false));
  const implicit = await makeMailbox(account('c', true));
  for (const box of [starttls, implicit]) expect(await testImapLogin(box)).toMatchObject({ ok: true });
  role = new ImapRole({ pollMs: 500, backoffMaxMs: 1000 });
  await role.start();
  await waitFor(async () => (await db()('mailboxes').whereIn('id', [starttls.id, implicit.id]).whereNotNull('last_uid')).length === 2, {
    what: 'both mailboxes open',
  });
  for (const box of [starttls, implicit])
    await dovecot.append(box.imap_username!, [await buildMail({ from: contact.email, subject: `over TLS to ${box.id}` })]);
  await waitFor(
    async () => (await db()('inbound_emails').whereIn('mailbox_id', [starttls.id, implicit.id]).where({ outcome: 'ticket_created' })).length === 2,
    { what: 'tickets over TLS' },
  );
  await role.stop();
  role = undefined;
  // Dovecot logs how each session logged in: both went over TLS, not the plain channel.
  const log = fs.readFileSync(path.join(dovecot.dir, 'dovecot.log'), 'utf8').split('\n');
  for (const box of [starttls, implicit]) {
    const logins = log.filter((l) => l.includes('Login: user=<' + box.imap_username + '>'));
    expect(logins.length).toBeGreaterThan(0);
    for (const l of logins) expect(l).toMatch(/, TLS[,:]/);
  }
});
