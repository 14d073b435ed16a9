/**
 * Priorities: read-only reference data, seeded by the migrations.
 */
import { type Page, type PageRequest, fetchModelPage } from '../../db/pagination';
import { Priority } from '../../models/Priority';

/** One page of every priority, by id. */
export function listPriorities(page: PageRequest): Promise<Page<Priority>> {
  return fetchModelPage(Priority.query().orderBy('id'), page);
}
