/**
 * Every business time comes from here, never from SQL now(): `helpdesk jobs run --now`
 * and the tests set the clock, and everything written during that run carries that time.
 */
let fixed: Date | undefined;

/** The current business time. */
export function now(): Date {
  return fixed ? new Date(fixed.getTime()) : new Date();
}

/** Fixes the clock at `at` (or releases it with undefined). */
export function setNow(at: Date | undefined): void {
  fixed = at ? new Date(at.getTime()) : undefined;
}
