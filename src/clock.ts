/**
 * Every business time comes from here, never from SQL now(): `helpdesk jobs run --now`
 * and the tests set the clock, and everything written during that run carries that time.
 */
let fixed: Date | undefined;

/** The current business time. */
export function now(): Date {
  return fixed ? new Date(fixed.getTime()) : new Date();
}

/**
 * The real time, for operational times that must not follow `--now`: when queued mail falls
 * due, claim leases, retry backoff and the retry window. Mail queued under `jobs run --now`
 * goes out at once, whatever business time the run had.
 */
export function wallClock(): Date {
  return new Date();
}

/** Fixes the clock at `at` (or releases it with undefined). */
export function setNow(at: Date | undefined): void {
  fixed = at ? new Date(at.getTime()) : undefined;
}
