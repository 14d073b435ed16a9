/**
 * A support sheet as the API shows it; `content` is sanitized HTML, `author_id` the agent
 * who created it.
 */
import type { SupportSheet } from '../../../models/SupportSheet';
import { type Presenter, presenter } from '../../present';

export const SUPPORT_SHEET_FIELDS = ['id', 'customer_id', 'title', 'content', 'author_id', 'created_at', 'updated_at'] as const;

export const presentSupportSheet: Presenter<SupportSheet> = presenter(SUPPORT_SHEET_FIELDS);
