import type Router from '@koa/router';
import { supportSheets } from '../../../services/sheets/supportSheets';
import { crudRoutes } from '../../crudRoutes';
import { presentSupportSheet } from './presenter';
import { createSupportSheetBody, supportSheetListFilters, updateSupportSheetBody } from './schema';

export function registerSupportSheetRoutes(router: Router): void {
  crudRoutes(router, {
    path: '/v1/ticketing/support_sheets',
    tag: 'Support sheets',
    what: 'support sheet',
    service: supportSheets,
    present: presentSupportSheet,
    writeAccess: 'agent',
    stampOnCreate: (actor) => ({ author_id: actor.id }),
    body: createSupportSheetBody,
    updateBody: updateSupportSheetBody,
    listQuery: supportSheetListFilters,
  });
}
