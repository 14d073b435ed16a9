/**
 * What a person does with mail the pipeline held: assign a quarantined message to a
 * customer or a ticket, dismiss it, or run a failed one through the pipeline again. These
 * drive the pipeline, so they live beside it (services never import the mail pipeline);
 * listing and showing inbound mail are services (src/services/inbound/inboundEmails.ts).
 */
import { db } from '../../db/knex';
import { AppError, invalid } from '../../errors';
import { InboundEmail } from '../../models/InboundEmail';
import { Mailbox } from '../../models/Mailbox';
import { Ticket } from '../../models/Ticket';
import { rawOf, showInboundEmail } from '../../services/inbound/inboundEmails';
import { found } from '../../services/lookup';
import { ourAddresses } from '../../services/mailboxes/mailboxes';
import type { ReadMessage } from './analyze';
import { readInPool } from './cpuPool';
import { agentNote, customerReply, foreignContactReply, ticketFromMail } from './effects';
import { namedCustomerAddresses } from './forwarded';
import { type IngestResult, ingestMessage } from './ingest';
import { MailWork } from './mailWork';
import { type Contact, identifySender, lookupSenders } from './sender';

const notQuarantined = (row: InboundEmail, what = 'assigned') =>
  new AppError(409, 'conflict', `only quarantined messages can be ${what}; this one is ${row.outcome}`);

/** What an assignment made of the message, for its row. */
interface Assigned {
  outcome: 'ticket_created' | 'reply_added';
  ticketId: number;
  replyId?: number;
  /** Added to the row's reason. */
  note?: string;
  flags?: string[];
}

interface AssignInput {
  work: MailWork;
  mailbox: Mailbox;
  parsed: ReadMessage;
  raw: Buffer;
  row: InboundEmail;
  /** The ticket it answers (ticket_id), locked. */
  ticket?: Ticket;
  /** The customer it is filed under: the ticket's, or the one chosen (customer_id). */
  customerId: number;
}

/**
 * Turns a quarantined message into a new ticket of `customerId` or a reply on `ticketId`.
 * The sender is identified by the pipeline's own rule (mail/inbound/sender.ts): a contact,
 * else an agent by address or alternate address, else nobody.
 */
export async function assignInboundEmail(id: number, target: { customer_id?: number; ticket_id?: number }, actorId: number): Promise<InboundEmail> {
  if (!target.customer_id === !target.ticket_id) throw invalid({ customer_id: 'give exactly one of customer_id and ticket_id' });
  // read in the CPU pool before the transaction: no row lock or pooled connection waits on it
  const stored = await showInboundEmail(id);
  if (stored.outcome !== 'quarantined') throw notQuarantined(stored);
  const raw = await rawOf(stored);
  // a message over INBOUND_MAX_BYTES was kept only by its start, one the server would not send not at all:
  // a ticket of it would hold cut-off attachments, or nothing
  if (raw.length === 0 || Number(stored.size) > raw.length) {
    throw new AppError(
      409,
      'conflict',
      `only the first ${raw.length} of this message's ${stored.size} bytes were kept (see its reason), so it cannot be assigned; read what was kept with GET .../inbound_emails/${id}/raw`,
    );
  }
  const analysis = await readInPool(raw);
  if (!analysis.ok) throw new AppError(409, 'conflict', `the message cannot be read: ${analysis.reason}`);
  const parsed = analysis.message;
  return db().transaction(async (trx) => {
    const row = found(await InboundEmail.query(trx).findById(id).forUpdate(), 'inbound email', id);
    if (row.outcome !== 'quarantined') throw notQuarantined(row);
    if (row.raw_sha256 !== stored.raw_sha256) throw new AppError(409, 'conflict', 'the message changed while it was read; try again');
    const mailbox = row.mailbox_id ? await Mailbox.query(trx).findById(row.mailbox_id) : undefined;
    if (!mailbox) throw new AppError(409, 'conflict', 'the mailbox of this message no longer exists');
    const address = parsed.from?.address;
    if (!address) throw new AppError(409, 'conflict', 'the message has no sender address');
    const ticket = target.ticket_id ? await Ticket.query(trx).findById(target.ticket_id).forUpdate() : undefined;
    if (target.ticket_id && !ticket) throw invalid({ ticket_id: `no ticket with id ${target.ticket_id}` });
    const customerId = ticket?.ticketable_id ?? target.customer_id!;
    if (!(await trx('customers').where({ id: customerId }).first('id'))) throw invalid({ customer_id: `no customer with id ${customerId}` });

    const sender = identifySender(await lookupSenders(trx, [address]), address);
    const input: AssignInput = { work: new MailWork(trx, mailbox.id), mailbox, parsed, raw, row, ticket, customerId };
    const done = sender.agentId !== undefined ? await assignAgentMail(input, sender.agentId) : await assignPersonMail(input, address, sender.contact);
    await input.work.writes.flush();
    return row.$query(trx).patchAndFetch({
      outcome: done.outcome,
      reason: [`assigned by user ${actorId}`, done.note].filter(Boolean).join('; '),
      ticket_id: done.ticketId,
      reply_id: done.replyId ?? null,
      // `assigned`: it came through quarantine (the team report counts it among the day's held mail)
      flags: [...new Set([...row.flags, ...(done.flags ?? []), 'assigned'])],
    });
  });
}

/**
 * Dismisses a quarantined message (spam, a stranger nobody answers): it becomes `rejected`,
 * its reason saying who dismissed it, flagged `dismissed`, and no longer waits (the
 * quarantine digest stops naming it). Nothing is sent to the sender: a notice would be
 * backscatter. The raw message stays, as for any rejected mail.
 */
