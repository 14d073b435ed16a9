import { BaseModel } from './BaseModel';

export interface Address {
  name?: string;
  address: string;
}

/** A recipient left out of a message, and why. */
export interface DroppedRecipient {
  address: string;
  reason: SuppressionReason;
}

export type SuppressionReason = 'our_mailbox' | 'undeliverable' | 'no_reply' | 'rate_limit';

export type OutboundState = 'queued' | 'sent' | 'failed' | 'bounced' | 'suppressed';

/** A row of the transactional outbox: one message to send, with its fixed Message-ID. */
export class OutboundEmail extends BaseModel {
  static override tableName = 'outbound_emails';
  static override get jsonAttributes() {
    return ['data', 'to_addresses', 'cc_addresses', 'dropped_recipients', 'rejected_recipients', 'delivered_recipients'];
  }

  declare id: number;
  declare message_id: string;
  declare ticket_id: number | null;
  declare reply_id: number | null;
  declare recipient_user_id: number | null;
  declare template: string;
  declare data: Record<string, unknown>;
  declare to_addresses: Address[];
  declare cc_addresses: Address[];
  declare subject: string | null;
  declare in_reply_to: string | null;
  declare references: string | null;
  declare automatic: boolean;
  declare state: OutboundState;
  declare suppressed_reason: string | null;
  declare attempts: number;
  declare next_attempt_at: Date | null;
  declare last_error: string | null;
  declare sent_at: Date | null;
  declare mailbox_id: number | null;
  declare bounce_inbound_email_id: number | null;
  declare bounce_reason: string | null;
  declare from_address: string | null;
  declare reply_to: string | null;
  declare dropped_recipients: DroppedRecipient[];
  /** Recipients refused for good (a 5xx, or still failing when the retry window closed). */
  declare rejected_recipients: string[];
  /** Recipients the SMTP server accepted, over all attempts: a retry goes only to the others. */
  declare delivered_recipients: string[];
  /** The claim of the mailer lane sending it now (null when none holds it). */
  declare claim_token: string | null;
  declare last_response: string | null;
  declare last_attempt_at: Date | null;
  declare queued_at: Date | null;
  declare created_at: Date;
  declare updated_at: Date;
}
