/**
 * The authenticity verdict of an inbound message (issue 13), per its mailbox's settings:
 * - `trusted_header`: the mailbox's own server's verdict, read from the topmost
 *   Authentication-Results header only, and only when its authserv-id is the mailbox's
 *   `authserv_id` (any other such header is the sender's to write, and is ignored);
 * - `verify`: checked here with mailauth: DKIM, ARC and DMARC from the message and DNS,
 *   SPF for the client of the topmost Received header (the one the receiving server
 *   added; without a client IP there, SPF is `none`).
 *
 * The main thread only says what to check (authCheckOf); the check runs in the CPU pool's
 * thread that read the message, right after reading it (cpuWorker.ts), for all of a
 * chunk's messages at once so their DNS waits overlap. Its DNS has a budget per message
 * (dnsResolver.ts): a server that does not answer makes `temperror` and the message goes
 * on. It never throws.
 */
import net from 'node:net';
import type { DKIMVerifyResult } from 'mailauth';
import { getDomain } from 'tldts';
import { config } from '../../config';
import type { Authenticity, AuthSummary } from '../../models/InboundEmail';
import type { Mailbox } from '../../models/Mailbox';
import { fitText } from '../../text/cleanText';
import { type MailauthResolver, dnsResolverFor } from '../dnsResolver';
import { parseAuthResults } from './authResults';
import { installDkimKeyCache } from './dkimKeyCache';
import { dkimVerifyWith, linearVerifier } from './dkimVerify';
import { type RawHeaders, addressOf, splitMessage } from './headers';

/**
 * What a pool thread needs to check a message for its mailbox (plain data, it crosses the
 * thread boundary): the mailbox's source, and for `verify` the configured DNS_SERVERS and
 * our mail domain (mailauth's `mta`, the receiving host SPF names).
 */
export type AuthCheck = { source: 'trusted_header'; authservId: string | null } | { source: 'verify'; dnsServers?: readonly string[]; mta: string };

/** A verdict as a pool thread returns it: `error` says what made the check fail, for the log. */
export interface CheckedAuthenticity {
  auth: Authenticity;
  error?: string;
}

/** The four results and their source, before the summary. */
type Checks = Omit<Authenticity, 'from_domain' | 'summary'>;

const RESULTS = new Set(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy']);
const ALIASES: Record<string, string> = { hardfail: 'fail', temperr: 'temperror', permerr: 'permerror' };

/** A result word as stored: one of RFC 8601's, anything else `neutral` (no verdict either way). */
function resultWord(word: string | undefined): string {
  if (!word) return 'none';
  const w = ALIASES[word.toLowerCase()] ?? word.toLowerCase();
  return RESULTS.has(w) ? w : 'neutral';
}

/** A value taken from a header or the DNS, cleaned and cut to size; undefined when empty. */
function stored(value: string | undefined | null): string | undefined {
  const v = value?.trim();
  return v ? fitText(v, 255) : undefined;
}

/** The domain of an address (or a bare domain), lower-cased. */
function domainOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const at = value.lastIndexOf('@');
  return stored((at >= 0 ? value.slice(at + 1) : value).toLowerCase());
}

/** The organizational domain (the public suffix list's registrable domain). */
function orgDomain(domain: string): string {
  const d = domain.toLowerCase().replace(/\.$/, '');
  return getDomain(d, { allowPrivateDomains: true }) ?? d;
}

/** DKIM's overall result: `pass` when a signature passes, else the first signature's, else `none`. */
function dkimOf(signatures: Checks['dkim']['signatures']): Checks['dkim'] {
  const result = signatures.some((s) => s.result === 'pass') ? 'pass' : (signatures[0]?.result ?? 'none');
  return { result, signatures };
}

const NO_CHECKS = { spf: { result: 'none' }, dkim: { result: 'none', signatures: [] }, dmarc: { result: 'none' }, arc: { result: 'none' } };

/**
 * The verdict of the mailbox's own server: its topmost Authentication-Results header, when
 * its authserv-id is `authservId`; undefined (with why) otherwise.
 */
