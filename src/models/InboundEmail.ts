import { BaseModel } from './BaseModel';

export type InboundOutcome =
  | 'ticket_created'
  | 'reply_added'
  | 'duplicate'
  | 'auto_reply'
  | 'bounce'
  | 'loop'
  | 'quarantined'
  | 'rejected'
  | 'failed';

/** Every message received, with what became of it; the raw bytes stay in the blob store. */
export class InboundEmail extends BaseModel {
  static override tableName = 'inbound_emails';
  static override get jsonAttributes() {
    return ['to', 'cc'];
  }

  declare id: number;
  declare mailbox_id: number | null;
  declare message_id: string;
  declare from: string | null;
  declare from_name: string | null;
  declare to: string[];
  declare cc: string[];
  declare subject: string | null;
  declare received_at: Date;
  declare sent_at: Date | null;
  declare size: number;
  declare attachments_count: number;
  declare outcome: InboundOutcome;
  declare reason: string | null;
  declare flags: string[];
  declare ticket_id: number | null;
  declare reply_id: number | null;
  declare outbound_email_id: number | null;
  /** The raw message in the blob store; null once RAW_MAIL_KEEP_DAYS removed it. */
  declare raw_sha256: string | null;
  /** When the raw message was removed, and the RAW_MAIL_KEEP_DAYS it was removed under. */
  declare raw_removed_at: Date | null;
  declare raw_kept_days: number | null;
  declare imap_uid: number | null;
  declare error: string | null;
  declare created_at: Date;
  declare updated_at: Date;
}
