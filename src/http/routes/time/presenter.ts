/**
 * A time segment as the API shows it: `kind` is tracked (a timer), manual, amend (a signed
 * correction) or invoicing.
 */
import type { TimeSegment } from '../../../models/TimeSegment';
import { type Presenter, presenter } from '../../present';

export const TIME_SEGMENT_FIELDS = [
  'id',
  'ticket_id',
  'user_id',
  'kind',
  'started_at',
  'ended_at',
  'minutes',
  'billable',
  'note',
  'created_at',
  'updated_at',
] as const;

export const presentTimeSegment: Presenter<TimeSegment> = presenter(TIME_SEGMENT_FIELDS);

/** The answer of start_tracking: the timer started, and the one it stopped (or null). */
export function presentTracking(r: { started: TimeSegment; stopped?: TimeSegment }): Record<string, unknown> {
  return { started: presentTimeSegment(r.started), stopped: r.stopped ? presentTimeSegment(r.stopped) : null };
}
