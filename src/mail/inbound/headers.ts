import { cleanText } from '../../text/cleanText';

/**
 * Raw header access over a message's header block: the first value of a header,
 * unfolded, as written (no decoding), and every value of a repeated header.
 */
export class RawHeaders {
  private readonly map = new Map<string, string[]>();

  constructor(block: string) {
    const unfolded = block.replace(/\r?\n[ \t]+/g, ' ');
    for (const line of unfolded.split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      const key = line.slice(0, i).trim().toLowerCase();
      const list = this.map.get(key) ?? [];
      list.push(line.slice(i + 1).trim());
      this.map.set(key, list);
    }
  }

  get(name: string): string | undefined {
    return this.map.get(name.toLowerCase())?.[0];
  }

  all(name: string): string[] {
    return this.map.get(name.toLowerCase()) ?? [];
  }

  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }
}

/** Where the header block ends (the first empty line) within the first `limit` bytes. */
function headerEnd(raw: Buffer, limit: number): { end: number; bodyStart: number } | undefined {
  for (let j = raw.indexOf(10); j !== -1 && j < limit; j = raw.indexOf(10, j + 1)) {
    const bodyStart = raw[j + 1] === 10 ? j + 2 : raw[j + 1] === 13 && raw[j + 2] === 10 ? j + 3 : -1;
    if (bodyStart !== -1 && bodyStart <= limit) return { end: raw[j - 1] === 13 ? j - 1 : j, bodyStart };
  }
  return undefined;
}

/**
 * Splits a raw message into its header block (looked for in the first `searchBytes`) and
 * at most `maxBodyChars` of its body (as latin1 text); only what is asked for is turned
 * into text.
 */
export function splitMessage(raw: Buffer, maxBodyChars = 2_000_000, searchBytes = maxBodyChars + 256 * 1024): { headers: RawHeaders; body: string } {
  const limit = Math.min(raw.length, searchBytes);
  const split = headerEnd(raw, limit);
  if (!split) return { headers: new RawHeaders(raw.toString('latin1', 0, limit)), body: '' };
  const body = maxBodyChars > 0 ? raw.toString('latin1', split.bodyStart, Math.min(raw.length, split.bodyStart + maxBodyChars)) : '';
  return { headers: new RawHeaders(raw.toString('latin1', 0, split.end)), body };
}

/** Every `<id>` in a Message-ID, In-Reply-To or References value, cleaned (see cleanText). */
export function messageIds(value: string | undefined): string[] {
  if (!value) return [];
  return (value.match(/<[^<>\s]+>/g) ?? []).map(cleanText).filter((id) => id.length > 2);
}

/** A local part that may go unquoted (RFC 5322 dot-atom text). */
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$/;

/**
 * A broken address written as its sender meant it: a quoted local part that needs no
 * quotes (`"john.smith"@example.com`) loses them, and one whose only fault is spaces
 * loses those. A quoted local part holding anything else (`"agent@victim.example"@
 * attacker.example`) is left as written: it is never read as another address.
 */
export function normalizeAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at <= 0) return address;
  let local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length >= 2 && local.startsWith('"') && local.endsWith('"')) local = local.slice(1, -1);
  const joined = local.replace(/\s+/g, '');
  return DOT_ATOM.test(joined) ? `${joined}@${domain}` : address;
}

/**
 * `joe smith@example.com` written with no quotes or brackets (a parser takes `joe` for a
 * name): the address meant, normalized, or undefined when the value is not that.
 */
export function spacedAddress(rawValue: string | undefined): string | undefined {
  const value = rawValue?.trim();
  if (!value || /[<>",;]/.test(value)) return undefined;
  const at = value.lastIndexOf('@');
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  const words = local.trim().split(/\s+/);
  if (at <= 0 || words.length < 2 || !words.every((w) => /^[A-Za-z0-9._-]{1,64}$/.test(w)) || /\s/.test(domain) || !domain.includes('.')) return undefined;
  return normalizeAddress(`${words.join('')}@${domain}`);
}

/** A bare local part with no domain, as bounces come (`MAILER-DAEMON (Mail Delivery System)`). */
export const BARE_LOCAL_PART = /^[A-Za-z0-9._%+-]{1,64}$/;

/** The longest value taken for an address: RFC 5321 allows 254. */
const MAX_ADDRESS = 320;

/**
 * The address of a value with no angle brackets: its first word, or a quoted local part
 * with what follows it (`"agent victim"@attacker.example`), or what a whole address in
 * quotes holds, as web forms write it (`"user@example.com"`).
 */
function bareAddress(value: string): string {
  const close = value.startsWith('"') ? value.indexOf('"', 1) : -1;
  if (close > 0) {
    const quoted = value.slice(0, close + 1);
    const rest = value.slice(close + 1);
    if (rest.startsWith('@')) return quoted + rest.split(/\s/)[0];
    const inner = quoted.slice(1, -1);
    const at = inner.lastIndexOf('@');
    if (at > 0 && at < inner.length - 1 && !/[\\\s]/.test(inner)) return inner;
  }
  return value.split(/\s/)[0] ?? '';
}

/**
 * The bare address of a From-like value read from the raw header ("Name <a@b>" -> "a@b"),
 * lower-cased and normalized as the parser's addresses are (normalizeAddress, spacedAddress,
 * a whole address in quotes, a sender with no domain): so the facts of a message that could
 * not be parsed name the sender it would have had. `spaced: false` for headers that are no
 * sender's, where words before an address are no part of it (qmail's `Delivered-To:
 * mailing list list@example.org`).
 */
export function addressOf(value: string | undefined, { spaced = true } = {}): string | undefined {
  if (!value) return undefined;
  const joined = spaced ? spacedAddress(value) : undefined;
  if (joined) return joined.toLowerCase();
  // brackets may hold a quoted local part with spaces (`<"joe smith"@example.com>`)
  const angled = /<([^<>]*)>/.exec(value);
  let candidate: string;
  if (!angled) candidate = bareAddress(value.trim());
  else if (angled[1]!.trim()) candidate = angled[1]!.trim();
  else {
    // `MAILER-DAEMON <>`: the name is all there is of the sender
    const name = value.slice(0, angled.index).trim();
    candidate = BARE_LOCAL_PART.test(name) ? name : '';
  }
  const address = normalizeAddress(cleanText(candidate).toLowerCase());
  return address && address.length <= MAX_ADDRESS ? address : undefined;
}
