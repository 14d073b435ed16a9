/**
 * The pure parts of the authenticity verdict (issue 13): reading Authentication-Results
 * (RFC 8601), the trusted header rule, the client of the topmost Received header, the
 * summary, the enforce rules, and DNS_SERVERS. The checks against DNS run in
 * tests/integration/mail/authenticity.test.ts.
 */
import { loadConfig } from '../../../src/config';
import { parseAuthResults } from '../../../src/mail/inbound/authResults';
import { receivedClient, summarize, trustedHeaderChecks } from '../../../src/mail/inbound/authenticity';
import { authBlocks, isSpoofed } from '../../../src/mail/inbound/authPolicy';
import { RawHeaders } from '../../../src/mail/inbound/headers';
import type { Authenticity } from '../../../src/models/InboundEmail';

describe('parseAuthResults (RFC 8601)', () => {
  it('reads the authserv-id, each method and result, reason and properties', () => {
    const h = parseAuthResults(
      'mx.helpdesk.test 1; (a comment (nested; with=stuff)) spf=pass (sender SPF authorized) smtp.mailfrom=bounce@Acme.test;\r\n' +
        ' dkim/1=PASS reason="good signature; really" header.d=acme.test header.s=sel (x) header.b=AbC;\r\n' +
        ' dkim=fail header.d=other.test; dmarc=pass (p=REJECT) header.from=acme.test policy.dmarc=reject; arc=none',
    );
    expect(h?.authservId).toBe('mx.helpdesk.test');
    expect(h?.results).toEqual([
      { method: 'spf', result: 'pass', props: { 'smtp.mailfrom': 'bounce@Acme.test' } },
      { method: 'dkim', result: 'pass', reason: 'good signature; really', props: { 'header.d': 'acme.test', 'header.s': 'sel', 'header.b': 'AbC' } },
      { method: 'dkim', result: 'fail', props: { 'header.d': 'other.test' } },
      { method: 'dmarc', result: 'pass', props: { 'header.from': 'acme.test', 'policy.dmarc': 'reject' } },
      { method: 'arc', result: 'none', props: {} },
    ]);
  });

  it('reads "none", a quoted authserv-id, spaces around "=", and nothing at all', () => {
    expect(parseAuthResults('mx.example.com; none')).toEqual({ authservId: 'mx.example.com', results: [] });
    expect(parseAuthResults('"mx.example.com" ; spf = fail smtp.helo = x.test')?.results).toEqual([
      { method: 'spf', result: 'fail', props: { 'smtp.helo': 'x.test' } },
    ]);
    expect(parseAuthResults('   ')).toBeUndefined();
    expect(parseAuthResults('(only a comment)')).toBeUndefined();
  });

  it('reads unclosed comments and quotes to the end, and long hostile input in linear time', () => {
    expect(parseAuthResults('mx.test; spf=pass (never closed ; dkim=pass')?.results).toEqual([{ method: 'spf', result: 'pass', props: {} }]);
    expect(parseAuthResults('mx.test; spf=pass reason="never closed; dkim=pass')?.results).toEqual([
      { method: 'spf', result: 'pass', reason: 'never closed; dkim=pass', props: {} },
    ]);
    const hostile = `mx.test; ${'('.repeat(100_000)}${'a=b;'.repeat(50_000)}${'"'.repeat(10_000)}`;
    const started = Date.now();
    parseAuthResults(hostile);
    parseAuthResults(`mx.test${'; dkim=pass header.d=x'.repeat(5000)}`);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(parseAuthResults(`mx.test${'; dkim=pass'.repeat(5000)}`)!.results.length).toBe(50);
  });
});

const headers = (...lines: string[]) => new RawHeaders(lines.join('\r\n'));

