import { BaseModel } from './BaseModel';

/** A bearer token: a public selector and the sha256 of its secret verifier. */
export class ApiToken extends BaseModel {
  static override tableName = 'api_tokens';
  static override readonly timestamps = false;

  declare id: number;
  declare user_id: number;
  declare selector: string;
  declare verifier_hash: string;
  declare name: string | null;
  declare created_at: Date;
  declare last_used_at: Date | null;
  declare revoked_at: Date | null;
}
