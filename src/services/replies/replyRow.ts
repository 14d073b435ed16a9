/**
 * The one rule for a reply row (issue 14, "one writer per rule"): who wrote it, who sees
 * it, where it came from, whether it counts as seen, and what it counts on its ticket. The
 * API (createReply.ts), the inbound pipeline (mail/inbound/effects.ts, whose batch writes
 * the row in bulk) and the auto-closure job build their rows here and insert them as
 * returned. What each does beyond the row (notifications, reopening, closing, the
 * reminders' record) is its own; the README's table lists it.
 *
 * - An agent's reply is customer-visible exactly when it goes to the ticket's contacts;
 *   otherwise it is an internal note. Its `contact_id` is the contact it went to (the
 *   primary recipient), null for a note.
 * - A contact's reply is customer-visible when the contact is one of the ticket customer's;
 *   an answer from another customer's contact is kept for the agents only. Its
 *   `contact_id` is the contact who wrote it.
 * - The system writes only the auto-closure reminders: `App\User` with no id, origin
 *   `system`, customer-visible, to the primary contact.
 * - An automatic reply (flags hold `auto_reply`, an out-of-office) counts nothing and moves
 *   no status; an agent's one is never sent to the customer, so it is kept as a note.
 * - A message between agent and customer (an agent's reply sent to the contacts, a
 *   contact's own answer) counts one exchange and moves the ticket to the matching
 *   auto-status; nothing else does.
 * - `seen_at` is null on every new reply: replies are marked read only by
 *   `POST /tickets/{id}/read-replies`. Nothing sends a copy to sales (`copy_to_sales`).
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import type { AuthSummary } from '../../models/InboundEmail';
import type { AutoFor } from '../../models/TicketStatus';
import type { Ticket } from '../../models/Ticket';
import { autoStatusId } from '../tickets/statuses';

/**
 * Who writes the reply: an agent through the API (origin `admin`) or by mail (origin
 * `email`); a contact by mail, of the ticket's own customer or of another one (copied in);
 * the system (the auto-closure reminder).
 */
export type ReplyAuthor =
  { kind: 'agent'; userId: number; via: 'api' | 'email' } | { kind: 'contact'; contactId: number; ofTicketCustomer: boolean } | { kind: 'system' };

export interface ReplyRowInput {
  author: ReplyAuthor;
  ticketId: number;
  /** Already sanitized (sanitizeBody, or the pipeline's finalBody). */
  body: string;
  /** An agent's reply: sent to the ticket's contacts (else an internal note). */
  toContacts?: boolean;
  /**
   * The ticket's contacts, primary first (ticketContactIds): needed when the reply goes to
   * them (an agent's sent reply, a reminder), the first being its recipient.
   */
  contactIds?: readonly number[];
  /** Marks inbound mail left (`auto_reply`, `machine_generated`). */
  flags?: readonly string[];
  inboundEmailId?: number | null;
  /** The inbound message's authenticity verdict, when its mailbox checks it. */
  authSummary?: AuthSummary | null;
}

/** Every column of a new reply but its id, keys always in this order (the batch writer groups rows by their keys). */
export interface ReplyRow {
  ticket_id: number;
  body: string;
  origin: 'admin' | 'email' | 'system';
  author_type: 'App\\User' | 'App\\Contact';
  author_id: number | null;
  contact_id: number | null;
  customer_visible: boolean;
  seen_at: null;
  copy_to_sales: false;
  auto_closure_message: boolean;
  flags: string[];
  inbound_email_id: number | null;
  auth_summary: AuthSummary | null;
  created_at: Date;
  updated_at: Date;
}

export interface ReplyPlan {
  row: ReplyRow;
  /** What the reply does to its ticket: exchanges gained and the auto-status it moves to (null: none). */
  ticket: { exchanges: 0 | 1; status: Extract<AutoFor, 'on_admin_reply' | 'on_customer_reply'> | null };
}

/** An automatic reply (an out-of-office), by the marks the pipeline left on it. */
export function isAutoReply(flags: readonly string[] | undefined): boolean {
  return flags?.includes('auto_reply') ?? false;
}

/** The row to insert for a reply, and what it changes on its ticket. */
export function replyRow(input: ReplyRowInput): ReplyPlan {
  const { author } = input;
  const automatic = isAutoReply(input.flags);
  const recipient = () => {
    if (!input.contactIds) throw new Error("a reply sent to the contacts needs the ticket's contacts");
    return input.contactIds[0] ?? null;
  };
  let who: Pick<ReplyRow, 'origin' | 'author_type' | 'author_id' | 'contact_id' | 'customer_visible' | 'auto_closure_message'>;
  let exchange: ReplyPlan['ticket']['status'] = null;
  switch (author.kind) {
    case 'agent': {
      const sent = input.toContacts === true && !automatic;
      who = {
        origin: author.via === 'api' ? 'admin' : 'email',
        author_type: 'App\\User',
        author_id: author.userId,
        contact_id: sent ? recipient() : null,
        customer_visible: sent,
        auto_closure_message: false,
      };
      if (sent) exchange = 'on_admin_reply';
      break;
    }
    case 'contact':
      who = {
        origin: 'email',
        author_type: 'App\\Contact',
        author_id: author.contactId,
        contact_id: author.contactId,
        customer_visible: author.ofTicketCustomer,
        auto_closure_message: false,
      };
      if (author.ofTicketCustomer && !automatic) exchange = 'on_customer_reply';
      break;
    case 'system':
      who = { origin: 'system', author_type: 'App\\User', author_id: null, contact_id: recipient(), customer_visible: true, auto_closure_message: true };
      break;
  }
  const at = now();
  return {
    row: {
      ticket_id: input.ticketId,
      body: input.body,
      origin: who.origin,
      author_type: who.author_type,
      author_id: who.author_id,
      contact_id: who.contact_id,
      customer_visible: who.customer_visible,
      seen_at: null,
      copy_to_sales: false,
      auto_closure_message: who.auto_closure_message,
      flags: [...(input.flags ?? [])],
      inbound_email_id: input.inboundEmailId ?? null,
      auth_summary: input.authSummary ?? null,
      created_at: at,
      updated_at: at,
    },
    ticket: { exchanges: exchange ? 1 : 0, status: exchange },
  };
}

/** The ticket's columns a planned reply changes (`exchanges`, `status_id`); empty when it changes none. */
export async function ticketChange(trx: Knex, ticket: Pick<Ticket, 'exchanges'>, plan: ReplyPlan): Promise<Partial<Pick<Ticket, 'exchanges' | 'status_id'>>> {
  if (plan.ticket.exchanges === 0 && !plan.ticket.status) return {};
  const statusId = plan.ticket.status ? await autoStatusId(trx, plan.ticket.status) : null;
  return { exchanges: ticket.exchanges + plan.ticket.exchanges, ...(statusId ? { status_id: statusId } : {}) };
}