describe('trustedHeaderChecks', () => {
  it('takes the topmost Authentication-Results header when its authserv-id is the mailbox server', () => {
    const h = headers(
      'Authentication-Results: MX.helpdesk.test; spf=softfail smtp.mailfrom=a@acme.test; dkim=pass header.d=acme.test header.s=s1; dmarc=pass header.from=acme.test',
      'Received: from x by y',
      'Authentication-Results: mx.helpdesk.test; dmarc=fail header.from=acme.test',
    );
    expect(trustedHeaderChecks(h, 'mx.helpdesk.test')).toEqual({
      source: 'trusted_header',
      spf: { result: 'softfail', domain: 'acme.test' },
      dkim: { result: 'pass', signatures: [{ result: 'pass', domain: 'acme.test', selector: 's1' }] },
      dmarc: { result: 'pass', domain: 'acme.test' },
      arc: { result: 'none' },
    });
  });

  it('ignores every header when the topmost is not the server (a sender can write them), and when there is none', () => {
    const forged = headers(
      'Authentication-Results: evil.test; dmarc=pass header.from=bank.test',
      'Authentication-Results: mx.helpdesk.test; dmarc=pass header.from=bank.test',
    );
    expect(trustedHeaderChecks(forged, 'mx.helpdesk.test')).toEqual({ note: expect.stringContaining('not from mx.helpdesk.test but from evil.test') });
    expect(trustedHeaderChecks(headers('Subject: hi'), 'mx.helpdesk.test')).toEqual({ note: 'no Authentication-Results header' });
    expect('note' in trustedHeaderChecks(forged, null)).toBe(true);
  });

  it('keeps RFC 8601 result words, anything else as neutral', () => {
    const h = headers('Authentication-Results: mx.test; dmarc=bestguesspass header.from=a.test; spf=hardfail smtp.mailfrom=a.test');
    const c = trustedHeaderChecks(h, 'mx.test');
    expect(c).toMatchObject({ dmarc: { result: 'neutral' }, spf: { result: 'fail' } });
  });
});

describe('receivedClient (the topmost Received header)', () => {
  it.each([
    [
      'from mail.acme.test (mail.acme.test [192.0.2.1]) by mx.helpdesk.test (Postfix) with ESMTPS id A1 for <s@h.test>; Mon, 1 Jun 2026',
      '192.0.2.1',
      'mail.acme.test',
    ],
    ['from mail.acme.test (mail.acme.test. [IPv6:2001:db8::1]) by mx.google.com with ESMTPS id x', '2001:db8::1', 'mail.acme.test'],
    ['from [192.0.2.7] (helo=laptop) by mx.test with esmtpsa', '192.0.2.7', undefined],
    ['from EUR05.outbound.protection.outlook.com (2a01:111:f400:7e1a::81b) by mx.test', '2a01:111:f400:7e1a::81b', 'EUR05.outbound.protection.outlook.com'],
    ['from mx.helpdesk.test by mx.helpdesk.test with LMTP id abc', undefined, 'mx.helpdesk.test'],
    ['by mx.test with SMTP', undefined, undefined],
  ])('%s', (value, ip, helo) => {
    expect(receivedClient(value)).toEqual({ ip, helo });
  });

  it('takes no IP from after "by" (the receiving host), and none at all without a header', () => {
    expect(receivedClient('from laptop by mx.test ([192.0.2.9])').ip).toBeUndefined();
    expect(receivedClient(undefined)).toEqual({});
  });
});

const checks = (over: Partial<Omit<Authenticity, 'from_domain' | 'summary'>>): Omit<Authenticity, 'from_domain' | 'summary'> => ({
  source: 'verify',
  spf: { result: 'none' },
  dkim: { result: 'none', signatures: [] },
  dmarc: { result: 'none' },
  arc: { result: 'none' },
  ...over,
});