export function trustedHeaderChecks(headers: RawHeaders, authservId: string | null): Checks | { note: string } {
  const top = headers.get('authentication-results');
  if (top === undefined) return { note: 'no Authentication-Results header' };
  const parsed = parseAuthResults(top);
  if (!parsed || !authservId || parsed.authservId.toLowerCase() !== authservId.toLowerCase()) {
    return {
      note: `the topmost Authentication-Results header is not from ${authservId ?? '(no authserv_id)'} but from ${stored(parsed?.authservId) ?? '(none)'}: ignored`,
    };
  }
  const first = (method: string) => parsed.results.find((r) => r.method === method);
  const spf = first('spf');
  const dmarc = first('dmarc');
  const signatures = parsed.results
    .filter((r) => r.method === 'dkim')
    .slice(0, 10)
    .map((r) => ({ result: resultWord(r.result), domain: domainOf(r.props['header.d'] ?? r.props['header.i']), selector: stored(r.props['header.s']) }));
  return {
    source: 'trusted_header',
    spf: { result: resultWord(spf?.result), domain: domainOf(spf?.props['smtp.mailfrom'] ?? spf?.props['smtp.helo']) },
    dkim: dkimOf(signatures),
    dmarc: { result: resultWord(dmarc?.result), domain: domainOf(dmarc?.props['header.from']), policy: stored(dmarc?.props['policy.dmarc']) },
    arc: { result: resultWord(first('arc')?.result) },
  };
}

/**
 * The client of a Received header (the topmost: the one the receiving server added): its
 * IP (in brackets, as Postfix, Sendmail and Exim write it, else a bare IP in the `from`
 * part, as Exchange writes it) and the name it said hello with. Read without expressions:
 * the header is the receiving server's, but the HELO name in it is the sender's.
 */
export function receivedClient(value: string | undefined): { ip?: string; helo?: string } {
  if (!value || value.slice(0, 5).toLowerCase() !== 'from ') return {};
  const by = value.toLowerCase().indexOf(' by ');
  const from = value.slice(5, by >= 0 ? by : Math.min(value.length, 1000));
  const words = from
    .split('\t')
    .join(' ')
    .split(' ')
    .flatMap((w) => w.split('('))
    .flatMap((w) => w.split(')'))
    .filter(Boolean);
  const helo = words[0] && !words[0].startsWith('[') && !net.isIP(words[0]) ? stored(words[0]) : undefined;
  const bare = (w: string) => {
    const inner = w.startsWith('[') && w.endsWith(']') ? w.slice(1, -1) : w.endsWith('.') ? w.slice(0, -1) : w;
    const ip = inner.slice(0, 5).toLowerCase() === 'ipv6:' ? inner.slice(5) : inner;
    return net.isIP(ip) ? ip : undefined;
  };
  const bracketed = words
    .filter((w) => w.startsWith('['))
    .map(bare)
    .find(Boolean);
  return { ip: bracketed ?? words.slice(1).map(bare).find(Boolean) ?? (words[0] ? bare(words[0]) : undefined), helo };
}

type DkimEntry = DKIMVerifyResult['results'][number];

/**
 * The four checks of mailauth, from their own modules: the package's index loads BIMI and
 * more, twice the CPU. Its DKIM key parse is made a cached one first (dkimKeyCache.ts),
 * which the DKIM and ARC checks take when they load; the DKIM check reads the message
 * with dkimVerify.ts's linear parser.
 */
async function importMailauth() {
  const tools = (await import('mailauth/lib/tools.js')).default;
  installDkimKeyCache(tools);
  const [{ DkimVerifier }, { spf }, { dmarc }, { arc }] = await Promise.all([
    import('mailauth/lib/dkim/dkim-verifier.js'),
    import('mailauth/lib/spf/index.js'),
    import('mailauth/lib/dmarc/index.js'),
    import('mailauth/lib/arc/index.js'),
  ]);
  return { dkimVerify: dkimVerifyWith(linearVerifier(DkimVerifier, tools), tools), spf, dmarc, arc };
}

let mailauth: ReturnType<typeof importMailauth> | undefined;

/**
 * mailauth's checks, loaded by a thread's first `verify` check rather than when the thread
 * starts: loading them costs a quarter of a second of CPU, which a pool whose mailboxes do
 * not verify never needs to pay. The promise is kept: each `import()` asks the module
 * loader again (from the TypeScript sources, a round trip to tsx's loader thread).
 */
export function loadMailauth(): ReturnType<typeof importMailauth> {
  mailauth ??= importMailauth();
  return mailauth;
}

/**
 * Checked here: DKIM, SPF (for the topmost Received header's client), ARC, then DMARC from
 * those. `mta`: our mail domain, the receiving host SPF names.
 */
