/**
 * Support contracts, their shares and the daily points summaries as the API shows them.
 */
import { formatDayMonthYear, parseDate } from '../../../datetime';
import type { DailyPointsSummary } from '../../../models/DailyPointsSummary';
import type { SharedSupportContract } from '../../../models/SharedSupportContract';
import type { SupportContract } from '../../../models/SupportContract';
import { type Presenter, presenter } from '../../present';

/**
 * The seed's fields in its order, then when the contract last renewed and when it expired
 * (written by the contract-points job), and the row's times.
 */
export const CONTRACT_FIELDS = [
  'id',
  'support_contracteable_type',
  'support_contracteable_id',
  'type',
  'points_total',
  'points_init',
  'points_init_memory',
  'points_current',
  'points_alert',
  'points_auto_renew',
  'points_auto_added',
  'signed_at',
  'started_at',
  'expires_at',
  'last_notified_at',
  'renewed_at',
  'expired_at',
  'created_at',
  'updated_at',
] as const;

/** A contract as the seed shows it: `signed_at` as d/m/Y. */
export const presentContract: Presenter<SupportContract> = presenter(CONTRACT_FIELDS, {
  signed_at: (c) => (c.signed_at ? formatDayMonthYear(parseDate(c.signed_at)!) : null),
});

export const SHARED_CONTRACT_FIELDS = ['id', 'support_contract_id', 'customer_id', 'created_at', 'updated_at'] as const;
export const presentSharedContract: Presenter<SharedSupportContract> = presenter(SHARED_CONTRACT_FIELDS);

/** `day` as Y-m-d. */
export const DAILY_POINTS_SUMMARY_FIELDS = ['id', 'support_contract_id', 'day', 'points_total', 'points_current', 'points_consumed', 'created_at'] as const;
export const presentDailyPointsSummary: Presenter<DailyPointsSummary> = presenter(DAILY_POINTS_SUMMARY_FIELDS);
