import { BaseModel } from './BaseModel';

export type Role = 'admin' | 'agent';

/** An agent or admin of the helpdesk. */
export class User extends BaseModel {
  static override tableName = 'users';
  static readonly morphType = 'App\\User';

  declare id: number;
  declare name: string;
  declare email: string;
  declare alternate_emails: string[];
  declare role: Role;
  declare active: boolean;
  declare created_at: Date;
  declare updated_at: Date;

  static override get modifiers() {
    return {
      summary(qb: import('objection').QueryBuilder<User>) {
        qb.select('users.id', 'users.name', 'users.email');
      },
    };
  }
}
