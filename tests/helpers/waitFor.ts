/** Thrown from a condition to stop waiting at once. */
export class FatalWait extends Error {}

/**
 * Polls `condition` until it returns a truthy value (which is returned) or time runs out.
 */
export async function waitFor<T>(
  condition: () => Promise<T> | T,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let lastError: unknown;
  for (;;) {
    try {
      const v = await condition();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      lastError = e;
      if (e instanceof FatalWait) throw e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}
