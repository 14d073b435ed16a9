import { BaseModel } from './BaseModel';

/** Read-only reference data, seeded by the migrations. */
export class Priority extends BaseModel {
  static override tableName = 'priorities';
  static override readonly timestamps = false;

  declare id: number;
  declare name: string;
  declare level: number;
  declare color: string | null;
}
