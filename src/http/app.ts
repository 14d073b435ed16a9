/**
 * The Koa application: request log, JSON serialisation, errors, body parsing, bearer auth,
 * then the routes under `/api`.
 */
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import { config } from '../config';
import { logger } from '../logger';
import { bearerAuth } from './middleware/auth';
import { errorHandler } from './middleware/errors';
import { jsonBody } from './middleware/json';
import { requestLog } from './middleware/requestLog';
import { registerAttachmentRoutes } from './routes/attachments/router';
import { registerCatalogRoutes } from './routes/catalog/router';
import { registerConfigRoutes } from './routes/config/router';
import { registerContactRoutes } from './routes/contacts/router';
import { registerContractRoutes } from './routes/contracts/router';
import { registerCustomerRoutes } from './routes/customers/router';
import { registerDocsRoutes } from './routes/docs/router';
import { registerHealthRoutes } from './routes/health/router';
import { registerInsightsRoutes } from './routes/insights/router';
import { registerMailRoutes } from './routes/mail/router';
import { registerOutboundRoutes } from './routes/outbound/router';
import { registerReplyRoutes } from './routes/replies/router';
import { registerReportRoutes } from './routes/reports/router';
import { registerSupportSheetRoutes } from './routes/sheets/router';
import { registerSuppressionRoutes } from './routes/suppressions/router';
import { registerTeamRoutes } from './routes/teams/router';
import { registerTemplateRoutes } from './routes/templates/router';
import { registerTicketRoutes } from './routes/tickets/router';
import { registerTimeRoutes } from './routes/time/router';
import { registerUserRoutes } from './routes/users/router';

/** Every route module, in registration order (fixed paths before `:id` ones). */
const ROUTE_MODULES = [
  registerHealthRoutes,
  registerDocsRoutes,
  registerTicketRoutes,
  registerInsightsRoutes,
  registerReplyRoutes,
  registerCustomerRoutes,
  registerContactRoutes,
  registerUserRoutes,
  registerCatalogRoutes,
  registerTeamRoutes,
  registerContractRoutes,
  registerReportRoutes,
  registerSupportSheetRoutes,
  registerTimeRoutes,
  registerTemplateRoutes,
  registerConfigRoutes,
  registerAttachmentRoutes,
  registerMailRoutes,
  registerOutboundRoutes,
  registerSuppressionRoutes,
];

/** A router with every API route, prefixed `/api`. */
export function apiRouter(): Router {
  const router = new Router({ prefix: '/api' });
  for (const register of ROUTE_MODULES) register(router);
  return router;
}

/** The HTTP application. */
export function createApp(): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true;
  const router = apiRouter();
  app.use(requestLog(logger.child({ role: 'api' })));
  app.use(jsonBody);
  app.use(errorHandler);
  app.use(
    bodyParser({
      enableTypes: ['json'],
      parsedMethods: ['POST', 'PUT', 'PATCH', 'DELETE'],
      jsonLimit: config().jsonBodyMaxBytes,
      jsonStrict: true,
      onError: (err) => {
        throw err;
      },
    }),
  );
  app.use(bearerAuth);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
