/**
 * The one rule for a reply row (src/services/replies/replyRow.ts): each kind of author and
 * flag gives its author, visibility, origin, seen_at, recipient and ticket change. The
 * integration tests (tests/integration/ticketing/replyPaths.test.ts) check that every path
 * stores exactly these rows.
 */
import { setNow } from '../../../src/clock';
import { type ReplyRowInput, replyRow } from '../../../src/services/replies/replyRow';

const T = new Date('2026-04-01T10:00:00Z');
beforeAll(() => setNow(T));
afterAll(() => setNow(undefined));

const base = { ticketId: 7, body: '<p>x</p>' };
const plan = (input: Omit<ReplyRowInput, 'ticketId' | 'body'>) => replyRow({ ...base, ...input });

describe('replyRow', () => {
  it('gives every column but the id, in one key order for every kind (the batch writer groups rows by their keys)', () => {
    const keys = [
      plan({ author: { kind: 'agent', userId: 1, via: 'api' }, toContacts: true, contactIds: [3] }),
      plan({ author: { kind: 'agent', userId: 1, via: 'email' }, toContacts: false }),
      plan({ author: { kind: 'contact', contactId: 3, ofTicketCustomer: true }, flags: ['auto_reply'], inboundEmailId: 9 }),
      plan({ author: { kind: 'system' }, contactIds: [] }),
    ].map((p) => Object.keys(p.row).join(','));
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toBe(
      'ticket_id,body,origin,author_type,author_id,contact_id,customer_visible,seen_at,copy_to_sales,auto_closure_message,flags,inbound_email_id,auth_summary,created_at,updated_at',
    );
  });

  it("an agent's reply sent to the contacts: visible, to the primary contact, an exchange, on_admin_reply", () => {
    const p = plan({ author: { kind: 'agent', userId: 1, via: 'api' }, toContacts: true, contactIds: [3, 4] });
    expect(p.row).toEqual({
      ticket_id: 7,
      body: '<p>x</p>',
      origin: 'admin',
      author_type: 'App\\User',
      author_id: 1,
      contact_id: 3,
      customer_visible: true,
      seen_at: null,
      copy_to_sales: false,
      auto_closure_message: false,
      flags: [],
      inbound_email_id: null,
      auth_summary: null,
      created_at: T,
      updated_at: T,
    });
    expect(p.ticket).toEqual({ exchanges: 1, status: 'on_admin_reply' });
    const byMail = plan({ author: { kind: 'agent', userId: 1, via: 'email' }, toContacts: true, contactIds: [], inboundEmailId: 5 });
    expect(byMail.row).toMatchObject({ origin: 'email', contact_id: null, customer_visible: true, inbound_email_id: 5 });
    expect(byMail.ticket).toEqual({ exchanges: 1, status: 'on_admin_reply' });
  });

  it("carries the inbound message's authenticity verdict (auth_summary), null for any other reply", () => {
    expect(plan({ author: { kind: 'contact', contactId: 3, ofTicketCustomer: true }, inboundEmailId: 9, authSummary: 'fail' }).row.auth_summary).toBe('fail');
    expect(plan({ author: { kind: 'agent', userId: 1, via: 'api' }, toContacts: false }).row.auth_summary).toBeNull();
  });

  it("an agent's reply not sent is an internal note: hidden, no recipient, counts nothing", () => {
    const p = plan({ author: { kind: 'agent', userId: 1, via: 'api' }, toContacts: false, contactIds: [3] });
    expect(p.row).toMatchObject({ origin: 'admin', author_type: 'App\\User', author_id: 1, contact_id: null, customer_visible: false, seen_at: null });
    expect(p.ticket).toEqual({ exchanges: 0, status: null });
  });

  it("an agent's auto-reply is never sent: a note that counts nothing", () => {
    const p = plan({ author: { kind: 'agent', userId: 1, via: 'email' }, toContacts: true, contactIds: [3], flags: ['auto_reply'] });
    expect(p.row).toMatchObject({ customer_visible: false, contact_id: null, flags: ['auto_reply'] });
    expect(p.ticket).toEqual({ exchanges: 0, status: null });
  });

  it("a contact's reply: visible, from that contact, an exchange, on_customer_reply; machine mail too", () => {
    for (const flags of [[], ['machine_generated']]) {
      const p = plan({ author: { kind: 'contact', contactId: 3, ofTicketCustomer: true }, flags, inboundEmailId: 9 });
      expect(p.row).toMatchObject({
        origin: 'email',
        author_type: 'App\\Contact',
        author_id: 3,
        contact_id: 3,
        customer_visible: true,
        seen_at: null,
        flags,
        inbound_email_id: 9,
      });
      expect(p.ticket).toEqual({ exchanges: 1, status: 'on_customer_reply' });
    }
  });

  it("a contact's auto-reply is visible and marked but counts nothing", () => {
    const p = plan({ author: { kind: 'contact', contactId: 3, ofTicketCustomer: true }, flags: ['auto_reply'] });
    expect(p.row).toMatchObject({ customer_visible: true, flags: ['auto_reply'] });
    expect(p.ticket).toEqual({ exchanges: 0, status: null });
  });

  it("another customer's contact: hidden from the customer, counts nothing", () => {
    const p = plan({ author: { kind: 'contact', contactId: 8, ofTicketCustomer: false } });
    expect(p.row).toMatchObject({ author_type: 'App\\Contact', author_id: 8, contact_id: 8, customer_visible: false });
    expect(p.ticket).toEqual({ exchanges: 0, status: null });
  });

  it('the system (the auto-closure reminder): no author id, origin system, visible, to the primary contact, counts nothing', () => {
    const p = plan({ author: { kind: 'system' }, contactIds: [4, 3] });
    expect(p.row).toMatchObject({
      origin: 'system',
      author_type: 'App\\User',
      author_id: null,
      contact_id: 4,
      customer_visible: true,
      auto_closure_message: true,
      seen_at: null,
    });
    expect(p.ticket).toEqual({ exchanges: 0, status: null });
  });

  it("a reply to the contacts without the ticket's contacts is a programming error", () => {
    expect(() => plan({ author: { kind: 'system' } })).toThrow(/contacts/);
    expect(() => plan({ author: { kind: 'agent', userId: 1, via: 'api' }, toContacts: true })).toThrow(/contacts/);
  });
});
