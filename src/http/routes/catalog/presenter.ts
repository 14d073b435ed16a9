/**
 * Statuses, priorities, categories and sub-categories as the API shows them.
 */
import type { Priority } from '../../../models/Priority';
import type { TicketCategory } from '../../../models/TicketCategory';
import type { TicketStatus } from '../../../models/TicketStatus';
import type { TicketSubCategory } from '../../../models/TicketSubCategory';
import { type Presenter, presenter } from '../../present';

/** A status; `auto_for` names the event that moves tickets to it, `position` the display order. */
export const STATUS_FIELDS = ['id', 'name', 'color', 'auto_for', 'position', 'created_at', 'updated_at'] as const;
export const presentStatus: Presenter<TicketStatus> = presenter(STATUS_FIELDS);

/** Read-only reference data: no timestamps. */
export const PRIORITY_FIELDS = ['id', 'name', 'level', 'color'] as const;
export const presentPriority: Presenter<Priority> = presenter(PRIORITY_FIELDS);

type CategoryRow = TicketCategory & { sub_categories_count?: number; sub_categories?: TicketSubCategory[] };
type SubCategoryRow = TicketSubCategory & { category?: TicketCategory | null; priority?: Priority | null };

/** A category's own fields, as a sub-category embeds it. */
const CATEGORY_OWN_FIELDS = ['id', 'name', 'description', 'created_at', 'updated_at'] as const;
const presentCategoryOwn: Presenter<TicketCategory> = presenter(CATEGORY_OWN_FIELDS);

/** A sub-category's own fields, as a category's show embeds it. */
const SUB_CATEGORY_OWN_FIELDS = ['id', 'ticket_category_id', 'name', 'priority_id', 'created_at', 'updated_at'] as const;
const presentSubCategoryOwn: Presenter<TicketSubCategory> = presenter(SUB_CATEGORY_OWN_FIELDS);

/** A category: lists add `sub_categories_count`, the show its sub-categories too. */
export const CATEGORY_FIELDS = [...CATEGORY_OWN_FIELDS, 'sub_categories_count', 'sub_categories'] as const;
export const presentCategory: Presenter<CategoryRow> = presenter(CATEGORY_FIELDS, {
  sub_categories: (c) => c.sub_categories?.map(presentSubCategoryOwn),
});

/** A sub-category with its category and default priority. */
export const SUB_CATEGORY_FIELDS = [...SUB_CATEGORY_OWN_FIELDS, 'category', 'priority'] as const;
export const presentSubCategory: Presenter<SubCategoryRow> = presenter(SUB_CATEGORY_FIELDS, {
  category: (s) => (s.category === undefined ? undefined : s.category && presentCategoryOwn(s.category)),
  priority: (s) => (s.priority === undefined ? undefined : s.priority && presentPriority(s.priority)),
});
