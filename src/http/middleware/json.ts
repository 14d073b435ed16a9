/**
 * Serialises JSON bodies in one place, so every Date leaves as `Y-m-d H:i:s` in UTC.
 */
import type { Context, Next } from 'koa';
import { formatDateTime } from '../../datetime';

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  return raw instanceof Date ? formatDateTime(raw) : value;
}

/** JSON text of `value` with the API's date format. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, replacer);
}

export async function jsonBody(ctx: Context, next: Next): Promise<void> {
  await next();
  const body = ctx.body;
  if (body === null || body === undefined || typeof body !== 'object') return;
  if (Buffer.isBuffer(body) || typeof (body as { pipe?: unknown }).pipe === 'function') return;
  ctx.type = 'application/json';
  ctx.body = toJson(body);
}
