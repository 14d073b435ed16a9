import { Model } from 'objection';
import { BaseModel } from './BaseModel';

/** A customer organisation; tickets and contracts belong to it. */
export class Customer extends BaseModel {
  static override tableName = 'customers';
  static readonly morphType = 'App\\Customer';

  declare id: number;
  declare name: string;
  declare email_domains: string[];
  declare created_at: Date;
  declare updated_at: Date;
  declare contacts?: import('./Contact').Contact[];

  static override relationMappings = () => ({
    contacts: {
      relation: Model.HasManyRelation,
      modelClass: require('./Contact').Contact,
      join: { from: 'customers.id', to: 'contacts.contactable_id' },
      modify: (qb: import('objection').QueryBuilder<Model>) => qb.orderBy('contacts.id'),
    },
  });
}
