/**
 * Running a scheduled job in a test as `helpdesk jobs run NAME --now WHEN` does (the clock
 * fixed for the run), and sending what it queued through the outbox.
 */
import { setNow } from '../../src/clock';
import { db } from '../../src/db/knex';
import type { JobContext, JobSummary } from '../../src/jobs/job';
import { findJob } from '../../src/jobs/registry';
import { logger } from '../../src/logger';
import { runBatch } from '../../src/mail/outbound/outbox';
import { createMailTransport } from '../../src/mail/outbound/transport';

const quiet: JobContext = { log: logger, progress: () => undefined };

/** Runs job `name` with the business clock at `when`. */
export async function runJob(name: string, when: Date): Promise<JobSummary> {
  setNow(when);
  try {
    return await findJob(name)!.run(quiet);
  } finally {
    setNow(undefined);
  }
}

/** Sends everything due in the outbox (through SMTP_URL, or .eml files). */
export async function drainOutbox(): Promise<void> {
  const transport = createMailTransport();
  try {
    for (;;) {
      const r = await runBatch(db(), transport);
      if (r.claimed + r.suppressed === 0) return;
    }
  } finally {
    transport.close();
  }
}
