import { BaseModel } from './BaseModel';

/** A point-based support commitment for a customer. */
export class SupportContract extends BaseModel {
  static override tableName = 'support_contracts';

  declare id: number;
  declare support_contracteable_type: string;
  declare support_contracteable_id: number;
  declare type: number;
  declare points_total: number;
  declare points_init: number;
  declare points_init_memory: number;
  declare points_current: number;
  declare points_alert: number;
  declare points_auto_renew: number;
  declare points_auto_added: number;
  /** `Y-m-d` (shown as d/m/Y). */
  declare signed_at: string | null;
  declare started_at: Date | null;
  declare expires_at: Date | null;
  declare last_notified_at: Date | null;
  declare renewed_at: Date | null;
  declare expired_at: Date | null;
}
