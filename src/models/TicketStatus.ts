import { BaseModel } from './BaseModel';

export type AutoFor = 'default' | 'on_admin_reply' | 'on_customer_reply';

/** A ticket status; `auto_for` marks the one applied automatically on that event. */
export class TicketStatus extends BaseModel {
  static override tableName = 'ticket_statuses';

  declare id: number;
  declare name: string;
  declare color: string | null;
  declare auto_for: AutoFor | null;
  declare position: number;
}
