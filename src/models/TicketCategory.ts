import { Model } from 'objection';
import { BaseModel } from './BaseModel';

export class TicketCategory extends BaseModel {
  static override tableName = 'ticket_categories';

  declare id: number;
  declare name: string;
  declare description: string | null;

  static override relationMappings = () => ({
    sub_categories: {
      relation: Model.HasManyRelation,
      modelClass: require('./TicketSubCategory').TicketSubCategory,
      join: { from: 'ticket_categories.id', to: 'ticket_sub_categories.ticket_category_id' },
    },
  });
}
