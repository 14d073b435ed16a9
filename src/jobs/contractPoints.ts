/**
 * `contract-points`: renewals, expiry and the points alert.
 *
 * - Renewal (`points_auto_renew` > 0): a monthly, quarterly or yearly contract (types 2, 3,
 *   4) whose period ended starts its next period (as many as it missed) and gains
 *   `points_auto_renew` points each time; a prepaid block (type 1) whose points ran out
 *   (`points_current` <= 0) is topped up the same way. `points_auto_added` keeps the sum,
 *   `renewed_at` the time.
 * - Expiry: a contract past `expires_at` that did not renew gets `expired_at` (time is no
 *   longer charged to it: see activeContractId).
 * - The alert: once `points_current` drops below `points_alert` (never for unlimited
 *   contracts, type 5), one message to each `points_alert_emails` address, and
 *   `last_notified_at` set; it goes again only after a renewal.
 */
import type { Knex } from 'knex';
import { now } from '../clock';
import { localDate } from '../datetime';
import { db } from '../db/knex';
import { SupportContract } from '../models/SupportContract';
import { getSettings } from '../services/config/settings';
import { refreshContractPoints } from '../services/contracts/points';
import { queueEmail } from '../services/outbox/queueEmail';
import type { Job, JobContext, JobSummary } from './job';

const PAGE = 200;
const PERIOD_MONTHS: Record<number, number> = { 2: 1, 3: 3, 4: 12 };
/** Renewals done at most per contract and run (catching up missed periods). */
const MAX_CATCH_UP = 120;
const UNLIMITED = 5;

function addMonths(at: Date, months: number): Date {
  const d = new Date(at.getTime());
  d.setUTCMonth(d.getUTCMonth() + months);
  return d;
}

/** Renews `c` if it is due; returns how many periods (or top-ups) were added. */
async function renew(trx: Knex, c: SupportContract, at: Date): Promise<number> {
  const gain = Number(c.points_auto_renew);
  if (gain <= 0) return 0;
  let times = 0;
  const changes: Partial<SupportContract> = {};
  const months = PERIOD_MONTHS[c.type];
  if (months && c.expires_at) {
    let start = c.started_at;
    let end = new Date(c.expires_at);
    while (end <= at && times < MAX_CATCH_UP) {
      start = end;
      end = addMonths(end, months);
      times++;
    }
    Object.assign(changes, { started_at: start, expires_at: end });
  } else if (c.type === 1 && Number(c.points_current) <= 0) {
    times = Math.min(MAX_CATCH_UP, Math.floor(-Number(c.points_current) / gain) + 1);
  }
  if (times === 0) return 0;
  await trx('support_contracts')
    .where({ id: c.id })
    .update({
      ...changes,
      points_total: Number(c.points_total) + gain * times,
      points_auto_added: Number(c.points_auto_added) + gain * times,
      renewed_at: at,
      expired_at: null,
      updated_at: at,
    });
  await refreshContractPoints(trx, c.id);
  return times;
}

function alertDue(c: SupportContract): boolean {
  if (c.type === UNLIMITED || c.expired_at || Number(c.points_alert) <= 0) return false;
  if (Number(c.points_current) >= Number(c.points_alert)) return false;
  return !c.last_notified_at || (c.renewed_at !== null && new Date(c.last_notified_at) < new Date(c.renewed_at));
}

export async function runContractPoints(ctx: JobContext): Promise<JobSummary> {
  const settings = await getSettings();
  const at = now();
  const summary = { renewed: 0, expired: 0, alerts_sent: 0, alerts_without_recipients: 0 };
  let afterId = 0;
  for (;;) {
    const page = await db().transaction(async (trx) => {
      const contracts = await SupportContract.query(trx).where('id', '>', afterId).orderBy('id').limit(PAGE).forUpdate().skipLocked();
      for (const found of contracts) {
        if (await renew(trx, found, at)) summary.renewed++;
        const c = (await SupportContract.query(trx).findById(found.id))!;
        if (c.expires_at && new Date(c.expires_at) <= at && !c.expired_at) {
          await trx('support_contracts').where({ id: c.id }).update({ expired_at: at, updated_at: at });
          summary.expired++;
          continue;
        }
        if (!alertDue(c)) continue;
        if (settings.points_alert_emails.length === 0) {
          summary.alerts_without_recipients++;
          continue;
        }
        const customer = await trx('customers').where({ id: c.support_contracteable_id }).first('name');
        for (const address of settings.points_alert_emails) {
          await queueEmail({
            trx,
            template: 'points_alert',
            to: [{ address }],
            automatic: true,
            data: {
              contract_id: c.id,
              customer_name: customer?.name ?? `customer ${c.support_contracteable_id}`,
              points_current: Number(c.points_current),
              points_total: Number(c.points_total),
              points_alert: Number(c.points_alert),
              expires_at: c.expires_at ? localDate(new Date(c.expires_at), settings.timezone) : null,
            },
          });
        }
        await trx('support_contracts').where({ id: c.id }).update({ last_notified_at: at, updated_at: at });
        summary.alerts_sent++;
      }
      return contracts;
    });
    if (page.length === 0) break;
    afterId = page[page.length - 1]!.id;
    ctx.progress(afterId, 'contracts checked (last id)');
  }
  return summary;
}

export const contractPointsJob: Job = {
  name: 'contract-points',
  description: 'renew contracts, mark expired ones, send the points alert',
  schedule: '7 * * * *',
  run: runContractPoints,
};
