import { BaseModel } from './BaseModel';

export type AfterImport = 'seen' | 'move' | 'delete';
export type UnknownSenderPolicy = 'quarantine' | 'create_contact' | 'reject';
/** off: nothing checked; record: each message's verdict kept; enforce: and acted on. */
export type AuthenticityMode = 'off' | 'record' | 'enforce';
export type AuthSource = 'trusted_header' | 'verify';

/** A support address and the IMAP account its mail arrives in. */
export class Mailbox extends BaseModel {
  static override tableName = 'mailboxes';

  declare id: number;
  declare name: string;
  declare email: string;
  declare imap_host: string | null;
  declare imap_port: number;
  declare imap_secure: boolean;
  declare imap_username: string | null;
  /** AES-256-GCM under a key derived from the server secret; never shown. */
  declare imap_password_encrypted: string | null;
  declare imap_folder: string;
  declare after_import: AfterImport;
  declare move_to: string | null;
  declare team_id: number | null;
  declare priority_id: number | null;
  declare ticket_category_id: number | null;
  declare ticket_sub_category_id: number | null;
  declare unknown_sender: UnknownSenderPolicy;
  declare import_existing: 'unseen' | 'all' | 'none';
  declare authenticity: AuthenticityMode;
  /** Where the verdict comes from: the mailbox's own server's Authentication-Results, or checked here. */
  declare auth_source: AuthSource;
  /** The authserv-id of the mailbox's own server's Authentication-Results (for `trusted_header`). */
  declare authserv_id: string | null;
  declare active: boolean;
  /** The IMAP cursor: UIDVALIDITY and the last UID committed. */
  declare uid_validity: number | null;
  declare last_uid: number | null;
  /** While a first `unseen` import runs: the last UID it covers. */
  declare import_until: number | null;
  declare last_polled_at: Date | null;
  declare last_error: string | null;
  declare created_at: Date;
  declare updated_at: Date;
}
