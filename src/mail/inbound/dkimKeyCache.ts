/**
 * The DKIM (and ARC) public keys of a CPU-pool thread, parsed once per DNS record rather
 * than once per message (issue 13). mailauth's `getPublicKey` asks the resolver for the
 * selector's TXT record, then parses it: the tag list, the base64 check and
 * `crypto.createPublicKey` (OpenSSL's decoders, about 0.12 ms), its type and length
 * checks, and a PEM export. That was a quarter to a third of a message's check, done again for every
 * message of the same sender with the same answer.
 *
 * The parse is a function of the record's text alone (with the check's type and minimum
 * key length), so here it is remembered by that text, not by the name: every message still
 * asks the resolver (dnsResolver.ts, whose cache keeps an answer for at most its TTL cap),
 * and a record that changed is a new text, parsed anew. Only keys that parsed are kept: a
 * record that fails (no key, a bad key, a short key, a DNS error) is parsed, or asked,
 * again each time and fails each time, as before.
 *
 * mailauth has no option to pass a key store in: its checks take `getPublicKey` from its
 * `lib/tools.js` when they load, so `installDkimKeyCache` replaces it there before they
 * load (authenticity.ts, loadMailauth). Checks loaded earlier in the thread keep the
 * uncached parse: slower, the same verdicts.
 */
import type { GetPublicKey, PublicKeyResult, Resolver } from 'mailauth/lib/tools.js';

export type MailauthTools = typeof import('mailauth/lib/tools.js');

/** How many parsed keys a thread keeps (a key is under 1 KB of PEM). */
const MAX_KEYS = 500;
/** An answer longer than this is parsed every time, not kept: a 4096-bit RSA key's record is under 1 KB. */
const MAX_RECORD_CHARS = 4096;

export class DkimKeyCache {
  /** Map order is use order: the first entry is the least recently used. */
  private readonly keys = new Map<string, PublicKeyResult>();

  constructor(
    private readonly parse: GetPublicKey,
    private readonly maxKeys = MAX_KEYS,
  ) {}

  get size(): number {
    return this.keys.size;
  }

  /** `getPublicKey` as mailauth calls it, with the parse of an answer already seen taken from the cache. */
  readonly getPublicKey: GetPublicKey = async (type, name, minBitLength, resolver, ...rest) => {
    // no resolver (mailauth's own default) or arguments this wrapper does not know: as it was
    if (!resolver || rest.some((r) => r !== undefined)) return this.parse(type, name, minBitLength, resolver, ...rest);
    const answer = await resolver(name, 'TXT');
    // the parse sees exactly the answer the key is cached under
    const same: Resolver = async () => answer;
    const text = JSON.stringify(answer);
    if (text === undefined || text.length > MAX_RECORD_CHARS) return this.parse(type, name, minBitLength, same);
    const key = `${type}\n${minBitLength ?? ''}\n${text}`;
    const hit = this.keys.get(key);
    if (hit) {
      this.keys.delete(key);
      this.keys.set(key, hit);
      return { ...hit };
    }
    const parsed = await this.parse(type, name, minBitLength, same);
    this.keys.set(key, { ...parsed });
    while (this.keys.size > this.maxKeys) this.keys.delete(this.keys.keys().next().value!);
    return parsed;
  };
}

const installed = new WeakMap<object, DkimKeyCache>();

/**
 * Makes `tools.getPublicKey` (mailauth's `lib/tools.js` exports) the cached one, once per
 * module instance; checks loaded after this use it. Returns the cache.
 */
export function installDkimKeyCache(tools: Pick<MailauthTools, 'getPublicKey'>): DkimKeyCache {
  let cache = installed.get(tools);
  if (!cache) {
    cache = new DkimKeyCache(tools.getPublicKey);
    tools.getPublicKey = cache.getPublicKey;
    installed.set(tools, cache);
  }
  return cache;
}
