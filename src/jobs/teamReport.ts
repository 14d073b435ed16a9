/**
 * `team-report`: a daily summary of the previous local day (the config's time zone) and
 * of what is open now, mailed to each `team_report_emails` address. One report per day:
 * a run for a day already reported does nothing. Mail held for a person counts too: what
 * waits in quarantine now, and what the day held (still waiting or assigned since).
 */
import type { Knex } from 'knex';
import { now } from '../clock';
import { localDate, startOfLocalDay } from '../datetime';
import { db } from '../db/knex';
import { getSettings } from '../services/config/settings';
import { countHeldBetween, countWaiting } from '../services/inbound/quarantine';
import { queueEmail } from '../services/outbox/queueEmail';
import type { Job, JobSummary } from './job';

const count = async (q: Knex.QueryBuilder) => Number((await q.count({ n: '*' }))[0]!.n);

/** The report's figures for the local day [from, to). */
export async function teamReportData(knex: Knex, from: Date, to: Date, at: Date) {
  const openTickets = () => knex('tickets').where({ open: true });
  const oldest: { number: string; subject: string; created_at: Date }[] = await openTickets()
    .orderBy('created_at')
    .limit(10)
    .select('number', 'subject', 'created_at');
  return {
    opened: await count(knex('tickets').where('created_at', '>=', from).where('created_at', '<', to)),
    closed: await count(knex('tickets').where('closed_at', '>=', from).where('closed_at', '<', to)),
    customer_replies: await count(knex('replies').where({ author_type: 'App\\Contact' }).where('created_at', '>=', from).where('created_at', '<', to)),
    agent_replies: await count(
      knex('replies')
        .where({ author_type: 'App\\User', auto_closure_message: false })
        .whereNotNull('author_id')
        .where('created_at', '>=', from)
        .where('created_at', '<', to),
    ),
    open_now: await count(openTickets()),
    unassigned_now: await count(openTickets().whereNull('assignee_id')),
    closure_pending_now: await count(openTickets().where({ closure: true })),
    quarantine_waiting_now: await countWaiting(knex),
    quarantined: await countHeldBetween(knex, from, to),
    oldest_open: oldest.map((t) => ({
      number: t.number,
      subject: t.subject,
      age_days: Math.floor((at.getTime() - new Date(t.created_at).getTime()) / 86_400_000),
    })),
  };
}

export async function runTeamReport(): Promise<JobSummary> {
  const settings = await getSettings();
  const at = now();
  const from = startOfLocalDay(at, settings.timezone, -1);
  const to = startOfLocalDay(at, settings.timezone);
  const day = localDate(from, settings.timezone);
  if (settings.team_report_emails.length === 0) return { day, reports_sent: 0, skipped: 'no team_report_emails configured' };
  const done = await db()('outbound_emails').where({ template: 'team_report' }).whereRaw(`data->>'day' = ?`, [day]).first('id');
  if (done) return { day, reports_sent: 0 };
  const data = { day, ...(await teamReportData(db(), from, to, at)) };
  await db().transaction(async (trx) => {
    for (const address of settings.team_report_emails) {
      await queueEmail({ trx, template: 'team_report', to: [{ address }], automatic: true, data });
    }
  });
  return { day, reports_sent: settings.team_report_emails.length };
}

export const teamReportJob: Job = {
  name: 'team-report',
  description: "mail yesterday's summary to the team report addresses",
  schedule: '0 7 * * *',
  run: runTeamReport,
};
