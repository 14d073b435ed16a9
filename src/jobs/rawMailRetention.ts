/**
 * `raw-mail-retention`: with RAW_MAIL_KEEP_DAYS set, removes the raw originals of messages
 * received longer ago than that whose ticket is closed (or that have no ticket), never of
 * quarantined or failed mail, and releases their blobs; the inbound_emails rows stay (see
 * services/inbound/rawRetention.ts). Unset or 0, it keeps everything. Ages follow the clock
 * module, so `jobs run --now` sees the mail as old as it would be then.
 */
import { now } from '../clock';
import { config } from '../config';
import { db } from '../db/knex';
import { removeOldRawMail } from '../services/inbound/rawRetention';
import type { Job, JobContext, JobSummary } from './job';

/** One retention pass at the clock's time; with RAW_MAIL_KEEP_DAYS unset or 0, nothing. */
export async function runRawMailRetention(ctx: JobContext): Promise<JobSummary> {
  const keepDays = config().rawMailKeepDays;
  if (!keepDays) return { raw_removed: 0, skipped: 'RAW_MAIL_KEEP_DAYS is not set: raw mail is kept' };
  return { ...(await removeOldRawMail(db(), { keepDays, at: now(), progress: (done) => ctx.progress(done, 'raw messages removed') })) };
}

export const rawMailRetentionJob: Job = {
  name: 'raw-mail-retention',
  description: 'remove raw mail older than RAW_MAIL_KEEP_DAYS of closed tickets (off by default)',
  schedule: '43 3 * * *',
  run: runRawMailRetention,
};
