import { Model } from 'objection';
import { BaseModel } from './BaseModel';

export class SupportTeam extends BaseModel {
  static override tableName = 'support_teams';

  declare id: number;
  declare name: string;
  declare email: string | null;

  static override relationMappings = () => ({
    members: {
      relation: Model.ManyToManyRelation,
      modelClass: require('./User').User,
      join: {
        from: 'support_teams.id',
        through: { from: 'support_team_members.support_team_id', to: 'support_team_members.user_id' },
        to: 'users.id',
      },
    },
  });
}
