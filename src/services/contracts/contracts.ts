/**
 * Support contracts and their shares. Creating a contract sets `points_total` and
 * `points_current` from `points_init`; `points_current` is never written directly: it is
 * the total minus what the contract's tickets consumed (see points.ts).
 *
 * Contract types: 1 prepaid block of points, 2 monthly renewal, 3 quarterly renewal,
 * 4 yearly renewal, 5 unlimited support (no alert), 6 trial.
 */
import type { Knex } from 'knex';
import { conn } from '../../db/transaction';
import { AppError, invalid } from '../../errors';
import { type Page, type PageRequest, fetchModelPage } from '../../db/pagination';
import { DailyPointsSummary } from '../../models/DailyPointsSummary';
import { SharedSupportContract } from '../../models/SharedSupportContract';
import { SupportContract } from '../../models/SupportContract';
import { crud } from '../crud';
import { requireReference } from '../lookup';
import { requireTicketable } from '../tickets/ticketRules';
import { refreshContractPoints } from './points';

export const CONTRACT_TYPES: Record<number, string> = {
  1: 'prepaid block of points',
  2: 'monthly renewal',
  3: 'quarterly renewal',
  4: 'yearly renewal',
  5: 'unlimited support (no alert)',
  6: 'trial',
};

async function prepareContract(trx: Knex, fields: Record<string, unknown>, existing?: SupportContract) {
  const out = { ...fields };
  if (out.support_contracteable_id !== undefined || out.support_contracteable_type !== undefined) {
    await requireTicketable(
      trx,
      (out.support_contracteable_type as string | undefined) ?? existing?.support_contracteable_type ?? 'App\\Customer',
      (out.support_contracteable_id as number | undefined) ?? existing!.support_contracteable_id,
    );
  }
  const started = (out.started_at as Date | undefined) ?? existing?.started_at;
  const expires = (out.expires_at as Date | undefined) ?? existing?.expires_at;
  if (started && expires && expires <= started) throw invalid({ expires_at: 'must be after started_at' });
  if (!existing) {
    const init = (out.points_init as number | undefined) ?? 0;
    Object.assign(out, { points_total: init, points_current: init, points_init_memory: init });
  }
  return out;
}

export const contracts = crud<SupportContract>({
  model: SupportContract,
  what: 'support contract',
  prepare: prepareContract,
  afterWrite: (trx, row) => refreshContractPoints(trx, row.id),
  filter: (q, query) => {
    if (query.support_contracteable_id) {
      q.where({
        'support_contracts.support_contracteable_type': (query.support_contracteable_type as string) ?? 'App\\Customer',
        'support_contracts.support_contracteable_id': query.support_contracteable_id as number,
      });
    }
  },
});

/** One page of a customer's contracts, latest start first; 404 for an unknown customer. */
export async function contractsOfCustomer(opts: { type: string; customerId: number; page: PageRequest }, trx?: Knex): Promise<Page<SupportContract>> {
  await requireTicketable(conn(trx), opts.type, opts.customerId);
  const q = SupportContract.query(conn(trx))
    .where({ support_contracteable_type: opts.type, support_contracteable_id: opts.customerId })
    .orderByRaw('started_at desc nulls last, id desc');
  return fetchModelPage(q, opts.page);
}

export const sharedContracts = crud<SharedSupportContract>({
  model: SharedSupportContract,
  what: 'shared support contract',
  prepare: async (trx, fields) => {
    await requireReference(trx, 'support_contracts', fields.support_contract_id as number, 'support_contract_id');
    await requireReference(trx, 'customers', fields.customer_id as number, 'customer_id');
    const contract = await trx('support_contracts').where({ id: fields.support_contract_id }).first();
    if (contract.support_contracteable_id === fields.customer_id) {
      throw invalid({ customer_id: 'owns the contract: a contract cannot be shared with its owner' });
    }
    const dup = await trx('shared_support_contracts').where({ support_contract_id: fields.support_contract_id, customer_id: fields.customer_id }).first('id');
    if (dup) throw new AppError(409, 'conflict', 'the contract is already shared with that customer', { shared_support_contract_id: dup.id });
    return fields;
  },
  filter: (q, query) => {
    if (query.customer_id) q.where('shared_support_contracts.customer_id', query.customer_id as number);
    if (query.support_contract_id) q.where('shared_support_contracts.support_contract_id', query.support_contract_id as number);
  },
});

/** One page of the daily points summaries (written by the daily-points-summary job), newest first. */
export function listDailyPointsSummaries(filter: { support_contract_id?: number }, page: PageRequest): Promise<Page<DailyPointsSummary>> {
  const q = DailyPointsSummary.query().orderBy('id', 'desc');
  if (filter.support_contract_id) q.where({ support_contract_id: filter.support_contract_id });
  return fetchModelPage(q, page);
}
