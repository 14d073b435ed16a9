import type Router from '@koa/router';
import { contracts, contractsOfCustomer, listDailyPointsSummaries, sharedContracts } from '../../../services/contracts/contracts';
import { crudRoutes } from '../../crudRoutes';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { presentContract, presentDailyPointsSummary, presentSharedContract } from './presenter';
import {
  contractListFilters,
  createContractBody,
  customerContractsQuery,
  dailyPointsSummaryQuery,
  shareContractBody,
  sharedContractListFilters,
  updateContractBody,
} from './schema';

const tag = 'Support contracts';

const toDbDate = <T extends Record<string, unknown>>(body: T): T =>
  body.signed_at instanceof Date ? { ...body, signed_at: (body.signed_at as Date).toISOString().slice(0, 10) } : body;

export function registerContractRoutes(router: Router): void {
  route(router, {
    method: 'get',
    path: '/v1/ticketing/support_contracts/customer',
    tag,
    summary: "A customer's contracts, latest started first",
    errors: [404],
    query: customerContractsQuery,
    handler: async ({ query, ctx }) => {
      const page = await contractsOfCustomer({
        type: query.support_contracteable_type,
        customerId: query.support_contracteable_id,
        page: query,
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
    path: '/v1/ticketing/support_contracts',
    tag,
    what: 'support contract',
    service,
    present: presentContract,
    body: createContractBody,
    updateBody: updateContractBody,
    listQuery: contractListFilters,
    describe: { create: 'Create a contract; points_total and points_current start at points_init' },
  });

  crudRoutes(router, {
    path: '/v1/ticketing/shared_support_contracts',
    tag: 'Shared support contracts',
    what: 'shared support contract',
    service: sharedContracts,
    present: presentSharedContract,
    only: ['list', 'create', 'show', 'delete'],
    body: shareContractBody,
    listQuery: sharedContractListFilters,
    describe: { create: 'Share a contract with another customer (not its owner)' },
  });

  route(router, {
    method: 'get',
    path: '/v1/ticketing/daily_points_summary',
    tag: 'Daily points summary',
    summary: 'One row per contract per day (written by the daily-points-summary job), newest first',
    query: dailyPointsSummaryQuery,
    handler: async ({ query, ctx }) => pagedBody(ctx, await listDailyPointsSummaries(query, query), presentDailyPointsSummary),
  });
}
