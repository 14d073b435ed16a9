/**
 * The DNS lookups of inbound mail's authenticity checks (SPF, DKIM keys, DMARC and ARC
 * policies), shaped as mailauth's `resolver(name, type)`: node's resolver on the
 * DNS_SERVERS of the config (else the system's), a small LRU cache per name and type, one
 * query in flight per name and type however many messages ask, and a time budget per
 * message. The checks run in the CPU pool's threads, each with its own resolver and cache
 * (dnsResolverFor), the servers handed over with each message (a thread has no config).
 *
 * A real answer, NXDOMAIN (`ENOTFOUND`) and no records of the type (`ENODATA`) included,
 * is cached and reported as it is: mailauth reads those as "no record". A server that
 * cannot be reached, refuses, fails or does not answer in time rejects with its error
 * code (`ETIMEOUT` once the message's budget is spent): mailauth makes that `temperror`,
 * and the message goes on. Those are never cached.
 */
import { promises as dns } from 'node:dns';

/** What mailauth calls. */
export type MailauthResolver = (name: string, type: string) => Promise<unknown>;

/** Longest the DNS of one message may take, all its lookups together. */
export const DNS_BUDGET_MS = 1000;
/**
 * How long an answer is kept: node's resolver gives no TTL for TXT, so a short cap for all,
 * within which a changed record (a revoked DKIM key, a new SPF policy) is seen. Exported
 * for tests.
 */
export const ANSWER_TTL_MS = 60_000;
/** How long "no such name" or "no such record" is kept. */
const NEGATIVE_TTL_MS = 60_000;
const MAX_ENTRIES = 2000;
/** Codes that are the domain's answer, not a failure to get one. */
const NEGATIVE = new Set(['ENOTFOUND', 'ENODATA']);

type Entry = { until: number; answer: unknown } | { until: number; code: string; message: string };

const keyOf = (name: string, type: string) => `${type.toUpperCase()} ${name.toLowerCase()}`;

function dnsError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

export class CachingResolver {
  private readonly resolver: dns.Resolver;
  /** Map order is use order: the first entry is the least recently used. */
  private readonly cache = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(
    servers?: readonly string[],
    private readonly maxEntries = MAX_ENTRIES,
  ) {
    // one try per server, each within the budget: a server that does not answer costs the
    // budget once, not four growing timeouts
    this.resolver = new dns.Resolver({ timeout: DNS_BUDGET_MS, tries: 1 });
    if (servers?.length) this.resolver.setServers([...servers]);
  }

  /** The answer for `name` and `type`, cached; rejects with the resolver's error code. */
  lookup(name: string, type: string): Promise<unknown> {
    const key = keyOf(name, type);
    const hit = this.fromCache(key);
    if (hit) return hit;
    let query = this.inFlight.get(key);
    if (!query) {
      query = this.query(key, name, type).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, query);
    }
    return query;
  }

  /** The current cached answer for `key` (then the most recently used), settled; undefined when there is none. */
  private fromCache(key: string): Promise<unknown> | undefined {
    const hit = this.cache.get(key);
    if (!hit) return undefined;
    this.cache.delete(key);
    if (hit.until <= Date.now()) return undefined;
    this.cache.set(key, hit);
    return 'code' in hit ? Promise.reject(dnsError(hit.code, hit.message)) : Promise.resolve(hit.answer);
  }

  private async query(key: string, name: string, type: string): Promise<unknown> {
    try {
      const answer: unknown = await this.resolver.resolve(name, type as 'TXT');
      this.remember(key, { until: Date.now() + ANSWER_TTL_MS, answer });
      return answer;
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (err.code && NEGATIVE.has(err.code)) this.remember(key, { until: Date.now() + NEGATIVE_TTL_MS, code: err.code, message: err.message ?? err.code });
      throw e;
    }
  }

  private remember(key: string, entry: Entry): void {
    this.cache.set(key, entry);
    while (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
  }

  /**
   * A resolver for one message: every lookup gets what is left of `budgetMs` from now, and
   * once it is spent each lookup rejects at once with `ETIMEOUT`.
   */
  withBudget(budgetMs = DNS_BUDGET_MS): MailauthResolver {
    const deadline = Date.now() + budgetMs;
    return (name, type) => {
      const left = deadline - Date.now();
      if (left <= 0) return Promise.reject(dnsError('ETIMEOUT', `DNS budget of ${budgetMs} ms spent before ${type} ${name}`));
      // a current answer at hand: nothing to wait for, no timer to set (most lookups of a busy thread)
      const hit = this.fromCache(keyOf(name, type));
      if (hit) return hit;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(dnsError('ETIMEOUT', `no DNS answer for ${type} ${name} within the budget`)), left);
      });
      return Promise.race([this.lookup(name, type), late]).finally(() => clearTimeout(timer));
    };
  }
}

let shared: { key: string; resolver: CachingResolver } | undefined;

/**
 * This thread's resolver for `servers` (DNS_SERVERS; none: the system's), made once and
 * made anew, with an empty cache, when they change. Each CPU-pool thread, where messages
 * are checked, has its own (and its own cache): a domain is asked once per thread.
 */
export function dnsResolverFor(servers: readonly string[] | undefined): CachingResolver {
  const key = servers?.join(',') ?? '';
  if (shared?.key !== key) shared = { key, resolver: new CachingResolver(servers) };
  return shared.resolver;
}
