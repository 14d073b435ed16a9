/**
 * Small in-process caches for reference data read on every message (settings, automatic
 * statuses, our mailbox addresses). A write through this process clears the entry at
 * once; other processes see a change within `ttlMs`.
 */
const entries = new Map<string, { value: unknown; until: number }>();

export const REFERENCE_TTL_MS = 2000;

/** The cached value of `key`, loading it with `load` when absent or stale. */
export async function cached<T>(key: string, load: () => Promise<T>, ttlMs = REFERENCE_TTL_MS): Promise<T> {
  const hit = entries.get(key);
  if (hit && hit.until > Date.now()) return hit.value as T;
  const value = await load();
  entries.set(key, { value, until: Date.now() + ttlMs });
  return value;
}

/** Forgets every entry whose key starts with `prefix`. */
export function invalidate(prefix: string): void {
  for (const key of entries.keys()) if (key.startsWith(prefix)) entries.delete(key);
}
