/**
 * The CPU pool reads messages asked for together in chunks, one thread per chunk, and
 * still gives each message its own deadline: a message over it is held as too_complex,
 * and the others of its chunk are read all the same, each matched to its own result. The
 * thread also checks authenticity (`verify`, against DNS servers in this process): a
 * silent DNS server costs the budget, never the deadline.
 */
import crypto from 'node:crypto';
import { dkimSign } from 'mailauth';
import { config, loadConfig, setConfig } from '../../../src/config';
import { authCheckOf } from '../../../src/mail/inbound/authenticity';
import { TOO_COMPLEX, closeCpuPool, cpuPoolThreads, holdCpuPoolWarm, readInPool } from '../../../src/mail/inbound/cpuPool';
import { SilentServer, ZoneServer } from '../../helpers/dnsServer';
import { buildMail } from '../../helpers/mail';
import { waitFor } from '../../helpers/waitFor';

const original = config();
beforeAll(() => setConfig(loadConfig({ ...process.env, INBOUND_CPU_SECONDS: '1' })));
afterAll(async () => {
  await closeCpuPool();
  setConfig(original);
});
jest.setTimeout(60_000);

const plain = (i: number) => buildMail({ from: 'someone@customer.test', subject: `plain ${i}`, messageId: `<plain-${i}@customer.test>`, text: `message ${i}` });

test('messages asked for in one turn each get their own analysis, in order', async () => {
  const raws = await Promise.all(Array.from({ length: 40 }, (_, i) => plain(i)));
  const results = await Promise.all(raws.map((raw) => readInPool(raw)));
  expect(results.map((r) => (r.ok ? r.message.messageId : r.reason))).toEqual(raws.map((_, i) => `<plain-${i}@customer.test>`));
});

test('a message over the deadline is held as too_complex; the messages before and after it in its chunk are read', async () => {
  const heavy = await buildMail({ from: 'someone@customer.test', subject: 'heavy', html: `<div>${'<p><b>x</b> y</p>'.repeat(200_000)}</div>` });
  const raws = [await plain(1), await plain(2), heavy, await plain(3)];
  const started = Date.now();
  const results = await Promise.all(raws.map((raw) => readInPool(raw)));
  expect(results.map((r) => (r.ok ? r.message.subject : r.reason))).toEqual(['plain 1', 'plain 2', TOO_COMPLEX, 'plain 3']);
  // given up within the deadline and the watchdog's tenth of it, plus a thread's start (generous: a loaded machine)
  expect(Date.now() - started).toBeLessThan(20_000);
});

test('a pool held warm starts its threads before any message, and lets them go when the last holder releases it', async () => {
  await closeCpuPool();
  const releaseOne = holdCpuPoolWarm();
  const releaseTwo = holdCpuPoolWarm();
  await waitFor(() => cpuPoolThreads() === config().inboundCpuThreads, { what: 'the threads of a warm pool' });
  releaseOne();
  expect(cpuPoolThreads()).toBe(config().inboundCpuThreads);
  const read = await readInPool(await plain(9));
  expect(read.ok).toBe(true);
  releaseTwo();
  expect(cpuPoolThreads()).toBe(0);
});

describe('authenticity, checked in the thread that read the message', () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = { signingDomain: 'signed.test', selector: 'sel', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
  const received =
    'Received: from mail.signed.test (mail.signed.test [192.0.2.10]) by mx.helpdesk.test (Postfix) with ESMTPS id 4Q; Mon, 1 Jun 2026 10:00:00 +0000\r\n';
  let zone: ZoneServer;
  let silent: SilentServer;
  const verifying = (dnsServer: string, cpuSeconds: string) => {
    setConfig(loadConfig({ ...process.env, INBOUND_CPU_SECONDS: cpuSeconds, DNS_SERVERS: dnsServer }));
    return authCheckOf({ authenticity: 'record', auth_source: 'verify', authserv_id: null });
  };
  /** A message from signed.test, signed `signatures` times over (the same signature). */
  const signed = async (i: number, signatures = 1, subject = `signed ${i}`) => {
    const raw = await buildMail({ from: `person${i}@signed.test`, subject, text: `message ${i}` });
    const { signatures: header } = await dkimSign(raw, { ...key, signatureData: [key] });
    return Buffer.concat([Buffer.from(received + header.repeat(signatures), 'latin1'), raw]);
  };

  beforeAll(async () => {
    zone = await ZoneServer.start({
      'signed.test': ['v=spf1 ip4:192.0.2.10 -all'],
      'sel._domainkey.signed.test': [`v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`],
      '_dmarc.signed.test': ['v=DMARC1; p=reject'],
    });
    silent = await SilentServer.start();
  });
  afterAll(async () => {
    setConfig(loadConfig({ ...process.env, INBOUND_CPU_SECONDS: '1' }));
    await zone?.stop();
    await silent?.stop();
  });

  test('a chunk checked against a DNS server that never answers: temperror within the budget, and no message held, the deadline far shorter than the wait', async () => {
    // the deadline alone would be over before the DNS budget (1 s) is spent
    const check = verifying(silent.address, '0.7');
    // a thread started, with mailauth loaded, first: what is timed below is the checks
    expect(await readInPool(await signed(0), check)).toMatchObject({ ok: true, auth: { summary: 'none' } });
    const raws = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((i) => signed(i)));
    const started = Date.now();
    const results = await Promise.all(raws.map((raw) => readInPool(raw, check)));
    for (const r of results) {
      expect(r.ok ? r.auth : r.reason).toMatchObject({ source: 'verify', spf: { result: 'temperror' }, dkim: { result: 'temperror' }, summary: 'none' });
    }
    // the messages' DNS waits overlap: about one budget for the chunk, not one per message
    expect(Date.now() - started).toBeLessThan(4000);
  });

  test('a message whose check runs over the deadline (and the budget) is held as too_complex; the others of its chunk are checked all the same', async () => {
    const check = verifying(zone.address, '1');
    // each signature covers a 300 KB Subject, which mailauth canonicalizes once per signature:
    // read in a fraction of the deadline, checked in several times it (with 300 signatures the
    // check came within the deadline and the budget once it got a third cheaper, and then held
    // the thread's loop so long that its neighbours' DNS answers came too late)
    const raws = [await signed(1), await signed(2, 1000, 'word '.repeat(60_000)), await signed(3)];
    const results = await Promise.all(raws.map((raw) => readInPool(raw, check)));
    expect(results.map((r) => (r.ok ? r.auth?.summary : r.reason))).toEqual(['pass', `${TOO_COMPLEX}: checking its authenticity took too long`, 'pass']);
  });

  test('a mailbox whose authenticity is off: nothing is checked', async () => {
    const asked = zone.questions.length;
    setConfig(loadConfig({ ...process.env, INBOUND_CPU_SECONDS: '1', DNS_SERVERS: zone.address }));
    const check = authCheckOf({ authenticity: 'off', auth_source: 'verify', authserv_id: null });
    expect(check).toBeUndefined();
    const read = await readInPool(await signed(5), check);
    expect(read.ok && read.auth).toBeUndefined();
    expect(zone.questions.length).toBe(asked);
  });
});
