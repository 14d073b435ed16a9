import { Model } from 'objection';
import { now } from '../clock';

/**
 * Shared behaviour: business timestamps from the clock module (never SQL now()).
 * Properties keep the columns' snake_case names, because the API speaks snake_case too.
 */
export class BaseModel extends Model {
  static readonly timestamps: boolean = true;

  override $beforeInsert(): void {
    const ctor = this.constructor as typeof BaseModel;
    if (!ctor.timestamps) return;
    const at = now();
    const self = this as unknown as { created_at?: Date; updated_at?: Date };
    self.created_at ??= at;
    self.updated_at ??= at;
  }

  override $beforeUpdate(): void {
    const ctor = this.constructor as typeof BaseModel;
    if (!ctor.timestamps) return;
    (this as unknown as { updated_at?: Date }).updated_at = now();
  }
}
