import { BaseModel } from './BaseModel';

/** A canned ticket; subject and body may hold template variables. */
export class TicketTemplate extends BaseModel {
  static override tableName = 'ticket_templates';

  declare id: number;
  declare name: string;
  declare subject: string;
  declare body: string;
  declare priority_id: number | null;
  declare ticket_category_id: number | null;
  declare ticket_sub_category_id: number | null;
  declare created_at: Date;
  declare updated_at: Date;
}
