/**
 * Support sheets: what an agent should know to support a customer (sanitized HTML).
 */
import type { Knex } from 'knex';
import { SupportSheet } from '../../models/SupportSheet';
import { crud } from '../crud';
import { sanitizeBody, stripTags } from '../html/sanitize';
import { requireReference } from '../lookup';

export const supportSheets = crud<SupportSheet>({
  model: SupportSheet,
  what: 'support sheet',
  prepare: async (trx: Knex, fields) => {
    const out = { ...fields };
    await requireReference(trx, 'customers', out.customer_id as number | undefined, 'customer_id');
    if (typeof out.title === 'string') out.title = stripTags(out.title);
    if (typeof out.content === 'string') out.content = sanitizeBody(out.content);
    return out;
  },
  filter: (q, query) => {
    if (query.customer_id) q.where('support_sheets.customer_id', query.customer_id as number);
  },
});
