/**
 * The DKIM key cache of a pool thread (dkimKeyCache.ts): a record's key is parsed once per
 * answer text, a changed record is a new parse, a record that fails keeps failing and is
 * never kept, and the cache is bounded; with the thread's DNS cache, a changed key is seen
 * once the answer's time is up. And in a thread that loads the checks (loadMailauth), a
 * message's verdict uses it.
 */
import crypto from 'node:crypto';
import tools from 'mailauth/lib/tools.js';
import { ANSWER_TTL_MS, CachingResolver } from '../../../src/mail/dnsResolver';
import { DkimKeyCache } from '../../../src/mail/inbound/dkimKeyCache';
import { ZoneServer } from '../../helpers/dnsServer';

const keyOf = (bits = 2048) => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: bits });
  return { privateKey, record: `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}` };
};
const a = keyOf();
const b = keyOf();
const NAME = 'sel._domainkey.signed.test';

/** mailauth's own parse, counted. */
function countedParse() {
  const parse = jest.fn(tools.getPublicKey);
  return { parse, cache: new DkimKeyCache(parse) };
}

/** A resolver answering `answers[name]` (one TXT record), or rejecting with `code`. */
const answering =
  (answers: Record<string, string | { code: string }>) =>
  async (name: string): Promise<string[][]> => {
    const answer = answers[name];
    if (answer === undefined) throw Object.assign(new Error('no such name'), { code: 'ENOTFOUND' });
    if (typeof answer !== 'string') throw Object.assign(new Error(answer.code), { code: answer.code });
    return [[answer]];
  };

/** Whether `key` (a PEM from getPublicKey) verifies a signature made with `signer`. */
const verifies = (key: string | Buffer, signer: crypto.KeyObject) => {
  const data = Buffer.from('canonicalized header');
  return crypto.verify('sha256', data, key, crypto.sign('sha256', data, signer));
};

describe('DkimKeyCache', () => {
  it('parses an answer once and gives the same key as mailauth for it after', async () => {
    const { parse, cache } = countedParse();
    const resolver = jest.fn(answering({ [NAME]: a.record }));
    const uncached = await tools.getPublicKey('DKIM', NAME, 1024, resolver);
    for (let i = 0; i < 3; i++) expect(await cache.getPublicKey('DKIM', NAME, 1024, resolver)).toEqual(uncached);
    expect(parse).toHaveBeenCalledTimes(1);
    // the DNS is still asked each time: the cache is of the parse, not of the answer
    expect(resolver).toHaveBeenCalledTimes(4);
    // the type and the minimum length are part of what is parsed
    await cache.getPublicKey('AS', NAME, 1024, resolver);
    await cache.getPublicKey('DKIM', NAME, 2048, resolver);
    expect(parse).toHaveBeenCalledTimes(3);
  });

  it('parses a changed record anew: the new key verifies, the old one no longer', async () => {
    const { parse, cache } = countedParse();
    const answers = { [NAME]: a.record };
    const resolver = answering(answers);
    expect(verifies((await cache.getPublicKey('DKIM', NAME, 1024, resolver)).publicKey, a.privateKey)).toBe(true);
    answers[NAME] = b.record;
    const now = (await cache.getPublicKey('DKIM', NAME, 1024, resolver)).publicKey;
    expect(verifies(now, a.privateKey)).toBe(false);
    expect(verifies(now, b.privateKey)).toBe(true);
    expect(parse).toHaveBeenCalledTimes(2);
  });

  it('keeps no record that fails: a bad, short or unknown key, and a DNS failure, fail each time as they did', async () => {
    const { parse, cache } = countedParse();
    const short = keyOf(512);
    const answers: Record<string, string | { code: string }> = {
      'bad._domainkey.x.test': 'v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAdefinitelynotakey',
      'nobase64._domainkey.x.test': 'v=DKIM1; k=rsa; p=!!!!',
      'short._domainkey.x.test': short.record,
      'version._domainkey.x.test': a.record.replace('DKIM1', 'DKIM2'),
      'empty._domainkey.x.test': 'v=DKIM1; k=rsa; p=',
      'down._domainkey.x.test': { code: 'ETIMEOUT' },
    };
    const resolver = answering(answers);
    for (const name of [...Object.keys(answers), 'missing._domainkey.x.test']) {
      const expected = await tools.getPublicKey('DKIM', name, 1024, resolver).then(
        () => 'resolved',
        (e: { code?: string }) => e.code,
      );
      expect(expected).not.toBe('resolved');
      for (let i = 0; i < 2; i++) await expect(cache.getPublicKey('DKIM', name, 1024, resolver)).rejects.toMatchObject({ code: expected });
    }
    expect(cache.size).toBe(0);
    // parsed each time (the two DNS failures never reach the parse)
    expect(parse).toHaveBeenCalledTimes(2 * 5);
    // a server that answers again is asked again: the failure was not kept either
    answers['down._domainkey.x.test'] = a.record;
    await expect(cache.getPublicKey('DKIM', 'down._domainkey.x.test', 1024, resolver)).resolves.toMatchObject({ modulusLength: 2048 });
  });

  it('is bounded, the least recently used key going first', async () => {
    const parse = jest.fn(tools.getPublicKey);
    const cache = new DkimKeyCache(parse, 2);
    const resolver = answering({ 'a._domainkey.x.test': a.record, 'b._domainkey.x.test': b.record, 'c._domainkey.x.test': keyOf().record });
    for (const name of ['a', 'b', 'a', 'c', 'a', 'b']) await cache.getPublicKey('DKIM', `${name}._domainkey.x.test`, 1024, resolver);
    expect(cache.size).toBe(2);
    // a, b, (a hit), c evicts b, (a hit), b again
    expect(parse).toHaveBeenCalledTimes(4);
  });

  it('without a resolver, or with arguments it does not know, is mailauth own parse', async () => {
    const { parse, cache } = countedParse();
    const resolver = answering({ [NAME]: a.record });
    await cache.getPublicKey('DKIM', NAME, 1024, resolver, { future: true });
    await cache.getPublicKey('DKIM', NAME, 1024, resolver, { future: true });
    expect(parse).toHaveBeenCalledTimes(2);
    expect(parse.mock.calls[0]![3]).toBe(resolver);
    expect(cache.size).toBe(0);
  });
});