describe('summarize', () => {
  it("is DMARC's result when DMARC is about the From domain", () => {
    expect(summarize(checks({ dmarc: { result: 'pass', domain: 'acme.test' } }), 'acme.test')).toBe('pass');
    expect(summarize(checks({ dmarc: { result: 'fail', domain: 'acme.test' }, spf: { result: 'pass', domain: 'acme.test' } }), 'acme.test')).toBe('fail');
    // about another domain: set aside, and neither SPF nor DKIM is aligned
    expect(summarize(checks({ dmarc: { result: 'pass', domain: 'evil.test' } }), 'bank.test')).toBe('fail');
  });

  it('without DMARC: an aligned SPF or DKIM pass (same organizational domain) passes; none fails', () => {
    expect(summarize(checks({ spf: { result: 'pass', domain: 'bounce.acme.co.uk' } }), 'acme.co.uk')).toBe('pass');
    expect(summarize(checks({ spf: { result: 'pass', domain: 'other.co.uk' } }), 'acme.co.uk')).toBe('fail');
    expect(summarize(checks({ dkim: { result: 'pass', signatures: [{ result: 'pass', domain: 'mail.acme.test' }] } }), 'news.acme.test')).toBe('pass');
    expect(summarize(checks({ dkim: { result: 'pass', signatures: [{ result: 'pass', domain: 'esp.test' }] } }), 'acme.test')).toBe('fail');
    expect(summarize(checks({}), 'acme.test')).toBe('fail');
  });

  it('is none when a check could not be made, or there is no From domain', () => {
    expect(summarize(checks({ dmarc: { result: 'temperror' } }), 'acme.test')).toBe('none');
    expect(summarize(checks({ spf: { result: 'temperror' } }), 'acme.test')).toBe('none');
    expect(summarize(checks({ dkim: { result: 'temperror', signatures: [{ result: 'temperror', domain: 'acme.test' }] } }), 'acme.test')).toBe('none');
    expect(summarize(checks({ dmarc: { result: 'pass', domain: 'acme.test' } }), undefined)).toBe('none');
    // an aligned pass needs no policy lookup
    expect(summarize(checks({ dmarc: { result: 'temperror' }, spf: { result: 'pass', domain: 'acme.test' } }), 'acme.test')).toBe('pass');
  });
});

describe('enforce', () => {
  const auth = (summary: Authenticity['summary']): Authenticity => ({ ...checks({}), from_domain: 'acme.test', summary });
  const contact = { contact: { id: 1, contactable_id: 2 } };

  it("quarantines a known sender's failing mail only under enforce", () => {
    expect(isSpoofed({ authenticity: 'enforce' }, auth('fail'), contact)).toBe(true);
    expect(isSpoofed({ authenticity: 'enforce' }, auth('fail'), { agentId: 3 })).toBe(true);
    expect(isSpoofed({ authenticity: 'enforce' }, auth('fail'), {})).toBe(false);
    expect(isSpoofed({ authenticity: 'enforce' }, auth('none'), contact)).toBe(false);
    expect(isSpoofed({ authenticity: 'record' }, auth('fail'), contact)).toBe(false);
    expect(isSpoofed({ authenticity: 'off' }, null, contact)).toBe(false);
  });

  it('asks a pass of what needs more than a known address, only under enforce', () => {
    expect(authBlocks({ authenticity: 'enforce' }, auth('pass'))).toBeUndefined();
    expect(authBlocks({ authenticity: 'enforce' }, auth('none'))).toMatch(/verdict is none/);
    expect(authBlocks({ authenticity: 'record' }, auth('fail'))).toBeUndefined();
  });
});

describe('DNS_SERVERS', () => {
  it('takes ip, ip:port and [ipv6]:port, comma-separated; defaults to the system', () => {
    expect(loadConfig({}).dnsServers).toBeUndefined();
    expect(loadConfig({ DNS_SERVERS: '192.0.2.53, 127.0.0.1:5353,[::1]:53,2001:db8::53' }).dnsServers).toEqual([
      '192.0.2.53',
      '127.0.0.1:5353',
      '[::1]:53',
      '2001:db8::53',
    ]);
  });

  it.each(['dns.example.com', '127.0.0.1:0', '127.0.0.1:70000', '[::1]', '::1:53:x', ' , '])('refuses %p', (value) => {
    expect(() => loadConfig({ DNS_SERVERS: value })).toThrow(/DNS_SERVERS/);
  });
});
