/**
 * Which ticket a message answers, first match wins: a Message-ID we received or sent on a
 * ticket (In-Reply-To, References), the signed reply address, then `[#NUMBER]` in the
 * subject, this last only for a contact of that ticket's customer or an agent.
 */
import type { Ticket } from '../../models/Ticket';
import { type ReplyTokenSubject, tokenOf, verifyReplyToken } from '../replyToken';
import type { MailWork } from './mailWork';
import type { ReadMessage } from './analyze';

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
export function findToken(parsed: ReadMessage): ReplyTokenSubject | undefined {
  for (const address of parsed.deliveredTo) {
    const token = tokenOf(address);
    const subject = token ? verifyReplyToken(token) : undefined;
    if (subject) return subject;
  }
  return undefined;
}

/** The Message-IDs a message answers, the most telling first. */
export function answeredIds(parsed: ReadMessage): string[] {
  return [...new Set([...parsed.inReplyTo, ...[...parsed.references].reverse()])].filter((id) => id !== parsed.messageId);
}

/** The ticket number in a subject's `[#NUMBER]`. */
export function subjectNumber(subject: string): string | undefined {
  return /\[#([A-HJ-NP-Z2-9]{6})\]/i.exec(subject)?.[1]?.toUpperCase();
}

/** The tickets a message names, for the batch's lookups (see MailWork.prefetch). */
export function namedTicketNumbers(parsed: ReadMessage): string[] {
  return [findToken(parsed)?.ticketNumber, subjectNumber(parsed.subject)].filter((n): n is string => Boolean(n));
}

export function findThread(work: MailWork, parsed: ReadMessage, sender: SenderIdentity, token: ReplyTokenSubject | undefined): Thread | undefined {
  const byHeaders = work.threadOf(answeredIds(parsed));
  if (byHeaders) return { ticket: byHeaders.ticket, via: 'headers', answersOutboundId: byHeaders.outboundId ?? undefined };
  const byToken = token && work.ticketByNumber(token.ticketNumber);
  if (byToken) return { ticket: byToken, via: 'token' };
  const number = subjectNumber(parsed.subject);
  const ticket = number ? work.ticketByNumber(number) : undefined;
  const allowed = ticket && (sender.agentId !== undefined || sender.contact?.contactable_id === ticket.ticketable_id);
  if (ticket && allowed) return { ticket, via: 'subject' };
  return undefined;
}
