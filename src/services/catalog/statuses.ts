/**
 * Ticket statuses. `auto_for` (default, on_admin_reply, on_customer_reply) is carried by at
 * most one status; the automatic transitions follow whichever status carries it. Deleting
 * a status leaves its tickets without one.
 */
import type { Knex } from 'knex';
import { AppError } from '../../errors';
import { TicketStatus } from '../../models/TicketStatus';
import { invalidate } from '../../cache';
import { crud } from '../crud';

async function prepare(trx: Knex, fields: Record<string, unknown>, existing?: TicketStatus) {
  if (fields.auto_for) {
    const holder = await trx('ticket_statuses').where({ auto_for: fields.auto_for }).first('id', 'name');
    if (holder && holder.id !== existing?.id) {
      throw new AppError(409, 'auto_for_taken', `status "${holder.name}" already carries auto_for ${String(fields.auto_for)}`, {
        fields: { auto_for: `is already carried by status ${holder.id}` },
      });
    }
  }
  return fields;
}

export const statuses = crud<TicketStatus>({
  model: TicketStatus,
  what: 'status',
  orderBy: 'position',
  prepare,
  afterWrite: async () => invalidate('status:'),
  beforeDelete: async () => invalidate('status:'),
});
