import { BaseModel } from './BaseModel';

/** A person at a customer; one address is one person of one customer. */
export class Contact extends BaseModel {
  static override tableName = 'contacts';
  static readonly morphType = 'App\\Contact';

  declare id: number;
  declare contactable_type: string;
  declare contactable_id: number;
  declare name: string;
  declare email: string;
  declare created_at: Date;
  declare updated_at: Date;
}
