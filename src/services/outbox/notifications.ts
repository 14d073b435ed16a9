/**
 * Who gets which message, queued in the caller's transaction. Customer mail is one
 * message (primary contact in To, the ticket's other contacts in Cc); mail to agents is
 * one message per agent (each gets a reply address of their own), never to the author.
 * The mailer drops our own, undeliverable and no-reply addresses and applies the hourly
 * limit on automatic mail when it sends. Each takes a transaction or an Outbox (the
 * inbound pipeline's batch).
 */
import type { Knex } from 'knex';
import type { Address } from '../../models/OutboundEmail';
import type { Ticket } from '../../models/Ticket';
import { ticketContactIds } from '../tickets/loadTicket';
import { type Outbox, outboxOf } from './queueEmail';

type TicketRef = Pick<Ticket, 'id' | 'contact_id' | 'team_id' | 'assignee_id'>;

/** The ticket's contacts as recipients, the primary contact first. */
export async function contactRecipients(trx: Knex, ticket: TicketRef): Promise<Address[]> {
  const ids = await ticketContactIds(trx, ticket as Ticket);
  if (ids.length === 0) return [];
  const rows: { id: number; name: string; email: string }[] = await trx('contacts').whereIn('id', ids).select('id', 'name', 'email');
  return ids.flatMap((id) => {
    const c = rows.find((r) => r.id === id);
    return c ? [{ name: c.name, address: c.email }] : [];
  });
}

/**
 * Customer mail about the ticket (an agent's reply, a reminder, a closing notice): one
 * message to all its contacts. Returns false when the ticket has no contact.
 */
export async function queueCustomerMail(
  target: Knex | Outbox,
  ticket: TicketRef,
  opts: { template: string; replyId?: number | null; automatic: boolean; data?: Record<string, unknown> },
): Promise<boolean> {
  const out = outboxOf(target);
  const [primary, ...others] = await contactRecipients(out.trx, ticket);
  if (!primary) return false;
  await out.queue({
    template: opts.template,
    to: [primary],
    cc: others,
    ticketId: ticket.id,
    replyId: opts.replyId ?? null,
    data: { ...opts.data, ticket_id: ticket.id, reply_id: opts.replyId ?? null },
    automatic: opts.automatic,
  });
  return true;
}

/** The ticket's team members, plus its assignee. */
export async function teamMemberIds(trx: Knex, ticket: TicketRef): Promise<number[]> {
  const ids = new Set<number>();
  if (ticket.team_id) {
    const rows: { user_id: number }[] = await trx('support_team_members').where({ support_team_id: ticket.team_id }).select('user_id');
    for (const r of rows) ids.add(r.user_id);
  }
  if (ticket.assignee_id) ids.add(ticket.assignee_id);
  return [...ids];
}

/** One automatic message per active agent in `userIds` (with its template), none to `exceptUserId`. */
export async function queueAgentMail(
  target: Knex | Outbox,
  ticket: TicketRef,
  recipients: Map<number, string>,
  opts: { replyId?: number | null; exceptUserId?: number; data?: Record<string, unknown> },
): Promise<void> {
  if (opts.exceptUserId !== undefined) recipients.delete(opts.exceptUserId);
  if (recipients.size === 0) return;
  const out = outboxOf(target);
  const users: { id: number; name: string; email: string }[] = await out
    .trx('users')
    .whereIn('id', [...recipients.keys()])
    .where({ active: true })
    .orderBy('id')
    .select('id', 'name', 'email');
  for (const user of users) {
    await out.queue({
      template: recipients.get(user.id)!,
      to: [{ name: user.name, address: user.email }],
      ticketId: ticket.id,
      replyId: opts.replyId ?? null,
      recipientUserId: user.id,
      data: { ...opts.data, ticket_id: ticket.id, reply_id: opts.replyId ?? null },
      automatic: true,
    });
  }
}

/** The team (and assignee) hear of a new ticket or a customer reply, the author excepted. */
export async function queueTeamNotification(
  target: Knex | Outbox,
  ticket: TicketRef,
  template: 'new_ticket_to_team' | 'customer_reply_to_team',
  opts: { replyId?: number; exceptUserId?: number } = {},
): Promise<void> {
  const ids = await teamMemberIds(outboxOf(target).trx, ticket);
  await queueAgentMail(target, ticket, new Map(ids.map((id) => [id, template])), opts);
}
