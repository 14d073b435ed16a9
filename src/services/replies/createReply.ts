/**
 * An agent's reply through the API. Customer-visible when sent to the contacts (then the
 * ticket counts an exchange and moves to the `on_admin_reply` status); otherwise an
 * internal note that changes no status. The mail its flags ask for is queued in the same
 * transaction.
 */
import type { Knex } from 'knex';
import { inTransaction } from '../../db/transaction';
import { invalid } from '../../errors';
import { Reply } from '../../models/Reply';
import type { Ticket } from '../../models/Ticket';
import { User } from '../../models/User';
import { sanitizeBody } from '../html/sanitize';
import { queueEmail } from '../outbox/queueEmail';
import { closeTicket } from '../tickets/lifecycle';
import { loadTicket, ticketContactIds } from '../tickets/loadTicket';
import { autoStatusId } from '../tickets/statuses';

export interface CreateReplyInput {
  ticketId: number;
  actorId: number;
  body: string;
  close: boolean;
  send_to_assignee: boolean;
  send_to_contacts: boolean;
  notify_team?: boolean;
  notify_customer?: boolean;
}

/** True when sanitized HTML has no text and no image left. */
function isEmptyBody(html: string): boolean {
  return !/<img\b/i.test(html) && html.replace(/<[^>]*>/g, '').replace(/&nbsp;|\s/g, '') === '';
}

export async function createReply(input: CreateReplyInput, trx?: Knex): Promise<Reply> {
  return inTransaction(trx, async (t) => {
    const ticket = await loadTicket(t, input.ticketId, { lock: true });
    const body = sanitizeBody(input.body);
    if (isEmptyBody(body)) throw invalid({ body: 'must contain text once sanitized' });
    const toCustomer = input.send_to_contacts || input.notify_customer === true;
    const contactIds = await ticketContactIds(t, ticket);
    const reply = await Reply.query(t).insertAndFetch({
      ticket_id: ticket.id,
      body,
      origin: 'admin',
      author_type: 'App\\User',
      author_id: input.actorId,
      contact_id: toCustomer ? (contactIds[0] ?? null) : null,
      customer_visible: toCustomer,
      seen_at: null,
    });
    if (toCustomer) {
      const statusId = await autoStatusId(t, 'on_admin_reply');
      await ticket.$query(t).patch({
        exchanges: ticket.exchanges + 1,
        ...(statusId ? { status_id: statusId } : {}),
      });
      await queueCustomerCopy(t, ticket, reply, contactIds);
    }
    await queueAgentCopies(t, ticket, reply, input);
    if (input.close) await closeTicket(ticket.id, t);
    return reply;
  });
}

async function queueCustomerCopy(t: Knex, ticket: Ticket, reply: Reply, contactIds: number[]): Promise<void> {
  if (contactIds.length === 0) return;
  const contacts: { id: number; name: string; email: string }[] = await t('contacts')
    .whereIn('id', contactIds)
    .select('id', 'name', 'email');
  const ordered = contactIds.map((id) => contacts.find((c) => c.id === id)!).filter(Boolean);
  const [primary, ...others] = ordered.map((c) => ({ name: c.name, address: c.email }));
  await queueEmail({
    trx: t,
    template: 'agent_reply',
    to: [primary!],
    cc: others,
    ticketId: ticket.id,
    replyId: reply.id,
    data: { ticket_id: ticket.id, reply_id: reply.id },
    automatic: false,
  });
}

/** The assignee and (with notify_team) the team hear of the reply, one message each. */
async function queueAgentCopies(t: Knex, ticket: Ticket, reply: Reply, input: CreateReplyInput): Promise<void> {
  const recipients = new Map<number, { template: string }>();
  if (input.notify_team && ticket.team_id) {
    const members: { user_id: number }[] = await t('support_team_members')
      .where({ support_team_id: ticket.team_id })
      .select('user_id');
    for (const m of members) recipients.set(m.user_id, { template: 'reply_to_team' });
  }
  if (input.send_to_assignee && ticket.assignee_id) recipients.set(ticket.assignee_id, { template: 'reply_to_assignee' });
  recipients.delete(input.actorId);
  if (recipients.size === 0) return;
  const users = await User.query(t).whereIn('id', [...recipients.keys()]).where({ active: true });
  for (const user of users) {
    await queueEmail({
      trx: t,
      template: recipients.get(user.id)!.template,
      to: [{ name: user.name, address: user.email }],
      ticketId: ticket.id,
      replyId: reply.id,
      recipientUserId: user.id,
      data: { ticket_id: ticket.id, reply_id: reply.id },
      automatic: true,
    });
  }
}
