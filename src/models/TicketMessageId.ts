import { BaseModel } from './BaseModel';

/** A Message-ID we received or sent on a ticket: what `In-Reply-To` threading looks up. */
export class TicketMessageId extends BaseModel {
  static override tableName = 'ticket_message_ids';
  static override readonly timestamps = false;

  declare id: number;
  declare message_id: string;
  declare ticket_id: number;
  declare reply_id: number | null;
  declare outbound_email_id: number | null;
  declare direction: 'in' | 'out';
  declare created_at: Date;
}
