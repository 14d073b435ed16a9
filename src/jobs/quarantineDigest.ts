/**
 * `quarantine-digest`: while anything waits in quarantine, each active admin gets one
 * message a day (the config's time zone) saying how many wait, listing the oldest
 * DIGEST_LIST (received, sender, subject, why) and how to assign them. Automatic mail
 * through the outbox, so AUTO_MAIL_PER_HOUR and the suppression list apply. Nothing is
 * sent when nothing waits; a run for a day already sent to an admin sends that admin
 * nothing more (an admin made or reactivated later that day still gets theirs).
 */
import { now } from '../clock';
import { localDate } from '../datetime';
import { db } from '../db/knex';
import { getSettings } from '../services/config/settings';
import { countWaiting, oldestWaiting } from '../services/inbound/quarantine';
import { queueEmail } from '../services/outbox/queueEmail';
import type { Job, JobSummary } from './job';

/** Messages a digest lists (the oldest); the count covers them all. */
export const DIGEST_LIST = 20;

/** Two runs at once (`jobs run` beside the scheduler) take turns, so neither sends twice. */
const LOCK = 'job:quarantine-digest';

/** Queues today's digest for each active admin who has not had it, while anything waits. */
export async function runQuarantineDigest(): Promise<JobSummary> {
  const settings = await getSettings();
  const day = localDate(now(), settings.timezone);
  const waiting = await countWaiting(db());
  if (waiting === 0) return { day, waiting: 0, digests_sent: 0 };
  const oldest = await oldestWaiting(db(), DIGEST_LIST);
  const data = { day, waiting, one: waiting === 1, oldest, more: Math.max(0, waiting - oldest.length) };
  const sent = await db().transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', [LOCK]);
    const admins: { id: number; name: string; email: string }[] = await trx('users as u')
      .where({ 'u.role': 'admin', 'u.active': true })
      .whereNotExists((q) =>
        q
          .select(trx.raw('1'))
          .from('outbound_emails as o')
          .where({ 'o.template': 'quarantine_digest' })
          .whereRaw('o.recipient_user_id = u.id')
          .whereRaw(`o.data->>'day' = ?`, [day]),
      )
      .orderBy('u.id')
      .select('u.id', 'u.name', 'u.email');
    for (const admin of admins) {
      await queueEmail({
        trx,
        template: 'quarantine_digest',
        to: [{ name: admin.name, address: admin.email }],
        recipientUserId: admin.id,
        automatic: true,
        data,
      });
    }
    return admins.length;
  });
  return { day, waiting, digests_sent: sent };
}

export const quarantineDigestJob: Job = {
  name: 'quarantine-digest',
  description: 'tell the admins, once a day, what waits in quarantine',
  schedule: '0 8 * * *',
  run: runQuarantineDigest,
};
