/**
 * The record of every message received: listing, the raw original, and what an agent does
 * with what the pipeline held back (assign a quarantined message to a customer or a
 * ticket) or could not process (retry a failed one).
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { db } from '../../db/knex';
import { conn } from '../../db/transaction';
import { AppError, invalid } from '../../errors';
import { type Page, type PageRequest, fetchModelPage } from '../../http/pagination';
import { customerReply, foreignContactReply, ticketFromMail } from '../../mail/inbound/effects';
import { type IngestResult, ingestMessage } from '../../mail/inbound/ingest';
import { MailWork } from '../../mail/inbound/mailWork';
import { readInPool } from '../../mail/inbound/cpuPool';
import { InboundEmail } from '../../models/InboundEmail';
import { Mailbox } from '../../models/Mailbox';
import { Ticket } from '../../models/Ticket';
import { readBlobBuffer } from '../blobs/blobStore';
import { found } from '../lookup';

export async function listInboundEmails(
  opts: { page: PageRequest; outcome?: string; mailbox_id?: number; message_id?: string },
  trx?: Knex,
): Promise<Page<InboundEmail>> {
  const q = InboundEmail.query(conn(trx)).orderBy('id', 'desc');
  if (opts.outcome) q.where({ outcome: opts.outcome });
  if (opts.mailbox_id) q.where({ mailbox_id: opts.mailbox_id });
  if (opts.message_id) q.where({ message_id: opts.message_id });
  return fetchModelPage(q, opts.page);
}

export async function showInboundEmail(id: number, trx?: Knex): Promise<InboundEmail> {
  return found(await InboundEmail.query(conn(trx)).findById(id), 'inbound email', id);
}

export async function rawInboundEmail(id: number): Promise<Buffer> {
  const row = await showInboundEmail(id);
  return readBlobBuffer(db(), row.raw_sha256);
}

/** Turns a quarantined message into a new ticket of `customerId` or a reply on `ticketId`. */
export async function assignInboundEmail(
  id: number,
  target: { customer_id?: number; ticket_id?: number },
  actorId: number,
): Promise<InboundEmail> {
  if (!target.customer_id === !target.ticket_id) throw invalid({ customer_id: 'give exactly one of customer_id and ticket_id' });
  // read in the CPU pool before the transaction: no row lock or pooled connection waits on it
  const stored = await showInboundEmail(id);
  const analysis = await readInPool(await readBlobBuffer(db(), stored.raw_sha256));
  if (!analysis.ok) throw new AppError(409, 'conflict', `the message cannot be read: ${analysis.reason}`);
  const parsed = analysis.message;
  return db().transaction(async (trx) => {
    const row = found(await InboundEmail.query(trx).findById(id).forUpdate(), 'inbound email', id);
    if (row.outcome !== 'quarantined') throw new AppError(409, 'conflict', `only quarantined messages can be assigned; this one is ${row.outcome}`);
    if (row.raw_sha256 !== stored.raw_sha256) throw new AppError(409, 'conflict', 'the message changed while it was read; try again');
    const mailbox = row.mailbox_id ? await Mailbox.query(trx).findById(row.mailbox_id) : undefined;
    if (!mailbox) throw new AppError(409, 'conflict', 'the mailbox of this message no longer exists');
    const address = parsed.from?.address;
    if (!address) throw new AppError(409, 'conflict', 'the message has no sender address');
    if (await trx('users').whereRaw('lower(email) = ?', [address]).first('id')) {
      throw new AppError(409, 'conflict', "the sender is an agent; an agent's unproven mail cannot be assigned");
    }
    const ticket = target.ticket_id ? await Ticket.query(trx).findById(target.ticket_id).forUpdate() : undefined;
    if (target.ticket_id && !ticket) throw invalid({ ticket_id: `no ticket with id ${target.ticket_id}` });
    const customerId = ticket?.ticketable_id ?? target.customer_id!;
    if (!(await trx('customers').where({ id: customerId }).first('id'))) throw invalid({ customer_id: `no customer with id ${customerId}` });

    let contact = await trx('contacts').whereRaw('lower(email) = ?', [address]).first('id', 'contactable_id');
    if (!contact) {
      [contact] = await trx('contacts')
        .insert({ contactable_id: customerId, name: parsed.from?.name || address, email: address, created_at: now(), updated_at: now() })
        .returning(['id', 'contactable_id']);
    }
    const reason = `assigned by user ${actorId}`;
    const work = new MailWork(trx, mailbox.id);
    if (ticket && contact.contactable_id !== ticket.ticketable_id) {
      // a contact of another customer: shown to the agents on the ticket, never one of its contacts
      const reply = await foreignContactReply(work, { ticket, parsed, flags: row.flags, inboundEmailId: row.id, contactId: contact.id, notifyTeam: false });
      await work.writes.flush();
      return row.$query(trx).patchAndFetch({ outcome: 'reply_added', reason: `${reason}; a contact of another customer, not added to the ticket`, ticket_id: ticket.id, reply_id: reply.id });
    }
    if (ticket) {
      await trx('ticket_contacts').insert({ ticket_id: ticket.id, contact_id: contact.id }).onConflict().ignore();
      const reply = await customerReply(work, { ticket, parsed, flags: row.flags, inboundEmailId: row.id, contactId: contact.id, autoReply: false });
      await work.writes.flush();
      return row.$query(trx).patchAndFetch({ outcome: 'reply_added', reason, ticket_id: ticket.id, reply_id: reply.id });
    }
    const created = await ticketFromMail(work, { mailbox, contact, parsed, flags: row.flags, inboundEmailId: row.id });
    await work.writes.flush();
    return row.$query(trx).patchAndFetch({ outcome: 'ticket_created', reason, ticket_id: created.id });
  });
}

/** Runs a `failed` message through the pipeline again. */
export async function retryInboundEmail(id: number): Promise<IngestResult> {
  const row = await showInboundEmail(id);
  if (row.outcome !== 'failed') throw new AppError(409, 'conflict', `only failed messages can be retried; this one is ${row.outcome}`);
  const mailbox = row.mailbox_id ? await Mailbox.query().findById(row.mailbox_id) : undefined;
  if (!mailbox) throw new AppError(409, 'conflict', 'the mailbox of this message no longer exists');
  return ingestMessage({ mailbox, raw: await readBlobBuffer(db(), row.raw_sha256), uid: row.imap_uid ?? undefined });
}
