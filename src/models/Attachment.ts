import { BaseModel } from './BaseModel';

/** A file on a ticket or reply; its bytes live once in the blob store, by sha256. */
export class Attachment extends BaseModel {
  static override tableName = 'attachments';

  declare id: number;
  declare blob_sha256: string;
  declare filename: string;
  declare declared_type: string | null;
  declare sniffed_type: string | null;
  declare size: number;
  declare content_id: string | null;
  declare inline: boolean;
  declare ticket_id: number | null;
  declare reply_id: number | null;
}
