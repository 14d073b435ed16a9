import type Router from '@koa/router';
import { z } from 'zod';
import { formatDayMonthYear, parseDate } from '../../../datetime';
import type { SupportContract } from '../../../models/SupportContract';
import { CONTRACT_TYPES, contracts, contractsOfCustomer, listDailyPointsSummaries, sharedContracts } from '../../../services/contracts/contracts';
import { crudRoutes } from '../../crudRoutes';
import { listQuery } from '../../listQuery';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { dateTime, dayMonthYear, id, queryId } from '../../validation';

const tag = 'Support contracts';
const points = () => z.number().min(0).max(1_000_000);

/** A contract as the seed shows it: `signed_at` as d/m/Y. */
export function presentContract(c: SupportContract): Record<string, unknown> {
  const out = c.toJSON() as Record<string, unknown>;
  out.signed_at = c.signed_at ? formatDayMonthYear(parseDate(c.signed_at)!) : null;
  return out;
}

const contractFields = z.object({
  support_contracteable_type: z.string().default('App\\Customer').describe('App\\Customer'),
  support_contracteable_id: id(),
  type: z.number().int().min(1).max(6).default(1)
    .describe(Object.entries(CONTRACT_TYPES).map(([k, v]) => `${k}: ${v}`).join('; ')),
  points_init: points().describe('points at the start; sets points_total and points_current'),
  points_alert: points().default(0).describe('alert when points_current drops below this'),
  points_auto_renew: points().default(0).describe('points added on each renewal (0: no renewal)'),
  signed_at: dayMonthYear().nullable().optional(),
  started_at: dateTime().nullable().optional(),
  expires_at: dateTime().nullable().optional(),
});

const toDbDate = <T extends Record<string, unknown>>(body: T): T =>
  body.signed_at instanceof Date ? { ...body, signed_at: (body.signed_at as Date).toISOString().slice(0, 10) } : body;

export function registerContractRoutes(router: Router): void {
  route(router, {
    method: 'get', path: '/v1/ticketing/support_contracts/customer', tag,
    summary: "A customer's contracts, latest started first", errors: [404],
    query: listQuery({ support_contracteable_type: z.string().default('App\\Customer'), support_contracteable_id: queryId() }),
    handler: async ({ query, ctx }) => {
      const page = await contractsOfCustomer({
        type: query.support_contracteable_type, customerId: query.support_contracteable_id, page: query,
      });
      return pagedBody(ctx, page, presentContract);
    },
  });

  const service = {
    ...contracts,
    create: (f: Record<string, unknown>) => contracts.create(toDbDate(f)),
    update: (i: number, f: Record<string, unknown>) => contracts.update(i, toDbDate(f)),
  };
  crudRoutes(router, {
    path: '/v1/ticketing/support_contracts', tag, what: 'support contract', service, present: presentContract,
    body: contractFields,
    updateBody: contractFields.omit({ points_init: true }).partial().extend({
      points_init: points().optional().describe('kept for the record; points_total is what counts'),
      points_total: points().optional().describe('the points the contract holds; points_current follows'),
    }),
    listQuery: { support_contracteable_type: z.string().optional(), support_contracteable_id: queryId().optional() },
    describe: { create: 'Create a contract; points_total and points_current start at points_init' },
  });

  crudRoutes(router, {
    path: '/v1/ticketing/shared_support_contracts', tag: 'Shared support contracts', what: 'shared support contract',
    service: sharedContracts, only: ['list', 'create', 'show', 'delete'],
    body: z.object({ support_contract_id: id(), customer_id: id().describe('the customer who may spend the points too') }),
    listQuery: { customer_id: queryId().optional(), support_contract_id: queryId().optional() },
    describe: { create: 'Share a contract with another customer (not its owner)' },
  });

  route(router, {
    method: 'get', path: '/v1/ticketing/daily_points_summary', tag: 'Daily points summary',
    summary: 'One row per contract per day (written by the daily-points-summary job), newest first',
    query: listQuery({ support_contract_id: queryId().optional() }),
    handler: async ({ query, ctx }) => pagedBody(ctx, await listDailyPointsSummaries(query, query), (r) => r.toJSON()),
  });
}
