/**
 * Opening a ticket, from the API (an agent) or from mail (a contact).
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { inTransaction } from '../../db/transaction';
import { Ticket } from '../../models/Ticket';
import { sanitizeBody, stripTags } from '../html/sanitize';
import { autoStatusId } from './statuses';
import { randomTicketNumber } from './ticketNumber';
import { checkTicketRefs, requireTicketable } from './ticketRules';

const FOUR_HOURS_MS = 4 * 3600 * 1000;

export interface CreateTicketInput {
  ticketable_type: string;
  ticketable_id: number;
  subject: string;
  body: string;
  priority_id: number;
  ticket_category_id: number;
  ticket_sub_category_id: number;
  estimated_resolution_date?: Date;
  tags?: string[];
  team_id?: number | null;
  status_id?: number | null;
  contract_id?: number | null;
  contact_id?: number | null;
  billable?: boolean;
  close?: boolean;
  /** Who wrote it: an agent through the API, or a contact by mail. */
  author: { type: 'App\\User' | 'App\\Contact'; id: number };
  /** The agent who opens it (assignee and opener); none for mail. */
  openerId?: number | null;
  origin: string;
  opened_via: string;
  /** When the ticket is dated (the invoicing route back-dates); now by default. */
  openedAt?: Date;
  flags?: string[];
  mailbox_id?: number | null;
  previous_ticket_id?: number | null;
}

/** The row of a new ticket (no id, no number yet): sanitized text and the defaults. */
export async function newTicketRow(input: CreateTicketInput, trx: Knex) {
  const at = now();
  const closing = input.close === true;
  return {
    subject: stripTags(input.subject),
    body: sanitizeBody(input.body),
    ticketable_type: input.ticketable_type,
    ticketable_id: input.ticketable_id,
    priority_id: input.priority_id,
    ticket_category_id: input.ticket_category_id,
    ticket_sub_category_id: input.ticket_sub_category_id,
    status_id: input.status_id ?? (await autoStatusId(trx, 'default')),
    team_id: input.team_id ?? null,
    contract_id: input.contract_id ?? null,
    contact_id: input.contact_id ?? null,
    assignee_id: input.openerId ?? null,
    assigned_by: input.openerId ?? null,
    assigned_at: input.openerId ? at : null,
    opener_id: input.openerId ?? null,
    author_type: input.author.type,
    author_id: input.author.id,
    open: !closing,
    closed_at: closing ? (input.openedAt ?? at) : null,
    origin: input.origin,
    opened_via: input.opened_via,
    estimated_resolution_date: input.estimated_resolution_date ?? new Date(at.getTime() + FOUR_HOURS_MS),
    tags: input.tags ?? [],
    billable: input.billable ?? true,
    opened_at: input.openedAt ?? at,
    flags: input.flags ?? [],
    mailbox_id: input.mailbox_id ?? null,
    previous_ticket_id: input.previous_ticket_id ?? null,
    created_at: at,
    updated_at: at,
  };
}

/** Creates the ticket (with its primary contact linked) and returns it. */
export async function createTicket(input: CreateTicketInput, trx?: Knex): Promise<Ticket> {
  return inTransaction(trx, async (t) => {
    await requireTicketable(t, input.ticketable_type, input.ticketable_id);
    await checkTicketRefs(t, input, input.ticketable_id);
    const ticket = await insertWithFreshNumber(t, await newTicketRow(input, t));
    if (ticket.contact_id) {
      await t('ticket_contacts').insert({ ticket_id: ticket.id, contact_id: ticket.contact_id });
    }
    return ticket;
  });
}

/** Inserts under a random number, drawing again when another ticket already has it. */
async function insertWithFreshNumber(trx: Knex.Transaction, row: Partial<Ticket>): Promise<Ticket> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const [inserted] = await trx('tickets')
      .insert({ ...row, number: randomTicketNumber() })
      .onConflict('number')
      .ignore()
      .returning('*');
    if (inserted) return Ticket.fromDatabaseJson(inserted);
  }
  throw new Error('could not draw a free ticket number in 20 attempts');
}
