import type { Knex } from 'knex';
import { cached } from '../../cache';
import { conn } from '../../db/transaction';
import type { AutoFor } from '../../models/TicketStatus';

/** The id of the status that carries `autoFor`, or null when none does. */
export async function autoStatusId(trx: Knex | undefined, autoFor: AutoFor): Promise<number | null> {
  return cached(`status:${autoFor}`, async () => {
    const row = await conn(trx)('ticket_statuses').where({ auto_for: autoFor }).first('id');
    return (row?.id as number | undefined) ?? null;
  });
}
