/**
 * Every scheduled job, and the schedule each runs on (its default, or SCHEDULE_<NAME>).
 */
import { config } from '../config';
import { autoClosureJob } from './autoClosure';
import { blobSweepJob } from './blobSweep';
import { closureRequestsJob } from './closureRequests';
import { contractPointsJob } from './contractPoints';
import { dailyPointsSummaryJob } from './dailyPointsSummary';
import { type Job, scheduleVariable } from './job';
import { quarantineDigestJob } from './quarantineDigest';
import { rawMailRetentionJob } from './rawMailRetention';
import { reportPruningJob } from './reportPruning';
import { teamReportJob } from './teamReport';
import { ticketRollupsJob } from './ticketRollups';

export const JOBS: readonly Job[] = [
  autoClosureJob,
  closureRequestsJob,
  contractPointsJob,
  dailyPointsSummaryJob,
  teamReportJob,
  quarantineDigestJob,
  rawMailRetentionJob,
  blobSweepJob,
  ticketRollupsJob,
  reportPruningJob,
];

export function findJob(name: string): Job | undefined {
  return JOBS.find((j) => j.name === name);
}

export function scheduleOf(job: Job): string {
  return config().schedules[scheduleVariable(job.name)] ?? job.schedule;
}
