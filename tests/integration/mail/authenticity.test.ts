/**
 * Authenticity of inbound mail (issue 13) against real services: a DNS server in this
 * process on 127.0.0.1 serving test zones (SPF policies, a DKIM key made here, DMARC
 * policies), a silent one for timeouts, the pipeline's own entry point (which checks in
 * the CPU pool's threads) and PostgreSQL.
 */
import crypto from 'node:crypto';
import { dkimSign } from 'mailauth';
import { config, setConfig } from '../../../src/config';
import { db } from '../../../src/db/knex';
import { dnsResolverFor } from '../../../src/mail/dnsResolver';
import { ingestMessage } from '../../../src/mail/inbound/ingest';
import { prepareMessage } from '../../../src/mail/inbound/prepare';
import type { Mailbox } from '../../../src/models/Mailbox';
import { SilentServer, ZoneServer } from '../../helpers/dnsServer';
import { api, makeContact, makeCustomer, useStaff } from '../../helpers/factories';
import { buildMail, makeMailbox } from '../../helpers/mail';
import { useTestDatabase } from '../../helpers/useTestDatabase';

useTestDatabase();
const staff = useStaff();
jest.setTimeout(30_000);

const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const dkimKey = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const SIGNED_IP = '192.0.2.10';
const BANK_IP = '192.0.2.20';

let zone: ZoneServer;
let silent: SilentServer;
const original = config();

const useDns = (address: string) => setConfig({ ...original, dnsServers: [address] });

beforeAll(async () => {
  zone = await ZoneServer.start({
    'signed.test': [`v=spf1 ip4:${SIGNED_IP} -all`],
    'sel._domainkey.signed.test': [`v=DKIM1; k=rsa; p=${dkimKey}`],
    '_dmarc.signed.test': ['v=DMARC1; p=quarantine'],
    'bank.test': [`v=spf1 ip4:${BANK_IP} -all`],
    '_dmarc.bank.test': ['v=DMARC1; p=reject'],
  });
  silent = await SilentServer.start();
  useDns(zone.address);
});
afterAll(async () => {
  setConfig(original);
  await zone?.stop();
  await silent?.stop();
});

/** The headers the receiving server adds on top: the envelope sender (MAIL FROM) and its client's IP. */
const received = (ip: string, mailFrom: string, helo = 'mail.sender.test') =>
  `Return-Path: <${mailFrom}>\r\nReceived: from ${helo} (${helo} [${ip}]) by mx.helpdesk.test (Postfix) with ESMTPS id 4Q; Mon, 1 Jun 2026 10:00:00 +0000\r\n`;

/** The DKIM-Signature header of `raw` under `domain` and `selector`, with the key made above. */
async function dkimSignature(raw: string, domain: string, selector: string): Promise<string> {
  const key = { signingDomain: domain, selector, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
  const { signatures, errors } = await dkimSign(raw, { ...key, signatureData: [key] });
  expect(errors).toEqual([]);
  expect(signatures).toMatch(/^DKIM-Signature: /);
  return signatures;
}

/** A message signed with the zone's key (d=signed.test, s=sel). */
async function signed(spec: Parameters<typeof buildMail>[0]): Promise<string> {
  const raw = (await buildMail(spec)).toString('latin1');
  return (await dkimSignature(raw, 'signed.test', 'sel')) + raw;
}

async function contactAt(domain: string) {
  const customer = await makeCustomer({ email_domains: [domain] });
  return makeContact(customer, { email: `person${Math.random().toString(36).slice(2, 8)}@${domain}` });
}

const inbound = (id: number | null) => db()('inbound_emails').where({ id }).first();
const ingest = (mailbox: Mailbox, raw: string | Buffer) => ingestMessage({ mailbox, raw: Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'latin1') });

