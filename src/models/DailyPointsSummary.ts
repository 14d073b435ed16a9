import { BaseModel } from './BaseModel';

/** One row per contract per day, written by the daily-points-summary job. */
export class DailyPointsSummary extends BaseModel {
  static override tableName = 'daily_points_summaries';
  static override readonly timestamps = false;

  declare id: number;
  declare support_contract_id: number;
  /** `Y-m-d`. */
  declare day: string;
  declare points_total: number;
  declare points_current: number;
  declare points_consumed: number;
  declare created_at: Date;
}
