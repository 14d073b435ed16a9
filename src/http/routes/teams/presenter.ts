/**
 * A support team as the API shows it. Its members are users (users/presenter.ts).
 */
import type { SupportTeam } from '../../../models/SupportTeam';
import { type Presenter, presenter } from '../../present';

type TeamRow = SupportTeam & { users_count?: number; open_tickets_count?: number };

/** Lists and shows add `users_count`, the show `open_tickets_count` too. */
export const SUPPORT_TEAM_FIELDS = ['id', 'name', 'email', 'created_at', 'updated_at', 'users_count', 'open_tickets_count'] as const;

export const presentSupportTeam: Presenter<TeamRow> = presenter(SUPPORT_TEAM_FIELDS);
