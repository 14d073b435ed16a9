/**
 * An entry of the suppression list as the API shows it: the address, why, and the report
 * (and our message it answered) that put it there.
 */
import type { Suppression } from '../../../services/suppressions/suppressions';
import { type Presenter, presenter } from '../../present';

export const SUPPRESSION_FIELDS = ['id', 'address', 'reason', 'source', 'inbound_email_id', 'outbound_email_id', 'created_at'] as const;

export const presentSuppression: Presenter<Suppression> = presenter(SUPPRESSION_FIELDS);