describe('verify (mailauth and DNS)', () => {
  let record: Mailbox;
  let enforce: Mailbox;
  beforeAll(async () => {
    record = await makeMailbox({ authenticity: 'record' });
    enforce = await makeMailbox({ authenticity: 'enforce' });
  });

  it('passes a message DKIM-signed with the zone key from an SPF-permitted client; the ticket and its reply show pass', async () => {
    const contact = await contactAt('signed.test');
    const raw =
      received(SIGNED_IP, contact.email) + (await signed({ from: contact.email, subject: 'Signed and sent right', messageId: '<signed-1@signed.test>' }));
    const r = await ingest(record, raw);
    expect(r.outcome).toBe('ticket_created');
    const row = await inbound(r.inboundEmailId);
    expect(row.auth).toEqual({
      source: 'verify',
      spf: { result: 'pass', domain: 'signed.test', client_ip: SIGNED_IP },
      dkim: { result: 'pass', signatures: [{ result: 'pass', domain: 'signed.test', selector: 'sel' }] },
      dmarc: { result: 'pass', domain: 'signed.test', policy: 'quarantine' },
      arc: { result: 'none' },
      from_domain: 'signed.test',
      summary: 'pass',
    });
    expect((await db()('tickets').where({ id: r.ticketId }).first()).auth_summary).toBe('pass');

    const shown = await api().get(`/api/v1/ticketing/inbound_emails/${r.inboundEmailId}`).set(staff.admin.auth).expect(200);
    expect(shown.body.auth).toMatchObject({ source: 'verify', summary: 'pass', dkim: { result: 'pass' } });

    // a reply (signed, threaded by In-Reply-To) keeps its own verdict
    const reply = await ingest(
      record,
      received(SIGNED_IP, contact.email) + (await signed({ from: contact.email, subject: 'Re: Signed', inReplyTo: '<signed-1@signed.test>' })),
    );
    expect(reply.outcome).toBe('reply_added');
    expect((await db()('replies').where({ id: reply.replyId }).first()).auth_summary).toBe('pass');

    // what the API shows on the ticket and its replies
    const ticket = await api().get(`/api/v1/tickets/${r.ticketId}`).set(staff.agent.auth).expect(200);
    expect(ticket.body.auth_summary).toBe('pass');
    const replies = await api().get(`/api/v1/replies?ticket_id=${r.ticketId}`).set(staff.agent.auth).expect(200);
    expect(replies.body.find((x: { id: number }) => x.id === reply.replyId).auth_summary).toBe('pass');
  });

  it('fails the DKIM signature of the same message with one header altered after signing', async () => {
    const contact = await contactAt('signed.test');
    const raw = (await signed({ from: contact.email, subject: 'The original subject' })).replace(
      'Subject: The original subject',
      'Subject: The altered subject',
    );
    const r = await ingest(record, raw);
    const row = await inbound(r.inboundEmailId);
    expect(row.auth.dkim).toEqual({ result: 'fail', signatures: [{ result: 'fail', domain: 'signed.test', selector: 'sel' }] });
    // no Received header with a client: SPF none; DMARC has nothing aligned
    expect(row.auth).toMatchObject({ spf: { result: 'none' }, dmarc: { result: 'fail' }, summary: 'fail' });
    // record changes nothing
    expect(r.outcome).toBe('ticket_created');
    expect((await db()('tickets').where({ id: r.ticketId }).first()).auth_summary).toBe('fail');
  });

  it('quarantines a forged From of a p=reject domain from a known contact as spoofed under enforce, threaded nowhere', async () => {
    const contact = await contactAt('bank.test');
    const first = await ingest(
      enforce,
      received(BANK_IP, contact.email) +
        (await buildMail({ from: contact.email, subject: 'Real question', messageId: '<real-1@bank.test>' })).toString('latin1'),
    );
    expect(first.outcome).toBe('ticket_created');
    const ticket = await db()('tickets').where({ id: first.ticketId }).first();
    expect(ticket.auth_summary).toBe('pass'); // SPF pass, aligned

    const forged =
      received('203.0.113.66', contact.email) +
      (await buildMail({ from: contact.email, subject: `Re: [#${ticket.number}] pay this invoice`, inReplyTo: '<real-1@bank.test>' })).toString('latin1');
    const r = await ingest(enforce, forged);
    expect(r).toMatchObject({ outcome: 'quarantined', reason: 'spoofed', ticketId: null, replyId: null });
    const row = await inbound(r.inboundEmailId);
    expect(row).toMatchObject({ outcome: 'quarantined', reason: 'spoofed', ticket_id: null, flags: ['spoofed'] });
    expect(row.auth).toMatchObject({
      spf: { result: 'fail', client_ip: '203.0.113.66' },
      dmarc: { result: 'fail', domain: 'bank.test', policy: 'reject' },
      summary: 'fail',
    });
    expect(await db()('replies').where({ ticket_id: ticket.id })).toEqual([]);

    // what an admin sees
    const listed = await api()
      .get(`/api/v1/ticketing/inbound_emails?filter[outcome]=quarantined&filter[mailbox_id]=${enforce.id}`)
      .set(staff.admin.auth)
      .expect(200);
    expect(listed.body.find((e: { id: number }) => e.id === r.inboundEmailId)).toMatchObject({
      reason: 'spoofed',
      flags: ['spoofed'],
      auth: { summary: 'fail', dmarc: { result: 'fail' } },
    });

    // the same under record: a reply as usual, marked fail
    const recorded = await ingest(record, forged.replace('Re: [#', 'Re: again [#'));
    expect(recorded.outcome).toBe('reply_added');
  });

  it('under enforce, create_contact makes a contact only for a passing sender', async () => {
    const box = await makeMailbox({ authenticity: 'enforce', unknown_sender: 'create_contact' });
    await makeCustomer({ email_domains: ['bank.test'] });
    const stranger = await ingest(
      box,
      received('203.0.113.9', 'new.person@bank.test') + (await buildMail({ from: 'new.person@bank.test' })).toString('latin1'),
    );
    expect(stranger.outcome).toBe('quarantined');
    expect(stranger.reason).toMatch(/no contact is created: the mailbox enforces authenticity and the message's verdict is fail/);
    const passing = await ingest(box, received(BANK_IP, 'other.person@bank.test') + (await buildMail({ from: 'other.person@bank.test' })).toString('latin1'));
    expect(passing.outcome).toBe('ticket_created');
  });

  it('takes NXDOMAIN for the domain as an answer: no key, no policy, and the verdict is fail, not temperror', async () => {
    const raw = (await buildMail({ from: 'someone@nowhere.test' })).toString('latin1');
    const r = await ingest(record, received('198.51.100.1', 'someone@nowhere.test') + (await dkimSignature(raw, 'nowhere.test', 'x')) + raw);
    const row = await inbound(r.inboundEmailId);
    expect(row.auth).toMatchObject({ spf: { result: 'none' }, dkim: { result: 'neutral' }, dmarc: { result: 'none' }, summary: 'fail' });
  });

  it('asks the DNS once per name and type (cached in each pool thread)', async () => {
    const contact = await contactAt('signed.test');
    const raws = await Promise.all([1, 2, 3].map(async () => Buffer.from(await signed({ from: contact.email }), 'latin1')));
    const asked = () => zone.asked('TXT sel._domainkey.signed.test');
    const before = asked();
    // read together: one chunk, one thread, one question at most (none when that thread asked before)
    const together = await Promise.all(raws.map((raw) => prepareMessage(record, raw)));
    expect(together.map((m) => m.auth?.dkim.result)).toEqual(['pass', 'pass', 'pass']);
    expect(asked() - before).toBeLessThanOrEqual(1);
    // one after the other: only a thread that has not asked yet asks
    const afterChunk = asked();
    for (const raw of raws) expect((await prepareMessage(record, raw)).auth?.summary).toBe('pass');
    expect(asked() - afterChunk).toBeLessThanOrEqual(config().inboundCpuThreads - 1);
  });

  it('gives temperror when the DNS server never answers, within the budget, and the message goes on', async () => {
    useDns(silent.address);
    try {
      const contact = await contactAt('signed.test');
      const started = Date.now();
      const r = await ingest(enforce, received(SIGNED_IP, contact.email) + (await signed({ from: contact.email, subject: 'While the DNS is down' })));
      expect(Date.now() - started).toBeLessThan(3000);
      expect(r.outcome).toBe('ticket_created');
      const row = await inbound(r.inboundEmailId);
      expect(row.auth).toMatchObject({
        spf: { result: 'temperror' },
        dkim: { result: 'temperror' },
        dmarc: { result: 'temperror' },
        summary: 'none',
      });
      expect((await db()('tickets').where({ id: r.ticketId }).first()).auth_summary).toBe('none');
    } finally {
      useDns(zone.address);
    }
  });
});

describe('trusted_header', () => {
  let box: Mailbox;
  beforeAll(async () => {
    box = await makeMailbox({ authenticity: 'enforce', auth_source: 'trusted_header', authserv_id: 'mx.helpdesk.test' });
  });
  const withHeader = async (header: string, from: string) => `Authentication-Results: ${header}\r\n${(await buildMail({ from })).toString('latin1')}`;

  it("takes the server's verdict from the topmost header with its authserv-id, and asks no DNS", async () => {
    const contact = await contactAt('bank.test');
    const asked = zone.questions.length;
    const r = await ingest(
      box,
      await withHeader('mx.helpdesk.test; spf=pass smtp.mailfrom=bank.test; dkim=pass header.d=bank.test; dmarc=pass header.from=bank.test', contact.email),
    );
    expect(r.outcome).toBe('ticket_created');
    expect((await inbound(r.inboundEmailId)).auth).toMatchObject({ source: 'trusted_header', dmarc: { result: 'pass' }, summary: 'pass' });
    expect(zone.questions.length).toBe(asked);

    const spoofed = await ingest(box, await withHeader('mx.helpdesk.test; spf=fail smtp.mailfrom=bank.test; dmarc=fail header.from=bank.test', contact.email));
    expect(spoofed).toMatchObject({ outcome: 'quarantined', reason: 'spoofed' });
  });

  it('ignores an Authentication-Results header of another authserv-id (anyone can write one)', async () => {
    const contact = await contactAt('bank.test');
    const raw = await withHeader('evil.test; spf=pass smtp.mailfrom=bank.test; dkim=pass header.d=bank.test; dmarc=pass header.from=bank.test', contact.email);
    // a header with our authserv-id below the topmost counts for nothing either
    const r = await ingest(box, raw.replace('\r\n', '\r\nAuthentication-Results: mx.helpdesk.test; dmarc=pass header.from=bank.test\r\n'));
    const row = await inbound(r.inboundEmailId);
    expect(row.auth).toMatchObject({
      source: 'trusted_header',
      spf: { result: 'none' },
      dkim: { result: 'none' },
      dmarc: { result: 'none' },
      summary: 'none',
      note: expect.stringContaining('not from mx.helpdesk.test but from evil.test'),
    });
    // no verdict: a known contact's mail goes on
    expect(r.outcome).toBe('ticket_created');
  });
});

describe('off', () => {
  it('checks nothing and stores no verdict (the default)', async () => {
    const box = await makeMailbox();
    expect(box.authenticity).toBe('off');
    const contact = await contactAt('bank.test');
    const asked = zone.questions.length;
    const r = await ingest(box, received('203.0.113.66', contact.email) + (await buildMail({ from: contact.email })).toString('latin1'));
    expect(r.outcome).toBe('ticket_created');
    expect((await inbound(r.inboundEmailId)).auth).toBeNull();
    expect((await db()('tickets').where({ id: r.ticketId }).first()).auth_summary).toBeNull();
    expect(zone.questions.length).toBe(asked);
  });
});

describe('the mailbox settings', () => {
  it('validates authenticity, auth_source and authserv_id, and shows them', async () => {
    const post = (body: Record<string, unknown>) =>
      api()
        .post('/api/v1/ticketing/mailboxes')
        .set(staff.admin.auth)
        .send({ name: 'Auth', email: `auth${Math.random().toString(36).slice(2, 8)}@helpdesk.test`, ...body });
    const missing = await post({ authenticity: 'enforce', auth_source: 'trusted_header' }).expect(400);
    expect(Object.keys(missing.body.error.details.fields)).toEqual(['authserv_id']);
    await post({ authenticity: 'sometimes' }).expect(400);
    await post({ auth_source: 'guess' }).expect(400);
    await post({ authenticity: 'record', auth_source: 'trusted_header', authserv_id: 'mx example' }).expect(400);
    const made = await post({ authenticity: 'enforce', auth_source: 'trusted_header', authserv_id: 'mx.helpdesk.test' }).expect(201);
    expect(made.body).toMatchObject({ authenticity: 'enforce', auth_source: 'trusted_header', authserv_id: 'mx.helpdesk.test' });
    // clearing the id the source needs is refused; turning the checks off first is not
    await api().put(`/api/v1/ticketing/mailboxes/${made.body.id}`).set(staff.admin.auth).send({ authserv_id: null }).expect(400);
    await api().put(`/api/v1/ticketing/mailboxes/${made.body.id}`).set(staff.admin.auth).send({ authenticity: 'off', authserv_id: null }).expect(200);
    const plain = await post({}).expect(201);
    expect(plain.body).toMatchObject({ authenticity: 'off', auth_source: 'verify', authserv_id: null });
  });
});

describe('the resolver', () => {
  it("is a thread's one resolver for the DNS servers given, rebuilt with an empty cache when they change", () => {
    const a = dnsResolverFor([zone.address]);
    expect(dnsResolverFor([zone.address])).toBe(a);
    expect(dnsResolverFor([silent.address])).not.toBe(a);
    expect(dnsResolverFor([zone.address])).not.toBe(a);
  });
});
