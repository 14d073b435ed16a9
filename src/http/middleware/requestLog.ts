/**
 * A child logger per request, carrying its id; one line per request when it ends.
 */
import crypto from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../../logger';

export function requestLog(root: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const requestId = crypto.randomUUID();
    ctx.state.log = root.child({ request_id: requestId });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      ctx.state.log.debug({ method: ctx.method, path: ctx.path, status: ctx.status, ms }, 'request');
    }
  };
}
