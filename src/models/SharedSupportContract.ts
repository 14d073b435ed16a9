import { BaseModel } from './BaseModel';

/** A contract whose points another customer may also spend. */
export class SharedSupportContract extends BaseModel {
  static override tableName = 'shared_support_contracts';

  declare id: number;
  declare support_contract_id: number;
  declare customer_id: number;
  declare created_at: Date;
  declare updated_at: Date;
}
