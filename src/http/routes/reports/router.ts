import type Router from '@koa/router';
import { MAX_PERIOD_DAYS, customerReport } from '../../../services/reports/customerReport';
import { route } from '../../route';
import { customerReportQuery } from './schema';

export function registerReportRoutes(router: Router): void {
  route(router, {
    method: 'get',
    path: '/v1/ticketing/customer_report',
    tag: 'Customer report',
    produces: 'application/pdf',
    summary: 'Generate or retrieve a PDF ticketing report for a customer and a period',
    description:
      "The customer, the period, each support contract's balance and movement (points), the key figures (tickets opened and closed, time, points), " +
      'a weekly chart of tickets opened and closed and of points consumed, then the tickets active in the period with their time and points. ' +
      "`from` and `to` are local days in the config's time zone, both included (default: from the first of the month to today; " +
      `at most ${MAX_PERIOD_DAYS} days). The same report asked again is served from the stored copy (\`X-Report-Cache: hit\`) ` +
      'until something it shows changes (a ticket, message or time of the customer, a contract balance); then a new one is made (`miss`). ' +
      '503 `pdf_renderer_unavailable` when Chromium (CHROMIUM_PATH) cannot be started.',
    query: customerReportQuery,
    returns: 'the PDF (application/pdf)',
    errors: [400, 404, 503],
    handler: async ({ query, ctx }) => {
      const report = await customerReport({ customerId: query.customer_id, from: query.from, to: query.to });
      ctx.set('Content-Type', 'application/pdf');
      ctx.set('Content-Disposition', `inline; filename="${report.filename}"`);
      ctx.set('Content-Length', String(report.pdf.length));
      ctx.set('Last-Modified', report.createdAt.toUTCString());
      ctx.set('Cache-Control', 'private, no-cache');
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.set('X-Report-Cache', report.cached ? 'hit' : 'miss');
      ctx.status = 200;
      ctx.body = report.pdf;
      return undefined;
    },
  });
}
