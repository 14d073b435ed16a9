/**
 * Who a message may go to. Never one of our own mailboxes (that is how loops start), an
 * address a bounce or complaint marked undeliverable, or a no-reply / mailer-daemon
 * address; and automatic mail at most AUTO_MAIL_PER_HOUR times per recipient per hour,
 * counted in `auto_mail_sends` under a per-address lock so that several mailers together
 * keep the limit. The limit counts the address with any `+tag` removed: `a+1@x` and
 * `a+2@x` reach one mailbox, and a forger must not get a fresh allowance per tag. Checked
 * when the mailer claims a message, so what a bounce taught us in the meantime counts.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { config } from '../../config';
import type { Address, DroppedRecipient, OutboundEmail, SuppressionReason } from '../../models/OutboundEmail';
import { ourAddresses } from '../../services/mailboxes/mailboxes';

const NO_REPLY =
  /^(no[-_.]?reply|do[-_.]?not[-_.]?reply|noreply|mailer[-_.]?daemon|postmaster|bounces?|auto[-_.]?reply|notifications?[-_.]?noreply)([+._-][^@]*)?@/i;

/** `Support+Token@Acme.test` -> `support@acme.test`: the address a person or mailbox is. */
export function baseAddress(address: string): string {
  const lower = address.trim().toLowerCase();
  return lower.replace(/^([^@+]+)\+[^@]*@/, '$1@');
}

export interface Screened {
  to: Address[];
  cc: Address[];
  dropped: DroppedRecipient[];
}

/** The static rules: ours, undeliverable, no-reply. */
async function staticReasons(trx: Knex, addresses: string[]): Promise<Map<string, SuppressionReason>> {
  const reasons = new Map<string, SuppressionReason>();
  const ours = await ourAddresses(trx);
  ours.add(config().mailFrom.toLowerCase());
  for (const a of addresses) {
    if (ours.has(baseAddress(a))) reasons.set(a, 'our_mailbox');
    else if (NO_REPLY.test(a)) reasons.set(a, 'no_reply');
  }
  const rest = addresses.filter((a) => !reasons.has(a));
  if (rest.length) {
    const bad: { address: string }[] = await trx('undeliverable_addresses').whereIn('address', rest).select('address');
    for (const b of bad) reasons.set(b.address, 'undeliverable');
  }
  return reasons;
}

/**
 * Automatic mail already sent to each address this past hour. Takes a transaction-scoped
 * advisory lock per address (in a fixed order) first, so concurrent mailers count in turn.
 */
async function recentAutoMail(trx: Knex.Transaction, addresses: string[]): Promise<Map<string, number>> {
  const sorted = [...new Set(addresses)].sort();
  const counts = new Map<string, number>(sorted.map((a) => [a, 0]));
  if (sorted.length === 0) return counts;
  await trx.raw(`select count(pg_advisory_xact_lock(hashtextextended('auto-mail:' || a, 0))) from (select unnest(?::text[]) as a order by 1) s`, [sorted]);
  const since = new Date(now().getTime() - 3600_000);
  const rows: { address: string; n: string | number }[] = await trx('auto_mail_sends')
    .whereIn('address', sorted)
    .where('sent_at', '>', since)
    .groupBy('address')
    .select('address', trx.raw('count(*) as n'));
  for (const r of rows) counts.set(r.address, Number(r.n));
  return counts;
}

/**
 * Screens the recipients of claimed messages (in the claim's transaction) and reserves
 * the automatic sends it lets through. A message that keeps no To recipient gets its
 * first remaining Cc as To.
 */
export async function screenRecipients(trx: Knex.Transaction, rows: OutboundEmail[]): Promise<Map<number, Screened>> {
  const lower = (a: Address) => a.address.trim().toLowerCase();
  const all = [...new Set(rows.flatMap((r) => [...r.to_addresses, ...r.cc_addresses].map(lower)))];
  const reasons = await staticReasons(trx, all);
  // Rate limit: automatic mail on its first attempt (a retry was counted when first claimed),
  // per base address.
  const limited = rows.filter((r) => r.automatic && r.attempts === 0);
  const candidates = limited
    .flatMap((r) => [...r.to_addresses, ...r.cc_addresses].map(lower))
    .filter((a) => !reasons.has(a))
    .map(baseAddress);
  const counts = await recentAutoMail(trx, candidates);
  const limit = config().autoMailPerHour;
  const reservations: { address: string; outbound_email_id: number; sent_at: Date }[] = [];

  const result = new Map<number, Screened>();
  for (const row of rows) {
    const screened: Screened = { to: [], cc: [], dropped: [] };
    const countsAgainstLimit = row.automatic && row.attempts === 0;
    const keep = (a: Address, into: Address[]) => {
      const address = lower(a);
      const base = baseAddress(address);
      const reason = reasons.get(address) ?? (countsAgainstLimit && (counts.get(base) ?? 0) >= limit ? 'rate_limit' : undefined);
      if (reason) {
        screened.dropped.push({ address, reason });
        return;
      }
      if (countsAgainstLimit) {
        counts.set(base, (counts.get(base) ?? 0) + 1);
        reservations.push({ address: base, outbound_email_id: row.id, sent_at: now() });
      }
      into.push(a.name ? { name: a.name, address: a.address.trim() } : { address: a.address.trim() });
    };
    for (const a of row.to_addresses) keep(a, screened.to);
    for (const a of row.cc_addresses) keep(a, screened.cc);
    if (screened.to.length === 0 && screened.cc.length > 0) screened.to.push(screened.cc.shift()!);
    result.set(row.id, screened);
  }
  if (reservations.length) await trx('auto_mail_sends').insert(reservations);
  return result;
}

/** Forgets automatic sends older than the hour the limit looks at. */
export async function pruneAutoMailLog(knex: Knex): Promise<number> {
  return knex('auto_mail_sends')
    .where('sent_at', '<', new Date(now().getTime() - 2 * 3600_000))
    .delete();
}