export async function verifiedChecks(raw: Buffer, headers: RawHeaders, resolver: MailauthResolver, mta: string): Promise<Checks> {
  const { arc: verifyArc, dkimVerify, dmarc: verifyDmarc, spf: verifySpf } = await loadMailauth();
  const client = receivedClient(headers.get('received'));
  const sender = addressOf(headers.get('return-path'));
  const [dkim, spf] = await Promise.all([
    dkimVerify(raw, { resolver: resolver as never, sender }),
    client.ip ? verifySpf({ ip: client.ip, helo: client.helo ?? `[${client.ip}]`, sender: sender ?? '', mta, resolver: resolver as never }) : undefined,
  ]);
  const arc = await verifyArc(dkim.arc as never, { resolver: resolver as never });
  const passing = (dkim.results ?? []).filter((r: DkimEntry) => r.status.result === 'pass');
  const dmarc =
    dkim.headerFrom?.length > 0
      ? await verifyDmarc({
          headerFrom: dkim.headerFrom,
          spfDomains: spf?.status.result === 'pass' ? [spf.domain] : [],
          dkimDomains: passing.map((r) => ({ id: r.id, domain: r.signingDomain, aligned: r.status.aligned, underSized: r.status.underSized })),
          arcResult: arc,
          resolver: resolver as never,
        } as never)
      : false;
  const signatures = (dkim.results ?? [])
    .filter((r: DkimEntry) => r.signingDomain)
    .slice(0, 10)
    .map((r: DkimEntry) => ({ result: resultWord(r.status.result), domain: domainOf(r.signingDomain), selector: stored(r.selector) }));
  return {
    source: 'verify',
    spf: spf ? { result: resultWord(spf.status.result), domain: domainOf(spf.domain), client_ip: client.ip } : { result: 'none' },
    dkim: dkimOf(signatures),
    dmarc: dmarc ? { result: resultWord(dmarc.status.result), domain: domainOf(dmarc.domain), policy: stored(dmarc.policy) } : { result: 'none' },
    arc: { result: resultWord(arc.status.result) },
  };
}

/**
 * The verdict in one word, for the From domain:
 * - DMARC's own result, when it is about that domain: pass or fail;
 * - else an SPF or DKIM pass aligned with it (same organizational domain): pass;
 * - else a check that could not be made (temperror): none (no verdict);
 * - else fail: the From domain fails both SPF and DKIM alignment.
 */
export function summarize(c: Checks, fromDomain: string | undefined): AuthSummary {
  if (!fromDomain) return 'none';
  const org = orgDomain(fromDomain);
  const aligned = (d: string | undefined) => d !== undefined && orgDomain(d) === org;
  const dmarcApplies = c.dmarc.result !== 'none' && (c.dmarc.domain === undefined || aligned(c.dmarc.domain));
  if (dmarcApplies && (c.dmarc.result === 'pass' || c.dmarc.result === 'fail')) return c.dmarc.result as AuthSummary;
  if ((c.spf.result === 'pass' && aligned(c.spf.domain)) || c.dkim.signatures.some((s) => s.result === 'pass' && aligned(s.domain))) return 'pass';
  const undecided = [c.dmarc.result, c.spf.result, ...c.dkim.signatures.map((s) => s.result)].includes('temperror');
  return undecided ? 'none' : 'fail';
}

/**
 * What to check of a message for `mailbox`, on the main thread (it reads the config);
 * undefined when the mailbox's authenticity is off: then nothing is read, nothing is asked.
 */
export function authCheckOf(mailbox: Pick<Mailbox, 'authenticity' | 'auth_source' | 'authserv_id'>): AuthCheck | undefined {
  if (mailbox.authenticity !== 'record' && mailbox.authenticity !== 'enforce') return undefined;
  if (mailbox.auth_source === 'trusted_header') return { source: 'trusted_header', authservId: mailbox.authserv_id };
  const { dnsServers, mailDomain } = config();
  return { source: 'verify', dnsServers, mta: mailDomain };
}

/**
 * The message's verdict per `check` (authCheckOf), in the pool thread that read it.
 * `fromAddress` is the From the pipeline identifies the sender by, so the verdict is about
 * the address the decision uses. Never throws: a check that fails is no verdict.
 */
export async function authenticityOf(check: AuthCheck, raw: Buffer, fromAddress: string | undefined): Promise<CheckedAuthenticity> {
  const { source } = check;
  const fromDomain = domainOf(fromAddress) ?? null;
  try {
    const { headers } = splitMessage(raw, 0, 320 * 1024);
    const checks =
      check.source === 'trusted_header'
        ? trustedHeaderChecks(headers, check.authservId)
        : await verifiedChecks(raw, headers, dnsResolverFor(check.dnsServers).withBudget(), check.mta);
    if ('note' in checks) return { auth: { source, ...NO_CHECKS, from_domain: fromDomain, summary: 'none', note: checks.note } };
    return { auth: { ...checks, from_domain: fromDomain, summary: summarize(checks, fromDomain ?? undefined) } };
  } catch (e) {
    // mailauth turns DNS failures into results; anything thrown is unexpected: no verdict, the message goes on
    const failed = { result: 'temperror' };
    return {
      auth: {
        source,
        spf: failed,
        dkim: { ...failed, signatures: [] },
        dmarc: failed,
        arc: failed,
        from_domain: fromDomain,
        summary: 'none',
        note: 'the check failed',
      },
      error: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
    };
  }
}