describe('with the thread resolver', () => {
  let zone: ZoneServer;
  const records: Record<string, string[]> = { [NAME]: [a.record] };
  beforeAll(async () => {
    zone = await ZoneServer.start(records);
  });
  afterAll(async () => {
    jest.useRealTimers();
    await zone?.stop();
  });

  it('sees a changed key once the answer is older than the cap, not before', async () => {
    jest.useFakeTimers({
      doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask'],
    });
    const cache = new DkimKeyCache(tools.getPublicKey);
    const dns = new CachingResolver([zone.address]);
    const key = async () => (await cache.getPublicKey('DKIM', NAME, 1024, dns.withBudget())).publicKey;
    expect(verifies(await key(), a.privateKey)).toBe(true);
    records[NAME] = [b.record];
    jest.setSystemTime(Date.now() + ANSWER_TTL_MS - 1000);
    expect(verifies(await key(), a.privateKey)).toBe(true);
    jest.setSystemTime(Date.now() + 2000);
    expect(verifies(await key(), a.privateKey)).toBe(false);
    expect(verifies(await key(), b.privateKey)).toBe(true);
    expect(zone.asked(`TXT ${NAME}`)).toBe(2);
    expect(ANSWER_TTL_MS).toBeLessThanOrEqual(60_000);
  });

  it('answers from its cache as the DNS did, a missing name included, and never once the budget is spent', async () => {
    const dns = new CachingResolver([zone.address]);
    const [spf, missing] = ['policy.signed.test', 'nothing.signed.test'];
    records[spf] = ['v=spf1 ip4:192.0.2.10 -all'];
    for (let i = 0; i < 2; i++) {
      await expect(dns.withBudget()(spf, 'TXT')).resolves.toEqual([['v=spf1 ip4:192.0.2.10 -all']]);
      await expect(dns.withBudget()(missing, 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    }
    expect([zone.asked(`TXT ${spf}`), zone.asked(`TXT ${missing}`)]).toEqual([1, 1]);
    await expect(dns.withBudget(0)(spf, 'TXT')).rejects.toMatchObject({ code: 'ETIMEOUT' });
  });
});