export async function dismissInboundEmail(id: number, actorId: number): Promise<InboundEmail> {
  return db().transaction(async (trx) => {
    const row = found(await InboundEmail.query(trx).findById(id).forUpdate(), 'inbound email', id);
    if (row.outcome !== 'quarantined') throw notQuarantined(row, 'dismissed');
    return row.$query(trx).patchAndFetch({
      outcome: 'rejected',
      reason: [row.reason, `dismissed by user ${actorId}`].filter(Boolean).join('; '),
      flags: [...new Set([...row.flags, 'dismissed'])],
    });
  });
}

/**
 * A contact's or a stranger's mail. A stranger becomes a contact of the ticket's (or the
 * chosen) customer. A contact of another customer never joins the ticket and never moves
 * it: on a ticket it is a hidden answer for the agents (as in the pipeline); with
 * `customer_id` the ticket is filed under the chosen customer, with no contact, its
 * author the sender.
 */
async function assignPersonMail(a: AssignInput, address: string, known: Contact | undefined): Promise<Assigned> {
  const { work, ticket, parsed, row } = a;
  const mail = { parsed, flags: row.flags, inboundEmailId: row.id, authSummary: row.auth?.summary ?? null };
  const contact = known ?? (await work.addContact({ contactable_id: a.customerId, name: parsed.from?.name || address, email: address }));
  const foreign = contact.contactable_id !== a.customerId;
  if (ticket && foreign) {
    const reply = await foreignContactReply(work, { ...mail, ticket, contactId: contact.id, notifyTeam: false });
    return {
      outcome: 'reply_added',
      ticketId: ticket.id,
      replyId: reply.id,
      note: 'a contact of another customer, not added to the ticket',
      flags: ['other_customer'],
    };
  }
  if (ticket) {
    work.writes.insert('ticket_contacts', { ticket_id: ticket.id, contact_id: contact.id });
    const reply = await customerReply(work, { ...mail, ticket, contactId: contact.id });
    return { outcome: 'reply_added', ticketId: ticket.id, replyId: reply.id };
  }
  if (foreign) {
    const created = await ticketFromMail(work, {
      ...mail,
      mailbox: a.mailbox,
      contact: null,
      customerId: a.customerId,
      author: { type: 'App\\Contact', id: contact.id },
    });
    return {
      outcome: 'ticket_created',
      ticketId: created.id,
      note: 'the sender is a contact of another customer: filed under the chosen customer, not added to the ticket',
      flags: ['other_customer'],
    };
  }
  const created = await ticketFromMail(work, { ...mail, mailbox: a.mailbox, contact });
  return { outcome: 'ticket_created', ticketId: created.id };
}

/**
 * An agent's own mail held because no reply token proved it (a forward of a customer's
 * message, or mail to a customer with the support address copied). A person assigning it
 * through the API vouches for it (an inactive agent's old mail too), but nothing goes to a
 * customer on that word alone:
 * - on a ticket (`ticket_id`) it is the agent's internal note (not customer-visible, not
 *   sent, no status change); the agent can answer the customer from the ticket;
 * - with `customer_id` it is a new ticket of that customer, written by the agent. Its
 *   contact is the first address the mail names as the customer (Reply-To, an attached
 *   message's From, a forwarded block's "From:" line, then To and Cc) that is already a
 *   contact of that very customer: what users expect of "forward to the helpdesk". When
 *   none is, the ticket has no contact (the ticket model allows it) rather than a contact
 *   made from text anyone could have typed; an agent can add one. No acknowledgement is
 *   sent (the customer did not write to us), and the team is told as for any new ticket.
 */
async function assignAgentMail(a: AssignInput, agentId: number): Promise<Assigned> {
  const { work, ticket, parsed, row } = a;
  const mail = { parsed, flags: row.flags, inboundEmailId: row.id, authSummary: row.auth?.summary ?? null };
  if (ticket) {
    const reply = await agentNote(work, { ...mail, ticket, agentId });
    return {
      outcome: 'reply_added',
      ticketId: ticket.id,
      replyId: reply.id,
      note: "an agent's mail without a reply token: kept as the agent's internal note, not sent to the customer",
    };
  }
  const named = namedCustomerAddresses(a.raw, parsed, await ourAddresses(work.trx));
  const people = await lookupSenders(work.trx, named);
  const contact = named.map((n) => people.contact(n)).find((c) => c?.contactable_id === a.customerId) ?? null;
  const created = await ticketFromMail(work, { ...mail, mailbox: a.mailbox, contact, customerId: a.customerId, author: { type: 'App\\User', id: agentId } });
  const note = contact
    ? `an agent's forward, for contact ${contact.id} of the chosen customer`
    : "an agent's forward; no contact of the chosen customer named in it";
  return { outcome: 'ticket_created', ticketId: created.id, note };
}

/** Runs a `failed` message through the pipeline again. */
export async function retryInboundEmail(id: number): Promise<IngestResult> {
  const row = await showInboundEmail(id);
  if (row.outcome !== 'failed') throw new AppError(409, 'conflict', `only failed messages can be retried; this one is ${row.outcome}`);
  const mailbox = row.mailbox_id ? await Mailbox.query().findById(row.mailbox_id) : undefined;
  if (!mailbox) throw new AppError(409, 'conflict', 'the mailbox of this message no longer exists');
  return ingestMessage({ mailbox, raw: await rawOf(row), uid: row.imap_uid ?? undefined });
}
