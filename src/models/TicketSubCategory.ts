import { Model } from 'objection';
import { BaseModel } from './BaseModel';

export class TicketSubCategory extends BaseModel {
  static override tableName = 'ticket_sub_categories';

  declare id: number;
  declare ticket_category_id: number;
  declare name: string;
  declare priority_id: number | null;

  static override relationMappings = () => ({
    category: {
      relation: Model.BelongsToOneRelation,
      modelClass: require('./TicketCategory').TicketCategory,
      join: { from: 'ticket_sub_categories.ticket_category_id', to: 'ticket_categories.id' },
    },
    priority: {
      relation: Model.BelongsToOneRelation,
      modelClass: require('./Priority').Priority,
      join: { from: 'ticket_sub_categories.priority_id', to: 'priorities.id' },
    },
  });
}
