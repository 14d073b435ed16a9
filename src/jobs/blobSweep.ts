/**
 * `blob-sweep`: removes stored bytes nothing links, hourly: temporary rows and files of
 * uploads that were aborted or lost to a crash, and blobs or files no row uses. The grace
 * period outlasts the longest upload (an upload's bytes are unlinked until its last one
 * arrives), and is at least an hour. Wall-clock time: `--now` does not make it sweep
 * uploads still running.
 */
import { config } from '../config';
import { db } from '../db/knex';
import { uploadTimeLimitSeconds } from '../services/attachments/attachments';
import { sweepUnlinkedBlobs } from '../services/blobs/blobStore';
import type { Job, JobSummary } from './job';

/** How old something unlinked must be before it is swept. */
export function blobSweepGraceSeconds(): number {
  return Math.max(3600, 2 * uploadTimeLimitSeconds(config().attachmentMaxBytes));
}

export async function runBlobSweep(): Promise<JobSummary> {
  return { ...(await sweepUnlinkedBlobs(db(), blobSweepGraceSeconds())) };
}

export const blobSweepJob: Job = {
  name: 'blob-sweep',
  description: 'remove stored files nothing links (aborted uploads, leftovers)',
  schedule: '17 * * * *',
  run: runBlobSweep,
};
