/**
 * The ticketing config as the API shows it: every setting, stored or default.
 */
import type { Settings } from '../../../services/config/settings';
import { type Presenter, presenter } from '../../present';

export const CONFIG_FIELDS = [
  'timezone',
  'points_per_hour',
  'points_priority_weights',
  'closure_delay_hours',
  'auto_closure_enabled',
  'auto_closure_delay_days',
  'auto_closure_reminders',
  'reopen_window_days',
  'team_report_emails',
  'points_alert_emails',
  'auto_acknowledge',
] as const satisfies readonly (keyof Settings)[];

export const presentConfig: Presenter<Settings> = presenter(CONFIG_FIELDS);
