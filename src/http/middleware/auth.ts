/**
 * Reads `Authorization: Bearer <token>` and puts the caller on `ctx.state.actor`; each route
 * decides whether it needs one (see route.ts).
 */
import type { Context, Next } from 'koa';
import { authenticate } from '../../services/auth/tokens';
import type { Actor } from '../route';

export async function bearerAuth(ctx: Context, next: Next): Promise<void> {
  const header = ctx.get('authorization');
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (m) {
    const user = await authenticate(m[1]!);
    if (user) {
      const actor: Actor = { id: user.id, name: user.name, email: user.email, role: user.role };
      ctx.state.actor = actor;
      ctx.state.log = ctx.state.log?.child({ user_id: user.id });
    }
  }
  await next();
}
