import { setConfig, loadConfig } from '../../../src/config';
import { htmlToText } from '../../../src/mail/outbound/htmlToText';
import { envelopesFor, retryDelaySeconds, settle } from '../../../src/mail/outbound/delivery';
import { verifyVerp } from '../../../src/mail/verp';
import type { OutboundEmail } from '../../../src/models/OutboundEmail';
import { baseAddress } from '../../../src/mail/outbound/recipients';
import { REFERENCES_MAX_CHARS, referencesOf } from '../../../src/mail/outbound/threadHeaders';
import { TEMPLATE_NAMES, renderTemplate } from '../../../src/mail/outbound/templates';
import { isPermanentFailure } from '../../../src/mail/outbound/transport';
import { REPLY_ABOVE_MARKER } from '../../../src/mail/inbound/quotes';

describe('References', () => {
  it('keeps the first id and as many of the latest as fit in 2,000 characters, oldest first', () => {
    const ids = Array.from({ length: 100 }, (_, i) => `<message-${String(i).padStart(3, '0')}-${'x'.repeat(20)}@acme.test>`);
    const refs = referencesOf(ids)!;
    expect(refs.length).toBeLessThanOrEqual(REFERENCES_MAX_CHARS);
    const kept = refs.split(' ');
    expect(kept[0]).toBe(ids[0]);
    expect(kept[kept.length - 1]).toBe(ids[99]);
    expect(kept.slice(1)).toEqual(ids.slice(100 - (kept.length - 1)));
    expect(referencesOf(ids.slice(0, 3))).toBe(ids.slice(0, 3).join(' '));
    expect(referencesOf([])).toBeUndefined();
  });
});

describe('htmlToText', () => {
  it('turns our sanitized HTML into readable text', () => {
    expect(
      htmlToText(
        '<p>Hello <strong>Pat</strong>,</p><p>line one<br />line two</p><ul><li>a</li><li>b</li></ul><ol><li>x</li></ol><p><a href="https://x.test/a">the docs</a> &amp; more</p>',
      ),
    ).toBe('Hello Pat,\n\nline one\nline two\n\n- a\n- b\n\n1. x\n\nthe docs (https://x.test/a) & more');
  });
  it('decodes entities and never lets markup through as markup', () => {
    expect(htmlToText('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>')).toBe('<script>alert(1)</script>');
  });
});

describe('send errors', () => {
  it('5xx refusals are permanent; 4xx, connection, TLS and authentication errors retry', () => {
    expect(isPermanentFailure({ code: 'EENVELOPE', responseCode: 550, rejectedErrors: [{ responseCode: 550 }] })).toBe(true);
    expect(isPermanentFailure({ code: 'EENVELOPE', responseCode: 451, rejectedErrors: [{ responseCode: 451 }] })).toBe(false);
    expect(isPermanentFailure({ code: 'EENVELOPE', rejectedErrors: [{ responseCode: 550 }, { responseCode: 452 }] })).toBe(false);
    expect(isPermanentFailure({ code: 'EMESSAGE', responseCode: 554 })).toBe(true);
    expect(isPermanentFailure({ code: 'EAUTH', responseCode: 535 })).toBe(false);
    expect(isPermanentFailure({ code: 'ECONNECTION' })).toBe(false);
    expect(isPermanentFailure(new Error('socket hang up'))).toBe(false);
  });

  it('retry delays double from the base up to the cap', () => {
    setConfig(loadConfig({ ...process.env, MAILER_RETRY_BASE_SECONDS: '60', MAILER_RETRY_MAX_DELAY_SECONDS: '3600' }));
    expect(retryDelaySeconds(1)).toBeGreaterThanOrEqual(54);
    expect(retryDelaySeconds(1)).toBeLessThanOrEqual(66);
    expect(retryDelaySeconds(3)).toBeGreaterThanOrEqual(216);
    expect(retryDelaySeconds(20)).toBeLessThanOrEqual(3960);
    setConfig(loadConfig());
  });
});

