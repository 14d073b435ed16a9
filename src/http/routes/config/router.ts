import type Router from '@koa/router';
import { getSettings, updateSettings } from '../../../services/config/settings';
import { route } from '../../route';
import { presentConfig } from './presenter';
import { configBody } from './schema';

const tag = 'Config';

export function registerConfigRoutes(router: Router): void {
  route(router, {
    method: 'get',
    path: '/v1/ticketing/config',
    tag,
    summary: 'Every ticketing setting, stored or default',
    handler: async () => presentConfig(await getSettings()),
  });
  route(router, {
    method: 'put',
    path: '/v1/ticketing/config',
    tag,
    access: 'admin',
    summary: 'Change some settings; an unknown key or a wrong type is a 400',
    description:
      'points_per_hour and points_priority_weights (priority id -> factor) turn minutes into points; ' +
      'closure_delay_hours, auto_closure_* and reopen_window_days drive the scheduled jobs; timezone ' +
      'defines "today" and "this week".',
    body: configBody,
    handler: async ({ body }) => presentConfig(await updateSettings(body)),
  });
}
