/**
 * `closure-requests`: a closure an agent requested (`PUT /v1/tickets/{id}` with
 * `{"closure": true}`) closes the ticket `closure_delay_hours` after the request, with a
 * closing notice to the contacts. A customer reply, `PUT /reopen` or `PUT /open` cancel the
 * request before that (they clear `closure`), so such tickets are not found here.
 */
import { now } from '../clock';
import { db } from '../db/knex';
import { getSettings } from '../services/config/settings';
import { queueCustomerMail } from '../services/outbox/notifications';
import { closeTicket } from '../services/tickets/lifecycle';
import type { Job, JobContext, JobSummary } from './job';

const PAGE = 200;

export async function runClosureRequests(ctx: JobContext): Promise<JobSummary> {
  const settings = await getSettings();
  const at = now();
  const requestedBefore = new Date(at.getTime() - settings.closure_delay_hours * 3_600_000);
  let closed = 0;
  for (;;) {
    const count = await db().transaction(async (trx) => {
      const due: { id: number; contact_id: number | null; team_id: number | null; assignee_id: number | null }[] = await trx('tickets')
        .where({ open: true, closure: true })
        .where('closure_requested_at', '<=', requestedBefore)
        .orderBy('id')
        .limit(PAGE)
        .forUpdate()
        .skipLocked()
        .select('id', 'contact_id', 'team_id', 'assignee_id');
      for (const ticket of due) {
        await closeTicket(ticket.id, trx);
        await queueCustomerMail(trx, ticket, { template: 'ticket_closed', automatic: true });
      }
      return due.length;
    });
    if (count === 0) break;
    closed += count;
    ctx.progress(closed, 'tickets closed');
  }
  return { closed };
}

export const closureRequestsJob: Job = {
  name: 'closure-requests',
  description: 'close tickets whose requested closure is due',
  schedule: '*/5 * * * *',
  run: runClosureRequests,
};
