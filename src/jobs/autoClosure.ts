/**
 * `auto-closure`: an open ticket waiting on the customer (its last customer-visible message,
 * reminders aside, is an agent's) gets a reminder once `auto_closure_delay_days` pass with
 * no answer, up to `auto_closure_reminders` reminders one delay apart; one delay after the
 * last it is closed and a closing notice goes out. A reminder is a reply with
 * `auto_closure_message` true, mailed to the contacts, its time appended to
 * `auto_closure_alerts`; its row comes from replyRow.ts (the system's, to the primary
 * contact, counting no exchange and moving no status). Only reminders after the agent's
 * last message count, so a customer reply and the agent's next answer start the count
 * again.
 *
 * A stored auto-reply (an out-of-office: flags contain `auto_reply`) is no answer: it is
 * left out of "the last customer-visible message", so it neither blocks the reminders
 * (the ticket would wait on the agent for ever) nor restarts their count.
 *
 * Works in pages of tickets locked with SKIP LOCKED, one transaction each; a reminded or
 * closed ticket is no longer due, so a second run at the same clock finds nothing.
 */
import type { Knex } from 'knex';
import { now } from '../clock';
import { localDate } from '../datetime';
import { db } from '../db/knex';
import { Reply } from '../models/Reply';
import { type Settings, getSettings } from '../services/config/settings';
import { queueCustomerMail } from '../services/outbox/notifications';
import { replyRow } from '../services/replies/replyRow';
import { ticketContactIds } from '../services/tickets/loadTicket';
import { closeTicket } from '../services/tickets/lifecycle';
import type { Job, JobContext, JobSummary } from './job';

const PAGE = 200;
const DAY_MS = 86_400_000;

interface DueTicket {
  id: number;
  contact_id: number | null;
  team_id: number | null;
  assignee_id: number | null;
  /** Reminders sent since the agent's last message. */
  reminders: number;
}

/** One page of due tickets after `afterId`, locked for this transaction. */
async function duePage(trx: Knex.Transaction, afterId: number, at: Date, delayDays: number): Promise<DueTicket[]> {
  const { rows } = await trx.raw(
    `select t.id, t.contact_id, t.team_id, t.assignee_id, a.reminders
       from tickets t
       cross join lateral (
         select r.created_at, r.author_type from replies r
          where r.ticket_id = t.id and r.customer_visible and not r.auto_closure_message
            and not ('auto_reply' = any(r.flags))
          order by r.created_at desc, r.id desc limit 1
       ) w
       cross join lateral (
         select count(*)::int as reminders, coalesce(max(x), w.created_at) as latest
           from unnest(t.auto_closure_alerts) x where x > w.created_at
       ) a
      where t.open and not t.closure and t.id > ? and w.author_type = 'App\\User'
        and a.latest + make_interval(days => ?::int) <= ?
      order by t.id
      limit ?
      for update of t skip locked`,
    [afterId, delayDays, at, PAGE],
  );
  return rows;
}

function reminderText(closesAt: string): string {
  return `<p>We are waiting for your answer. Without one, this ticket will be closed on ${closesAt}.</p>`;
}

async function remind(trx: Knex.Transaction, ticket: DueTicket, settings: Settings, at: Date): Promise<void> {
  const remaining = settings.auto_closure_reminders - ticket.reminders;
  const closesAt = localDate(new Date(at.getTime() + remaining * settings.auto_closure_delay_days * DAY_MS), settings.timezone);
  const { row } = replyRow({
    author: { kind: 'system' },
    ticketId: ticket.id,
    body: reminderText(closesAt),
    contactIds: await ticketContactIds(trx, ticket),
  });
  const reply = await Reply.query(trx).insert(row).returning('id');
  await trx('tickets')
    .where({ id: ticket.id })
    .update({ auto_closure_alerts: trx.raw('array_append(auto_closure_alerts, ?::timestamptz)', [at]), updated_at: at });
  await queueCustomerMail(trx, ticket, {
    template: 'auto_closure_reminder',
    replyId: reply.id,
    automatic: true,
    data: { reminder: ticket.reminders + 1, reminders: settings.auto_closure_reminders, closes_at: closesAt },
  });
}

export async function runAutoClosure(ctx: JobContext): Promise<JobSummary> {
  const settings = await getSettings();
  if (!settings.auto_closure_enabled) return { reminded: 0, closed: 0, skipped: 'auto_closure_enabled is false' } as JobSummary;
  const at = now();
  let afterId = 0;
  let reminded = 0;
  let closed = 0;
  for (;;) {
    const page = await db().transaction(async (trx) => {
      const due = await duePage(trx, afterId, at, settings.auto_closure_delay_days);
      for (const ticket of due) {
        if (ticket.reminders < settings.auto_closure_reminders) {
          await remind(trx, ticket, settings, at);
          reminded++;
        } else {
          await closeTicket(ticket.id, trx);
          await queueCustomerMail(trx, ticket, {
            template: 'ticket_closed',
            automatic: true,
            data: { reason: `we had no answer for ${settings.auto_closure_delay_days} days` },
          });
          closed++;
        }
      }
      return due;
    });
    if (page.length === 0) break;
    afterId = page[page.length - 1]!.id;
    ctx.progress(reminded + closed, 'tickets reminded or closed');
  }
  return { reminded, closed };
}

export const autoClosureJob: Job = {
  name: 'auto-closure',
  description: 'remind customers who do not answer, then close their tickets',
  schedule: '*/15 * * * *',
  run: runAutoClosure,
};
