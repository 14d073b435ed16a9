/**
 * Bounces and complaints: linked to the outbound message they report on (by the
 * Message-IDs the report quotes), which becomes `bounced`; a bad address (5.1.x) or a
 * complaint marks the address undeliverable until an agent clears it.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import type { BounceDetails } from './classify';

export interface BounceResult {
  outboundEmailId?: number;
  ticketId?: number;
  undeliverable: string[];
}

export async function recordBounce(
  trx: Knex,
  details: BounceDetails,
  opts: { inboundEmailId: number; complaint: boolean },
): Promise<BounceResult> {
  const reason = opts.complaint
    ? 'complaint: the recipient reported our mail as spam'
    : [details.status, details.diagnostic].filter(Boolean).join(' ') || 'delivery failed';
  const outbound = details.referencedIds.length
    ? await trx('outbound_emails').whereIn('message_id', details.referencedIds).orderBy('id', 'desc').first()
    : undefined;
  if (outbound) {
    await trx('outbound_emails').where({ id: outbound.id }).update({
      state: 'bounced',
      bounce_reason: reason.slice(0, 2000),
      bounce_inbound_email_id: opts.inboundEmailId,
      updated_at: now(),
    });
  }
  const undeliverable: string[] = [];
  if (details.hard) {
    let addresses = details.recipients;
    if (addresses.length === 0 && outbound) {
      const to = (outbound.to_addresses as { address: string }[]) ?? [];
      if (to.length === 1) addresses = [to[0]!.address.toLowerCase()];
    }
    for (const address of addresses) {
      await trx('undeliverable_addresses')
        .insert({ address, reason: reason.slice(0, 2000), inbound_email_id: opts.inboundEmailId, created_at: now() })
        .onConflict('address')
        .ignore();
      undeliverable.push(address);
    }
  }
  return { outboundEmailId: outbound?.id, ticketId: outbound?.ticket_id ?? undefined, undeliverable };
}
