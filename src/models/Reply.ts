import { BaseModel } from './BaseModel';
import type { AuthSummary } from './InboundEmail';

/** A message on a ticket: from the customer, an agent's answer, or an internal note. */
export class Reply extends BaseModel {
  static override tableName = 'replies';

  declare id: number;
  declare ticket_id: number;
  declare body: string;
  declare origin: string;
  declare author_type: string;
  declare author_id: number | null;
  declare contact_id: number | null;
  declare seen_at: Date | null;
  declare customer_visible: boolean;
  declare copy_to_sales: boolean;
  declare auto_closure_message: boolean;
  /** `auto_reply`, `machine_generated`: marks left by inbound mail. */
  declare flags: string[];
  declare inbound_email_id: number | null;
  /** Of the inbound message it came from, when its mailbox checks authenticity. */
  declare auth_summary: AuthSummary | null;
  declare created_at: Date;
  declare updated_at: Date;
}
