import { BaseModel } from './BaseModel';

export type TimeSegmentKind = 'tracked' | 'manual' | 'amend' | 'invoicing';

/** Time spent on a ticket; `amend` rows are signed corrections. */
export class TimeSegment extends BaseModel {
  static override tableName = 'time_segments';

  declare id: number;
  declare ticket_id: number;
  declare user_id: number | null;
  declare kind: TimeSegmentKind;
  declare started_at: Date | null;
  declare ended_at: Date | null;
  declare minutes: number;
  declare billable: boolean;
  declare note: string | null;
}
