/**
 * An agent's reply through the API. Customer-visible when sent to the contacts (then the
 * ticket counts an exchange and moves to the `on_admin_reply` status); otherwise an
 * internal note that changes no status: replyRow.ts decides the row and what it counts.
 * The mail its flags ask for is queued in the same transaction.
 */
import type { Knex } from 'knex';
import { inTransaction } from '../../db/transaction';
import { invalid } from '../../errors';
import { Reply } from '../../models/Reply';
import type { Ticket } from '../../models/Ticket';
import { sanitizeBody } from '../html/sanitize';
import { queueAgentMail, queueCustomerMail, teamMemberIds } from '../outbox/notifications';
import { closeTicket } from '../tickets/lifecycle';
import { loadTicket, ticketContactIds } from '../tickets/loadTicket';
import { replyRow, ticketChange } from './replyRow';

export interface CreateReplyInput {
  ticketId: number;
  actorId: number;
  body: string;
  close: boolean;
  send_to_assignee: boolean;
  send_to_contacts: boolean;
  notify_team?: boolean;
  notify_customer?: boolean;
  /** Attachments uploaded before the reply, to go with it (and with its mail). */
  attachment_ids?: number[];
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
    const plan = replyRow({
      author: { kind: 'agent', userId: input.actorId, via: 'api' },
      ticketId: ticket.id,
      body,
      toContacts: toCustomer,
      contactIds: toCustomer ? await ticketContactIds(t, ticket) : undefined,
    });
    const reply = await Reply.query(t).insertAndFetch(plan.row);
    if (input.attachment_ids?.length) await linkAttachments(t, ticket, reply, input.attachment_ids);
    const change = await ticketChange(t, ticket, plan);
    if (Object.keys(change).length) await ticket.$query(t).patch(change);
    if (reply.customer_visible) await queueCustomerMail(t, ticket, { template: 'agent_reply', replyId: reply.id, automatic: false });
    await queueAgentCopies(t, ticket, reply, input);
    if (input.close) await closeTicket(ticket.id, t);
    return reply;
  });
}

/**
 * Moves attachments uploaded beforehand onto the reply, in its transaction, so the mail
 * queued with it carries them. Only attachments of this ticket or of nothing yet, and not
 * already another reply's.
 */
async function linkAttachments(t: Knex, ticket: Ticket, reply: Reply, ids: number[]): Promise<void> {
  const wanted = [...new Set(ids)];
  const usable: { id: number }[] = await t('attachments')
    .whereIn('id', wanted)
    .whereNull('reply_id')
    .where((q) => q.where('ticket_id', ticket.id).orWhereNull('ticket_id'))
    .select('id');
  const missing = wanted.filter((id) => !usable.some((u) => u.id === id));
  if (missing.length) throw invalid({ attachment_ids: `no attachment of this ticket free to use: ${missing.join(', ')}` });
  await t('attachments').whereIn('id', wanted).update({ reply_id: reply.id, ticket_id: ticket.id });
}

/** The assignee (send_to_assignee) and the team (notify_team) hear of the reply, one message each. */
async function queueAgentCopies(t: Knex, ticket: Ticket, reply: Reply, input: CreateReplyInput): Promise<void> {
  const recipients = new Map<number, string>();
  if (input.notify_team) for (const id of await teamMemberIds(t, { ...ticket, assignee_id: null })) recipients.set(id, 'reply_to_team');
  if (input.send_to_assignee && ticket.assignee_id) recipients.set(ticket.assignee_id, 'reply_to_assignee');
  await queueAgentMail(t, ticket, recipients, { replyId: reply.id, exceptUserId: input.actorId });
}
