/**
 * Bounces and complaints. Anyone can write a delivery report, so what one may change
 * depends on how it is linked to mail we sent:
 * - through the VERP return path of one message and recipient (see ../verp.ts), which
 *   only we can write: that message becomes `bounced`, and when the address itself is bad
 *   (5.1.x) or a complaint was made, exactly that recipient's address is marked
 *   undeliverable, until an admin clears it (the suppression list);
 * - by the Message-ID of a returned original only: that message becomes `bounced`, and
 *   nobody is suppressed (a recipient in Cc could otherwise silence the primary contact);
 * - not at all: recorded as `unlinked`, nothing changes.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import type { Address } from '../../models/OutboundEmail';
import { verifyVerp } from '../verp';
import type { BounceDetails } from './classify';

export interface BounceResult {
  outboundEmailId?: number;
  ticketId?: number;
  undeliverable: string[];
  /** What the bounce did, for the inbound row (`unlinked` when it answers nothing of ours). */
  reason: string;
}

interface OutboundRow {
  id: number;
  ticket_id: number | null;
  to_addresses: Address[];
  cc_addresses: Address[];
}

/**
 * Marks an outbound message bounced with the report's reason. A message still queued
 * (another recipient waits for a retry) keeps its state: a report about one recipient, or
 * a delay notice, must not stop delivery to the others.
 */
async function markBounced(trx: Knex, outboundId: number, reason: string, inboundEmailId: number): Promise<void> {
  await trx('outbound_emails')
    .where({ id: outboundId })
    .update({
      state: trx.raw(`case when state = 'queued' then state else 'bounced' end`),
      bounce_reason: reason.slice(0, 2000),
      bounce_inbound_email_id: inboundEmailId,
      updated_at: now(),
    });
}

/** Adds `address` to the suppression list (kept as it was if already there). */
async function suppress(
  trx: Knex,
  address: string,
  row: { reason: string; inboundEmailId: number; outboundEmailId: number; complaint: boolean },
): Promise<void> {
  await trx('undeliverable_addresses')
    .insert({
      address,
      reason: row.reason.slice(0, 2000),
      inbound_email_id: row.inboundEmailId,
      outbound_email_id: row.outboundEmailId,
      source: row.complaint ? 'complaint' : 'bounce',
      created_at: now(),
    })
    .onConflict('address')
    .ignore();
}

export async function recordBounce(
  trx: Knex,
  details: BounceDetails,
  opts: { inboundEmailId: number; complaint: boolean; deliveredTo: string[] },
): Promise<BounceResult> {
  const what = opts.complaint
    ? 'complaint: the recipient reported our mail as spam'
    : [details.status, details.diagnostic].filter(Boolean).join(' ') || 'delivery failed';
  const verp = opts.deliveredTo.map(verifyVerp).find((v) => v !== undefined);
  const byVerp: OutboundRow | undefined = verp ? await trx('outbound_emails').where({ id: verp.outboundEmailId }).first() : undefined;
  if (byVerp) {
    await markBounced(trx, byVerp.id, what, opts.inboundEmailId);
    const recipient = [...(byVerp.to_addresses ?? []), ...(byVerp.cc_addresses ?? [])][verp!.recipientIndex];
    const address = recipient?.address.trim().toLowerCase();
    const result = { outboundEmailId: byVerp.id, ticketId: byVerp.ticket_id ?? undefined };
    if (details.hard && address) {
      await suppress(trx, address, { reason: what, inboundEmailId: opts.inboundEmailId, outboundEmailId: byVerp.id, complaint: opts.complaint });
      return {
        ...result,
        undeliverable: [address],
        reason: `${what}; returned to the VERP address of outbound message ${byVerp.id}; ${address} marked undeliverable`,
      };
    }
    return {
      ...result,
      undeliverable: [],
      reason: `${what}; returned to the VERP address of outbound message ${byVerp.id}; the address itself was not reported bad`,
    };
  }
  const byId: OutboundRow | undefined = details.referencedIds.length
    ? await trx('outbound_emails').whereIn('message_id', details.referencedIds).orderBy('id', 'desc').first()
    : undefined;
  if (byId) {
    await markBounced(trx, byId.id, what, opts.inboundEmailId);
    return {
      outboundEmailId: byId.id,
      ticketId: byId.ticket_id ?? undefined,
      undeliverable: [],
      reason: `${what}; names outbound message ${byId.id} by its Message-ID only, so nobody is suppressed`,
    };
  }
  return { undeliverable: [], reason: 'unlinked' };
}
