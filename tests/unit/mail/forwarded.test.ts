import type { ReadMessage } from '../../../src/mail/inbound/analyze';
import { addressesInLine, namedCustomerAddresses } from '../../../src/mail/inbound/forwarded';
import { SenderIndex, identifySender } from '../../../src/mail/inbound/sender';

const message = (over: Partial<ReadMessage>): ReadMessage =>
  ({ from: { address: 'agent@helpdesk.test', name: 'Agent' }, to: [], cc: [], attachments: [], bodies: { full: '', reply: '' }, ...over }) as ReadMessage;

describe('namedCustomerAddresses', () => {
  it('reads Reply-To, a forwarded block (HTML or quoted text), then To and Cc, leaving out the sender and our addresses', () => {
    const raw = Buffer.from('From: agent@helpdesk.test\r\nReply-To: "Pat" <Pat@Customer.test>, other@customer.test\r\n\r\nbody');
    const full =
      '<p>FYI</p><p>---------- Forwarded message ---------<br />From: <strong>Sam</strong> &lt;<a href="mailto:sam@customer.test">sam@customer.test</a>&gt;<br />Date: today</p><p>&gt; De : Lou &lt;lou@client.test&gt;</p>';
    const m = message({
      bodies: { full, reply: full },
      to: [{ address: 'support@helpdesk.test', name: '' }],
      cc: [
        { address: 'boss@customer.test', name: '' },
        { address: 'agent@helpdesk.test', name: '' },
      ],
    });
    expect(namedCustomerAddresses(raw, m, new Set(['support@helpdesk.test']))).toEqual([
      'pat@customer.test',
      'other@customer.test',
      'sam@customer.test',
      'lou@client.test',
      'boss@customer.test',
    ]);
  });

  it('ignores "From:" in running text, and a line of thousands of @ in linear time', () => {
    const m = message({ bodies: { full: '<p>Where it came from: nobody@nowhere.test</p>', reply: '' } });
    expect(namedCustomerAddresses(Buffer.from('\r\n'), m)).toEqual([]);
    const line = `From: ${'a@'.repeat(50_000)}b.c`;
    const started = Date.now();
    expect(addressesInLine(line).length).toBeLessThan(3);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('takes a whole address, trimmed of stray dots and dashes', () => {
    expect(addressesInLine('<.pat.o-neil+x@mail.customer.co.uk.>, bad@nodot, @x.test')).toEqual(['pat.o-neil+x@mail.customer.co.uk']);
  });
});

describe('identifySender', () => {
  it('a contact first, then an agent by address or alternate address, any case', () => {
    const index = new SenderIndex();
    index.add({
      contacts: [{ id: 7, contactable_id: 3, email: 'both@x.test' }],
      agents: [{ id: 1, active: true, emails: ['agent@helpdesk.test', 'alias@helpdesk.test', 'both@x.test'] }],
    });
    expect(identifySender(index, 'BOTH@x.test')).toEqual({ contact: { id: 7, contactable_id: 3 } });
    expect(identifySender(index, ' Alias@Helpdesk.test')).toEqual({ agentId: 1, agentActive: true });
    expect(identifySender(index, 'nobody@x.test')).toEqual({});
    expect(identifySender(index, undefined)).toEqual({});
  });
});
