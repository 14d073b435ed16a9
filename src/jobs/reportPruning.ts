/**
 * `report-pruning`: removes the stored copies of customer reports made more than
 * STORED_REPORT_KEEP_DAYS ago, and their PDFs' bytes. A stored report is only a copy kept
 * to answer the same request again without a render: the next request for a pruned one
 * makes it anew. Without this, every period ever asked for would be kept for good. Ages
 * follow the clock module (`jobs run --now`).
 */
import { now } from '../clock';
import { db } from '../db/knex';
import { STORED_REPORT_KEEP_DAYS, pruneStoredReports } from '../services/reports/customerReport';
import type { Job, JobSummary } from './job';

export async function runReportPruning(): Promise<JobSummary> {
  const before = new Date(now().getTime() - STORED_REPORT_KEEP_DAYS * 86_400_000);
  return { reports_removed: await pruneStoredReports(db(), before) };
}

export const reportPruningJob: Job = {
  name: 'report-pruning',
  description: `remove stored PDF customer reports made over ${STORED_REPORT_KEEP_DAYS} days ago (a request makes them again)`,
  schedule: '51 3 * * *',
  run: runReportPruning,
};
