/**
 * One batch of inbound mail for one mailbox, in one transaction: the IMAP poller's lane
 * of unrelated messages, or a single message. At the start, three statements draw ids
 * ahead and fetch what the pipeline looks up for the whole batch (stored copies, senders,
 * the tickets and Message-IDs the messages name, locked); what it writes is held in
 * BatchWrites and written at the end. The lookups here also see what earlier messages of the batch
 * created (a reply to a message a few UIDs before it finds that message's ticket).
 *
 * Reads straight through `trx` do not see the held rows: a rare path that needs them
 * (an agent's mail, a bounce) calls `direct()`, which writes everything held first.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { Ticket } from '../../models/Ticket';
import { fitText } from '../../text/cleanText';
import { type Outbox, type QueueEmailInput, outboundMessageIdRow, outboundRow } from '../../services/outbox/queueEmail';
import { BatchWrites, type IdTable } from './batchWrites';
import { type Agent, type Contact, SENDER_LOOKUP_SQL, type SenderRows, SenderIndex, senderLookupBindings } from './sender';

export type { Agent, Contact };

/** What the batch needs to know of each message before it is decided. */
export interface LookupKeys {
  messageId: string;
  sender?: string;
  /** Message-IDs it answers (In-Reply-To, References). */
  answers: string[];
  /** Ticket numbers it names (reply token, subject). */
  ticketNumbers: string[];
}

interface MessageIdRow {
  ticket_id: number;
  outbound_email_id: number | null;
}

/** Ids drawn ahead per message of a batch, enough for most (more are drawn when they run out). */
const IDS_PER_MESSAGE: Partial<Record<IdTable, number>> = { inbound_emails: 1, tickets: 1, replies: 1, outbound_emails: 2, attachments: 1 };

export class MailWork implements Outbox {
  readonly writes: BatchWrites;
  private readonly inbound = new Map<string, { id: number; outcome: string }>();
  private readonly claimed = new Set<string>();
  /** Contacts and agents of the batch's senders (sender.ts holds the matching rule). */
  private readonly senders = new SenderIndex();
  private readonly messageIds = new Map<string, MessageIdRow>();
  private readonly tickets = new Map<number, Ticket>();
  private readonly ticketsByNumber = new Map<string, Ticket>();

  constructor(
    readonly trx: Knex.Transaction,
    readonly mailboxId: number,
    /** False: the batch queues no mail at all (importing an old archive: see importArchive.ts). */
    private readonly notify = true,
  ) {
    this.writes = new BatchWrites(trx);
  }

  /** Fetches what `messages` will look up, and draws ids for the rows they will add. */
  async prefetch(messages: LookupKeys[]): Promise<void> {
    const ids = [...new Set(messages.map((m) => m.messageId))];
    const senders = [...new Set(messages.flatMap((m) => (m.sender ? [m.sender] : [])))];
    const answers = [...new Set(messages.flatMap((m) => m.answers))];
    const counts = Object.fromEntries(Object.entries(IDS_PER_MESSAGE).map(([t, n]) => [t, Math.ceil(n! * messages.length) + 1]));
    await this.writes.reserve(counts, messages.length + 1);
    const senderBindings = senderLookupBindings(senders);
    const { rows } = await this.trx.raw(
      `select
           (select coalesce(json_agg(json_build_object('id', id, 'message_id', message_id, 'outcome', outcome)), '[]')
              from inbound_emails where coalesce(mailbox_id, 0) = ? and message_id = any(?::text[])) as inbound,
           ${SENDER_LOOKUP_SQL.contacts} as contacts,
           ${SENDER_LOOKUP_SQL.agents} as agents,
           (select coalesce(json_agg(json_build_object('message_id', message_id, 'ticket_id', ticket_id, 'outbound_email_id', outbound_email_id) order by id), '[]')
              from ticket_message_ids where message_id = any(?::text[])) as message_ids`,
      [this.mailboxId, ids, ...senderBindings.contacts, ...senderBindings.agents, answers],
    );
    const found = rows[0] as SenderRows & {
      inbound: { id: number; message_id: string; outcome: string }[];
      message_ids: (MessageIdRow & { message_id: string })[];
    };
    for (const r of found.inbound) this.inbound.set(r.message_id, { id: r.id, outcome: r.outcome });
    this.senders.add(found);
    for (const m of found.message_ids) if (!this.messageIds.has(m.message_id)) this.messageIds.set(m.message_id, m);

    const ticketIds = [...new Set(found.message_ids.map((m) => m.ticket_id))];
    const numbers = [...new Set(messages.flatMap((m) => m.ticketNumbers))];
    if (ticketIds.length || numbers.length) {
      const tickets = await Ticket.query(this.trx)
        .where((q) => q.whereIn('id', ticketIds).orWhereIn('number', numbers))
        .orderBy('id')
        .forUpdate();
      for (const t of tickets) this.addTicket(t);
    }
  }

