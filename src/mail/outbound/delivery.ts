/**
 * Delivery per recipient. Every recipient of a message gets an SMTP transaction of its own
 * whose envelope sender is a VERP return path naming the message and that recipient's index
 * in its To-then-Cc list as queued; a bounce to that address can name nobody else.
 *
 * What each recipient's transaction did is kept on the row: `delivered_recipients`
 * (accepted, never sent again) and `rejected_recipients` (a 5xx, never tried again). A
 * retry goes only to the rest. The message is `sent` once every recipient is delivered or
 * rejected (`failed` when none was delivered), and stays `queued` for a later attempt
 * while any got a temporary failure, until the retry window closes: then those count as
 * rejected.
 */
import { now, wallClock } from '../../clock';
import { config } from '../../config';
import type { OutboundEmail } from '../../models/OutboundEmail';
import { verpAddress } from '../verp';
import type { Screened } from './recipients';
import type { Envelope, RecipientResult } from './transport';

const lower = (address: string) => address.trim().toLowerCase();

/** The delay before attempt `attempts + 1`: doubling from the base, capped, with ±10% jitter. */
export function retryDelaySeconds(attempts: number): number {
  const cfg = config();
  const base = Math.min(cfg.mailerRetryBaseSeconds * 2 ** Math.max(0, attempts - 1), cfg.mailerRetryMaxDelaySeconds);
  return base * (0.9 + Math.random() * 0.2);
}

/**
 * The envelopes of this attempt: one per screened recipient not yet delivered or rejected,
 * each from its own VERP address. The index is the recipient's place in the row's
 * `to_addresses` then `cc_addresses` as queued (not as screened, which may drop or move
 * some); an address listed twice goes once, under its first index.
 */
export function envelopesFor(row: OutboundEmail, screened: Screened, mailboxAddress: string): Envelope[] {
  const queued = [...row.to_addresses, ...row.cc_addresses].map((a) => lower(a.address));
  const done = new Set([...(row.delivered_recipients ?? []), ...(row.rejected_recipients ?? [])].map(lower));
  const envelopes: Envelope[] = [];
  for (const a of [...screened.to, ...screened.cc]) {
    const address = lower(a.address);
    if (done.has(address)) continue;
    done.add(address);
    const recipientIndex = queued.indexOf(address);
    if (recipientIndex < 0) throw new Error(`recipient ${address} is not among the message's own`);
    envelopes.push({ from: verpAddress(mailboxAddress, { outboundEmailId: row.id, recipientIndex }), to: address });
  }
  return envelopes;
}

export interface Settled {
  state: 'sent' | 'queued' | 'failed';
  next_attempt_at: Date | null;
  sent_at: Date | null;
  last_error: string | null;
  last_response: string | null;
  delivered_recipients: string[];
  rejected_recipients: string[];
}

/** The row's state after this attempt's results (`results` empty: nothing was left to send). */
export function settle(row: OutboundEmail, results: RecipientResult[]): Settled {
  const at = now();
  const delivered = [...new Set([...(row.delivered_recipients ?? []), ...results.filter((r) => r.status === 'delivered').map((r) => r.address)])];
  const rejected = [...new Set([...(row.rejected_recipients ?? []), ...results.filter((r) => r.status === 'rejected').map((r) => r.address)])];
  const deferred = results.filter((r) => r.status === 'deferred');
  const failures = results.filter((r) => r.status !== 'delivered');
  const errors = failures.length
    ? failures
        .map((f) => `${f.address}: ${f.error ?? 'not delivered'}`)
        .join('; ')
        .slice(0, 2000)
    : null;
  const last_response = (failures[0]?.response ?? results.find((r) => r.status === 'delivered')?.response ?? null)?.slice(0, 1000) ?? null;
  if (deferred.length) {
    // backoff and the retry window are wall clock (see clock.ts)
    const next = new Date(wallClock().getTime() + retryDelaySeconds(row.attempts) * 1000);
    const giveUpAt = new Date(new Date(row.queued_at ?? row.created_at).getTime() + config().mailerGiveUpSeconds * 1000);
    if (next <= giveUpAt) {
      return {
        state: 'queued',
        next_attempt_at: next,
        sent_at: null,
        last_error: errors,
        last_response,
        delivered_recipients: delivered,
        rejected_recipients: rejected,
      };
    }
    // The retry window is over: who still could not be reached is given up on.
    rejected.push(...deferred.map((d) => d.address).filter((a) => !rejected.includes(a)));
    const last_error = `gave up after ${row.attempts} attempts: ${errors}`;
    return { ...finished(delivered, rejected, at), last_error, last_response };
  }
  return { ...finished(delivered, rejected, at), last_error: errors, last_response };
}

function finished(delivered: string[], rejected: string[], at: Date): Omit<Settled, 'last_error' | 'last_response'> {
  const sent = delivered.length > 0;
  return { state: sent ? 'sent' : 'failed', next_attempt_at: null, sent_at: sent ? at : null, delivered_recipients: delivered, rejected_recipients: rejected };
}
