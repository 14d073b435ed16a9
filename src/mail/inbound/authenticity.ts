/**
 * The authenticity verdict of an inbound message (issue 13), per its mailbox's settings:
 * - `trusted_header`: the mailbox's own server's verdict, read from the topmost
 *   Authentication-Results header only, and only when its authserv-id is the mailbox's
 *   `authserv_id` (any other such header is the sender's to write, and is ignored);
 * - `verify`: checked here with mailauth: DKIM, ARC and DMARC from the message and DNS,
 *   SPF for the client of the topmost Received header (the one the receiving server
 *   added; without a client IP there, SPF is `none`).
 *
 * It runs on the main thread, after the CPU pool read the message and before its batch is
 * decided (prepareMessage), for all of a batch's messages at once and outside any
 * transaction. Its DNS has a budget per message (dnsResolver.ts): a server that does not
 * answer makes `temperror` and the message goes on. It never throws.
 */
import net from 'node:net';
import { type DKIMVerifyResult, arc as verifyArc, dkimVerify, dmarc as verifyDmarc, spf as verifySpf } from 'mailauth';
import { getDomain } from 'tldts';
import { config } from '../../config';
import type { Logger } from '../../logger';
import type { Authenticity, AuthSummary } from '../../models/InboundEmail';
import type { Mailbox } from '../../models/Mailbox';
import { fitText } from '../../text/cleanText';
import { type MailauthResolver, mailDnsResolver } from '../dnsResolver';
import { parseAuthResults } from './authResults';
import { type RawHeaders, addressOf, splitMessage } from './headers';

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

/** Checked here: DKIM, SPF (for the topmost Received header's client), ARC, then DMARC from those. */
export async function verifiedChecks(raw: Buffer, headers: RawHeaders, resolver: MailauthResolver): Promise<Checks> {
  const client = receivedClient(headers.get('received'));
  const sender = addressOf(headers.get('return-path'));
  const mta = config().mailDomain;
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
 * The message's verdict per its mailbox (null when the mailbox's authenticity is off:
 * nothing is read, nothing is asked). `fromAddress` is the From the pipeline identifies
 * the sender by, so the verdict is about the address the decision uses.
 */
export async function authenticityOf(mailbox: Mailbox, raw: Buffer, fromAddress: string | undefined, log: Logger): Promise<Authenticity | null> {
  if (mailbox.authenticity !== 'record' && mailbox.authenticity !== 'enforce') return null;
  const source = mailbox.auth_source === 'trusted_header' ? 'trusted_header' : 'verify';
  const fromDomain = domainOf(fromAddress) ?? null;
  const { headers } = splitMessage(raw, 0, 320 * 1024);
  try {
    const checks =
      source === 'trusted_header' ? trustedHeaderChecks(headers, mailbox.authserv_id) : await verifiedChecks(raw, headers, mailDnsResolver().withBudget());
    if ('note' in checks) return { source, ...NO_CHECKS, from_domain: fromDomain, summary: 'none', note: checks.note };
    return { ...checks, from_domain: fromDomain, summary: summarize(checks, fromDomain ?? undefined) };
  } catch (e) {
    // mailauth turns DNS failures into results; anything thrown is unexpected: no verdict, the message goes on
    log.warn({ err: e }, 'authenticity check failed');
    const failed = { result: 'temperror' };
    return {
      source,
      spf: failed,
      dkim: { ...failed, signatures: [] },
      dmarc: failed,
      arc: failed,
      from_domain: fromDomain,
      summary: 'none',
      note: 'the check failed',
    };
  }
}
