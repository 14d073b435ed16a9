/**
 * The notifications inbound mail causes, queued in the pipeline's transaction: the team
 * (one message per member, never the author) hears of new tickets and customer replies;
 * the customer may get an acknowledgement; an unknown sender may get a short notice. They
 * are sent once a mailer runs.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { config } from '../../config';
import type { Ticket } from '../../models/Ticket';
import { queueEmail } from '../../services/outbox/queueEmail';

async function teamMembers(trx: Knex, ticket: Ticket): Promise<{ id: number; name: string; email: string }[]> {
  const ids = new Set<number>();
  if (ticket.team_id) {
    for (const r of await trx('support_team_members').where({ support_team_id: ticket.team_id }).select('user_id')) ids.add(r.user_id);
  }
  if (ticket.assignee_id) ids.add(ticket.assignee_id);
  if (ids.size === 0) return [];
  return trx('users').whereIn('id', [...ids]).where({ active: true }).select('id', 'name', 'email');
}

/** One message per team member (and the assignee) about a new ticket or a customer reply. */
export async function notifyTeam(
  trx: Knex,
  ticket: Ticket,
  template: 'new_ticket_to_team' | 'customer_reply_to_team',
  opts: { replyId?: number; exceptUserId?: number },
): Promise<void> {
  for (const user of await teamMembers(trx, ticket)) {
    if (user.id === opts.exceptUserId) continue;
    await queueEmail({
      trx,
      template,
      to: [{ name: user.name, address: user.email }],
      ticketId: ticket.id,
      replyId: opts.replyId ?? null,
      recipientUserId: user.id,
      data: { ticket_id: ticket.id, reply_id: opts.replyId ?? null },
      automatic: true,
    });
  }
}

/** True when `address` already got AUTO_MAIL_PER_HOUR automatic messages this past hour. */
export async function overAutoMailLimit(trx: Knex, address: string): Promise<boolean> {
  const since = new Date(now().getTime() - 3600_000);
  const [{ n }] = await trx('outbound_emails')
    .where('automatic', true)
    .where('created_at', '>=', since)
    .whereRaw(`to_addresses @> ?::jsonb`, [JSON.stringify([{ address: address.toLowerCase() }])])
    .count({ n: '*' });
  return Number(n) >= config().autoMailPerHour;
}

/** A short notice to an unknown sender whose mail the mailbox rejects (rate-limited). */
export async function noticeUnknownSender(trx: Knex, address: string, mailboxId: number, subject: string): Promise<boolean> {
  if (await overAutoMailLimit(trx, address)) return false;
  await queueEmail({
    trx,
    template: 'unknown_sender_notice',
    to: [{ address: address.toLowerCase() }],
    data: { mailbox_id: mailboxId, subject },
    automatic: true,
  });
  return true;
}