  /** The stored copy of a message of this mailbox, by Message-ID; 'claimed' when an earlier message of the batch has it. */
  stored(messageId: string): { id: number; outcome: string } | 'claimed' | undefined {
    return this.claimed.has(messageId) ? 'claimed' : this.inbound.get(messageId);
  }

  claim(messageId: string): void {
    this.claimed.add(messageId);
  }

  contact(address: string): Contact | undefined {
    return this.senders.contact(address);
  }

  agent(address: string): Agent | undefined {
    return this.senders.agent(address);
  }

  async addContact(row: { contactable_id: number; name: string; email: string }): Promise<Contact> {
    const contact = { id: await this.writes.id('contacts'), contactable_id: row.contactable_id };
    this.writes.insert('contacts', { ...contact, name: fitText(row.name, 255), email: row.email, created_at: now(), updated_at: now() });
    this.senders.addContact(row.email, contact);
    return contact;
  }

  /** The first of `ids` recorded on a ticket, with that ticket. */
  threadOf(ids: string[]): { ticket: Ticket; outboundId: number | null } | undefined {
    for (const id of ids) {
      const row = this.messageIds.get(id);
      const ticket = row && this.tickets.get(row.ticket_id);
      if (ticket) return { ticket, outboundId: row.outbound_email_id };
    }
    return undefined;
  }

  ticketByNumber(number: string): Ticket | undefined {
    return this.ticketsByNumber.get(number);
  }

  private addTicket(ticket: Ticket): void {
    this.tickets.set(ticket.id, ticket);
    this.ticketsByNumber.set(ticket.number, ticket);
  }

  /** Adds a ticket from its row (see newTicketRow), with its primary contact linked. */
  async insertTicket(row: Record<string, unknown> & { contact_id: number | null }): Promise<Ticket> {
    const full = { ...row, id: await this.writes.id('tickets'), number: await this.writes.ticketNumber() };
    this.writes.insert('tickets', full);
    if (full.contact_id) this.writes.insert('ticket_contacts', { ticket_id: full.id, contact_id: full.contact_id });
    // `exchanges` is read by a reply later in the batch; the other defaults are the database's
    const ticket = Ticket.fromDatabaseJson({ exchanges: 0, closure: false, closure_requested_at: null, ...full });
    this.addTicket(ticket);
    return ticket;
  }

  /**
   * Changes a ticket of the batch (the object the lookups return, and its row). Opening a
   * closed one counts a reopen: the object holds the row as locked and changed so far.
   */
  updateTicket(ticket: Ticket, patch: Partial<Ticket>): void {
    if (patch.open === true && ticket.open === false) patch = { ...patch, reopen_count: (ticket.reopen_count ?? 0) + 1 };
    Object.assign(ticket, patch);
    this.writes.update('tickets', ticket.id, patch as Record<string, unknown>);
  }

  recordMessageId(row: {
    message_id: string;
    ticket_id: number;
    reply_id: number | null;
    outbound_email_id?: number | null;
    direction: 'in' | 'out';
    created_at: Date;
  }): void {
    this.writes.insert('ticket_message_ids', row);
    if (!this.messageIds.has(row.message_id))
      this.messageIds.set(row.message_id, { ticket_id: row.ticket_id, outbound_email_id: row.outbound_email_id ?? null });
  }

  /** Outbox: the message's row (and its Message-ID on the ticket) are written with the batch. */
  async queue(input: Omit<QueueEmailInput, 'trx'>): Promise<void> {
    if (!this.notify) return;
    const at = now();
    const row = { ...outboundRow(input), id: await this.writes.id('outbound_emails'), created_at: at, updated_at: at };
    this.writes.insert('outbound_emails', row);
    if (row.ticket_id) this.recordMessageId(outboundMessageIdRow(row, at));
  }

  /** Writes everything held, so `trx` reads see it. */
  async direct(): Promise<Knex.Transaction> {
    await this.writes.flush();
    return this.trx;
  }
}
