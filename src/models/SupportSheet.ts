import { BaseModel } from './BaseModel';

/** Notes about how to support a customer (sanitized HTML). */
export class SupportSheet extends BaseModel {
  static override tableName = 'support_sheets';

  declare id: number;
  declare customer_id: number;
  declare title: string;
  declare content: string;
  declare author_id: number | null;
  declare created_at: Date;
  declare updated_at: Date;
}
