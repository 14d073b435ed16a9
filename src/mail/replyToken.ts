/**
 * Signed reply addresses: our mail carries `Reply-To: <local>+<token>@<domain>`, where the
 * token names the ticket and the person it was sent to (a contact or an agent) under an
 * HMAC. A message delivered to such an address belongs to that ticket even when a relay
 * dropped its headers, and an agent's answer proves who it was sent to.
 * The token is lower-case so that mail systems which fold case keep it valid.
 */
import crypto from 'node:crypto';
import { derivedKey } from '../secret';

export type RecipientKind = 'contact' | 'user';

export interface ReplyTokenSubject {
  ticketNumber: string;
  recipient: { kind: RecipientKind; id: number };
}

const PATTERN = /^([a-hj-km-np-z2-9]{6})-([cu])(\d{1,10})-([0-9a-f]{20})$/;

function mac(number: string, kind: string, id: number): string {
  return crypto.createHmac('sha256', derivedKey('reply-token-v1')).update(`${number}:${kind}:${id}`).digest('hex').slice(0, 20);
}

export function signReplyToken(subject: ReplyTokenSubject): string {
  const number = subject.ticketNumber.toUpperCase();
  const kind = subject.recipient.kind === 'contact' ? 'c' : 'u';
  return `${number.toLowerCase()}-${kind}${subject.recipient.id}-${mac(number, kind, subject.recipient.id)}`;
}

/** The subject of a valid token, or undefined (forged, altered or malformed). */
export function verifyReplyToken(token: string): ReplyTokenSubject | undefined {
  const m = PATTERN.exec(token.toLowerCase());
  if (!m) return undefined;
  const [, num, kind, id, sig] = m as unknown as [string, string, string, string, string];
  const number = num.toUpperCase();
  const expected = Buffer.from(mac(number, kind, Number(id)));
  if (!crypto.timingSafeEqual(expected, Buffer.from(sig))) return undefined;
  return { ticketNumber: number, recipient: { kind: kind === 'c' ? 'contact' : 'user', id: Number(id) } };
}

/** `support@acme.test` + token -> `support+<token>@acme.test`. */
export function replyAddress(mailboxAddress: string, token: string): string {
  const at = mailboxAddress.lastIndexOf('@');
  return `${mailboxAddress.slice(0, at)}+${token}${mailboxAddress.slice(at)}`;
}

/** The token part of a `local+token@domain` address, if any. */
export function tokenOf(address: string): string | undefined {
  const m = /^[^@+]+\+([^@]+)@/.exec(address.trim());
  return m?.[1];
}
