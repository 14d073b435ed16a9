import { BaseModel } from './BaseModel';

/** A canned reply; its body may hold template variables. */
export class ReplyTemplate extends BaseModel {
  static override tableName = 'reply_templates';

  declare id: number;
  declare name: string;
  declare body: string;
  declare created_at: Date;
  declare updated_at: Date;
}