describe('delivery per recipient', () => {
  const row = (fields: Partial<OutboundEmail> = {}) =>
    ({
      id: 42,
      to_addresses: [{ address: 'pat@acme.test' }],
      cc_addresses: [{ address: 'gone@acme.test' }, { address: 'cat@acme.test' }, { address: 'pat@acme.test' }],
      delivered_recipients: [],
      rejected_recipients: [],
      attempts: 1,
      queued_at: new Date(),
      created_at: new Date(),
      ...fields,
    }) as OutboundEmail;
  const screened = { to: [{ address: 'pat@acme.test' }], cc: [{ address: 'cat@acme.test' }, { address: 'pat@acme.test' }], dropped: [] };

  it('one envelope per recipient not yet delivered or rejected, its VERP index its place as queued', () => {
    const envelopes = envelopesFor(row(), screened, 'support@helpdesk.test');
    expect(envelopes.map((e) => e.to)).toEqual(['pat@acme.test', 'cat@acme.test']);
    expect(envelopes.map((e) => verifyVerp(e.from))).toEqual([
      { outboundEmailId: 42, recipientIndex: 0 },
      { outboundEmailId: 42, recipientIndex: 2 },
    ]);
    expect(envelopes[0]!.from.startsWith('support+bounce-42-0-')).toBe(true);
    expect(envelopesFor(row({ delivered_recipients: ['pat@acme.test'] }), screened, 'support@helpdesk.test').map((e) => e.to)).toEqual(['cat@acme.test']);
    expect(envelopesFor(row({ delivered_recipients: ['pat@acme.test'], rejected_recipients: ['cat@acme.test'] }), screened, 'support@helpdesk.test')).toEqual(
      [],
    );
  });

  it('settles: sent when all are delivered or refused, queued while one is deferred, failed when none got it', () => {
    const ok = (address: string) => ({ address, status: 'delivered' as const, response: '250 ok' });
    const no = (address: string) => ({ address, status: 'rejected' as const, response: '550 no', error: '550 no' });
    const later = (address: string) => ({ address, status: 'deferred' as const, response: '451 later', error: '451 later' });
    expect(settle(row(), [ok('pat@acme.test'), no('cat@acme.test')])).toMatchObject({
      state: 'sent',
      delivered_recipients: ['pat@acme.test'],
      rejected_recipients: ['cat@acme.test'],
      next_attempt_at: null,
      last_error: 'cat@acme.test: 550 no',
    });
    const waiting = settle(row(), [ok('pat@acme.test'), later('cat@acme.test')]);
    expect(waiting).toMatchObject({ state: 'queued', delivered_recipients: ['pat@acme.test'], rejected_recipients: [], sent_at: null });
    expect(waiting.next_attempt_at!.getTime()).toBeGreaterThan(Date.now());
    expect(settle(row({ delivered_recipients: ['pat@acme.test'] }), [ok('cat@acme.test')])).toMatchObject({
      state: 'sent',
      last_error: null,
      delivered_recipients: ['pat@acme.test', 'cat@acme.test'],
    });
    expect(settle(row(), [no('pat@acme.test'), no('cat@acme.test')])).toMatchObject({ state: 'failed', sent_at: null });
    // The retry window over: the deferred one is given up on; the message went to the other.
    const old = new Date(Date.now() - 48 * 3600_000);
    expect(settle(row({ queued_at: old }), [ok('pat@acme.test'), later('cat@acme.test')])).toMatchObject({
      state: 'sent',
      rejected_recipients: ['cat@acme.test'],
      last_error: expect.stringMatching(/^gave up after 1 attempts/),
    });
    expect(settle(row({ queued_at: old }), [later('pat@acme.test')])).toMatchObject({ state: 'failed' });
  });
});

describe('addresses', () => {
  it('the base of an address folds case and drops a +tag', () => {
    expect(baseAddress(' Support+abc-u1@Acme.TEST ')).toBe('support@acme.test');
    expect(baseAddress('pat@acme.test')).toBe('pat@acme.test');
  });
});

describe('templates', () => {
  const evil = '<img src=x onerror=alert(1)>';
  const context = {
    ticket: { number: 'ABC234', subject: `Broken ${evil}`, status: 'New', priority: 'High', body: '<p>ok</p>', body_text: 'ok' },
    reply: { body: '<p>Our <strong>answer</strong></p>', body_text: 'Our answer', customer_visible: true },
    author: { name: `Pat ${evil}`, email: 'pat@acme.test' },
    agent: { name: 'Alice', email: 'alice@helpdesk.test' },
    contact: { name: `Pat ${evil}`, email: 'pat@acme.test' },
    customer: { name: 'Acme' },
    mailbox: { name: 'Acme Support', email: 'support@helpdesk.test' },
    data: { subject: `Hi ${evil}`, customer_name: `Acme ${evil}`, points_current: 2, points_total: 10, points_alert: 3 },
  };

  it.each(TEMPLATE_NAMES)('%s renders both parts with values escaped in the HTML', (name) => {
    const mail = renderTemplate(name, context);
    expect(mail.subject).not.toMatch(/[\r\n]/);
    expect(mail.html).not.toContain('<img src=x');
    expect(mail.text.length).toBeGreaterThan(20);
    expect(mail.html).toContain('<html');
    if (context.ticket && mail.subject.startsWith('[#')) expect(mail.subject.startsWith('[#ABC234] ')).toBe(true);
  });

  it('a ticket message whose ticket is gone cannot be rendered', () => {
    expect(() => renderTemplate('agent_reply', { ...context, ticket: undefined })).toThrow(/no longer exists/);
  });

  it('the unknown-sender notice echoes nothing the sender wrote: it names only our mailbox', () => {
    const mail = renderTemplate('unknown_sender_notice', {
      ...context,
      recipient: { name: 'Visit pills.test', address: 'x@y.test' },
      data: { subject: 'Buy at pills.test' },
    });
    expect(mail.subject).toBe('Your message to support@helpdesk.test was not delivered');
    for (const part of [mail.subject, mail.html, mail.text]) expect(part).not.toMatch(/pills|Buy at/);
    expect(mail.text).toContain('support@helpdesk.test');
  });

  it('answerable mail starts with the reply-above marker in both parts', () => {
    const mail = renderTemplate('agent_reply', context);
    expect(mail.text.startsWith(REPLY_ABOVE_MARKER)).toBe(true);
    expect(mail.html).toContain(REPLY_ABOVE_MARKER);
    expect(mail.html).toContain('<p>Our <strong>answer</strong></p>');
    expect(mail.subject).toBe('[#ABC234] Broken <img src=x onerror=alert(1)>');
  });
});
