/**
 * Request schemas of the support contract routes (contracts, shares, daily points
 * summaries); they validate and they document.
 */
import { z } from 'zod';
import { CONTRACT_TYPES } from '../../../services/contracts/contracts';
import { listQuery } from '../../listQuery';
import { dateTime, dayMonthYear, id, queryId } from '../../validation';

const points = () => z.number().min(0).max(1_000_000);

export const customerContractsQuery = listQuery({
  support_contracteable_type: z.string().default('App\\Customer'),
  support_contracteable_id: queryId(),
});

export const createContractBody = z.object({
  support_contracteable_type: z.string().default('App\\Customer').describe('App\\Customer'),
  support_contracteable_id: id(),
  type: z
    .number()
    .int()
    .min(1)
    .max(6)
    .default(1)
    .describe(
      Object.entries(CONTRACT_TYPES)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; '),
    ),
  points_init: points().describe('points at the start; sets points_total and points_current'),
  points_alert: points().default(0).describe('alert when points_current drops below this'),
  points_auto_renew: points().default(0).describe('points added on each renewal (0: no renewal)'),
  signed_at: dayMonthYear().nullable().optional(),
  started_at: dateTime().nullable().optional(),
  expires_at: dateTime().nullable().optional(),
});

export const updateContractBody = createContractBody
  .omit({ points_init: true })
  .partial()
  .extend({
    points_init: points().optional().describe('kept for the record; points_total is what counts'),
    points_total: points().optional().describe('the points the contract holds; points_current follows'),
  });

/** Filters of the contract list. */
export const contractListFilters = { support_contracteable_type: z.string().optional(), support_contracteable_id: queryId().optional() };

export const shareContractBody = z.object({
  support_contract_id: id(),
  customer_id: id().describe('the customer who may spend the points too'),
});

/** Filters of the shared contract list. */
export const sharedContractListFilters = { customer_id: queryId().optional(), support_contract_id: queryId().optional() };

export const dailyPointsSummaryQuery = listQuery({ support_contract_id: queryId().optional() });
