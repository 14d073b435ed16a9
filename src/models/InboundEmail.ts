import { BaseModel } from './BaseModel';

export type InboundOutcome = 'ticket_created' | 'reply_added' | 'duplicate' | 'auto_reply' | 'bounce' | 'loop' | 'quarantined' | 'rejected' | 'failed';

/** A message's authenticity in one word: what tickets and replies show (`auth_summary`). */
export type AuthSummary = 'pass' | 'fail' | 'none';

/**
 * The authenticity verdict of an inbound message (`inbound_emails.auth`), null when its
 * mailbox's `authenticity` is `off`. Results are RFC 8601 words (pass, fail, softfail,
 * neutral, none, temperror, permerror, policy); domains are as the checks saw them.
 */
export interface Authenticity {
  /** `trusted_header`: the mailbox's own server said so; `verify`: checked here (mailauth and DNS). */
  source: 'trusted_header' | 'verify';
  spf: { result: string; domain?: string; client_ip?: string };
  /** `pass` when a signature passes; each signature's own result beside it. */
  dkim: { result: string; signatures: { result: string; domain?: string; selector?: string }[] };
  dmarc: { result: string; domain?: string; policy?: string };
  arc: { result: string };
  /** The From domain the verdict is about. */
  from_domain: string | null;
  /** pass: DMARC passes (or, without DMARC, an aligned SPF or DKIM pass); fail; none: no verdict. */
  summary: AuthSummary;
  /** Why there is no verdict, or what was set aside. */
  note?: string;
}

/** Every message received, with what became of it; the raw bytes stay in the blob store. */
export class InboundEmail extends BaseModel {
  static override tableName = 'inbound_emails';
  static override get jsonAttributes() {
    return ['to', 'cc', 'auth'];
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
  declare auth: Authenticity | null;
  declare error: string | null;
  declare created_at: Date;
  declare updated_at: Date;
}
