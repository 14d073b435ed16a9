import { verifyVerp, verpAddress } from '../../../src/mail/verp';

describe('VERP return paths', () => {
  it('name the message and recipient under our HMAC, in any case, on a mailbox whose address holds a +', () => {
    for (const mailbox of ['support@acme.test', 'help+desk@acme.test']) {
      const address = verpAddress(mailbox, { outboundEmailId: 42, recipientIndex: 3 });
      expect(address).toMatch(/\+bounce-42-3-[0-9a-f]{16}@acme\.test$/);
      expect(verifyVerp(address)).toEqual({ outboundEmailId: 42, recipientIndex: 3 });
      expect(verifyVerp(address.toUpperCase())).toEqual({ outboundEmailId: 42, recipientIndex: 3 });
    }
  });

  it('refuse an altered id, index or HMAC, and anything else', () => {
    const address = verpAddress('support@acme.test', { outboundEmailId: 42, recipientIndex: 0 });
    expect(verifyVerp(address.replace('-42-', '-43-'))).toBeUndefined();
    expect(verifyVerp(address.replace('-0-', '-1-'))).toBeUndefined();
    expect(verifyVerp(address.replace(/-[0-9a-f]{16}@/, '-0123456789abcdef@'))).toBeUndefined();
    for (const other of [
      'support@acme.test',
      'support+kmn345-c12-0123456789abcdef0123@acme.test',
      'bounce-42-0-0123456789abcdef@x',
      '',
      '+@',
      `a+${'b'.repeat(5000)}@x`,
    ]) {
      expect(verifyVerp(other)).toBeUndefined();
    }
  });
});
