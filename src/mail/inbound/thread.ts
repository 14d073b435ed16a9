/**
 * Which ticket a message answers, first match wins: a Message-ID we received or sent on a
 * ticket (In-Reply-To, References), the signed reply address, then `[#NUMBER]` in the
 * subject, this last only for a contact of that ticket's customer or an agent.
 */
import type { Knex } from 'knex';
import { Ticket } from '../../models/Ticket';
import { type ReplyTokenSubject, tokenOf, verifyReplyToken } from '../replyToken';
import type { ParsedMessage } from './parse';

export interface Thread {
  ticket: Ticket;
  via: 'headers' | 'token' | 'subject';
  /** The outbound message it answers, when it names one of ours. */
  answersOutboundId?: number;
}

export interface SenderIdentity {
  contact?: { id: number; contactable_id: number };
  agentId?: number;
}

/** The valid reply token among the addresses the message was delivered to. */
export function findToken(parsed: ParsedMessage): ReplyTokenSubject | undefined {
  for (const address of parsed.deliveredTo) {
    const token = tokenOf(address);
    const subject = token ? verifyReplyToken(token) : undefined;
    if (subject) return subject;
  }
  return undefined;
}

export async function findThread(
  trx: Knex,
  parsed: ParsedMessage,
  sender: SenderIdentity,
  token: ReplyTokenSubject | undefined,
): Promise<Thread | undefined> {
  const ids = [...new Set([...parsed.inReplyTo, ...[...parsed.references].reverse()])].filter((id) => id !== parsed.messageId);
  if (ids.length) {
    const row = await trx('ticket_message_ids')
      .whereIn('message_id', ids)
      .orderByRaw('array_position(?::text[], message_id)', [ids])
      .first('ticket_id', 'outbound_email_id');
    if (row) {
      const ticket = await Ticket.query(trx).findById(row.ticket_id).forUpdate();
      if (ticket) return { ticket, via: 'headers', answersOutboundId: row.outbound_email_id ?? undefined };
    }
  }
  if (token) {
    const ticket = await Ticket.query(trx).findOne({ number: token.ticketNumber }).forUpdate();
    if (ticket) return { ticket, via: 'token' };
  }
  const number = /\[#([A-HJ-NP-Z2-9]{6})\]/i.exec(parsed.subject)?.[1]?.toUpperCase();
  if (number) {
    const ticket = await Ticket.query(trx).findOne({ number }).forUpdate();
    const allowed = ticket && (sender.agentId !== undefined || sender.contact?.contactable_id === ticket.ticketable_id);
    if (ticket && allowed) return { ticket, via: 'subject' };
  }
  return undefined;
}
