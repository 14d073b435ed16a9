/**
 * Categories and sub-categories. Deleting either is refused (409) while tickets use it;
 * a category without tickets goes with its sub-categories.
 */
import type { Knex } from 'knex';
import { raw } from 'objection';
import { conflict, invalid } from '../../errors';
import { TicketCategory } from '../../models/TicketCategory';
import { TicketSubCategory } from '../../models/TicketSubCategory';
import { crud } from '../crud';
import { requireReference } from '../lookup';

export const categories = crud<TicketCategory>({
  model: TicketCategory,
  what: 'category',
  decorate: (q, mode) => {
    q.select(
      'ticket_categories.*',
      raw('(select count(*) from ticket_sub_categories s where s.ticket_category_id = ticket_categories.id)::int as sub_categories_count'),
    );
    if (mode === 'show') q.withGraphFetched('sub_categories(byId)').modifiers({ byId: (b) => b.orderBy('id') });
  },
  beforeDelete: async (trx, row) => {
    const used = await trx('tickets').where({ ticket_category_id: row.id }).first('id');
    if (used) throw conflict('tickets use this category; move them to another category first');
    await trx('ticket_sub_categories').where({ ticket_category_id: row.id }).delete();
  },
});

async function prepareSubCategory(trx: Knex, fields: Record<string, unknown>, existing?: TicketSubCategory) {
  await requireReference(trx, 'ticket_categories', fields.ticket_category_id as number | undefined, 'ticket_category_id');
  await requireReference(trx, 'priorities', fields.priority_id as number | undefined, 'priority_id');
  if (existing && fields.ticket_category_id && fields.ticket_category_id !== existing.ticket_category_id) {
    const used = await trx('tickets').where({ ticket_sub_category_id: existing.id }).first('id');
    if (used) throw invalid({ ticket_category_id: 'tickets use this sub-category; it cannot move to another category' });
  }
  return fields;
}

export const subCategories = crud<TicketSubCategory>({
  model: TicketSubCategory,
  what: 'sub-category',
  prepare: prepareSubCategory,
  decorate: (q) => {
    q.withGraphFetched('[category, priority]');
  },
  filter: (q, query) => {
    if (query.ticket_category_id) q.where('ticket_sub_categories.ticket_category_id', query.ticket_category_id as number);
  },
  beforeDelete: async (trx, row) => {
    const used = await trx('tickets').where({ ticket_sub_category_id: row.id }).first('id');
    if (used) throw conflict('tickets use this sub-category; move them first');
  },
});
