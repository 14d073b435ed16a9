/**
 * Turns everything thrown below it into the one error shape; 4xx logged at warn, 5xx at
 * error with the stack, which never reaches the client. Input errors (NUL in a body or a
 * query, SQLSTATE 22021 as a backstop) are 400s; a database that cannot be reached (down,
 * restarting, or no pooled connection free in time) is a 503 with Retry-After, not a 500.
 */
import type { Context, Next } from 'koa';
import { isConnectionError, mapDbError } from '../../db/errors';
import { AppError } from '../../errors';

interface HttpLikeError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
  message?: string;
}

function toAppError(e: unknown): AppError | undefined {
  if (e instanceof AppError) return e;
  const mapped = mapDbError(e);
  if (mapped) return mapped;
  if (isConnectionError(e)) {
    return new AppError(503, 'database_unavailable', 'the database cannot be reached right now; try again shortly');
  }
  const h = e as HttpLikeError;
  const status = h?.status ?? h?.statusCode;
  if (status === 413 || h?.type === 'entity.too.large') {
    return new AppError(413, 'payload_too_large', 'the request body is over the size limit');
  }
  // the body parser's JSON errors are SyntaxErrors it marks 400 (bad JSON, a scalar, a __proto__ key)
  if (h?.type === 'entity.parse.failed' || (status === 400 && e instanceof SyntaxError)) {
    return new AppError(400, 'invalid_json', 'the request body is not valid JSON');
  }
  if (status === 415 || h?.type === 'unsupported.media.type') {
    return new AppError(415, 'unsupported_media_type', 'send the body as application/json');
  }
  if (status && status >= 400 && status < 500 && h.expose) {
    return new AppError(status, 'bad_request', h.message ?? 'bad request');
  }
  return undefined;
}

export async function errorHandler(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      throw new AppError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
    }
  } catch (e) {
    const err = toAppError(e);
    const log = ctx.state.log ?? ctx.app.context.log;
    if (err) {
      log?.warn({ status: err.status, code: err.code, msg_detail: err.message }, 'request failed');
      ctx.status = err.status;
      if (err.status === 503) ctx.set('Retry-After', '5');
      ctx.body = { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } };
    } else {
      log?.error({ err: e }, 'unexpected error');
      ctx.status = 500;
      ctx.body = { error: { code: 'internal_error', message: 'something went wrong; the error was logged' } };
    }
  }
}
