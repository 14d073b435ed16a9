/**
 * VERP return paths: every message we send goes out with an envelope sender of its own per
 * recipient, `local+bounce-<outbound id>-<recipient index>-<hmac>@domain` on the sending
 * mailbox's address. A bounce comes back to that address (the same mailbox reads it), and
 * only such a bounce names, under our HMAC, exactly which message and which recipient
 * failed: the one thing that may mark an address undeliverable. Anyone can write a DSN;
 * nobody else can write this address.
 */
import crypto from 'node:crypto';
import { derivedKey } from '../secret';

export interface VerpSubject {
  outboundEmailId: number;
  /** Index of the recipient in the message's To then Cc list, as queued. */
  recipientIndex: number;
}

const PATTERN = /^bounce-(\d{1,10})-(\d{1,4})-([0-9a-f]{16})$/;

function mac(outboundEmailId: number, recipientIndex: number): string {
  return crypto.createHmac('sha256', derivedKey('verp-v1')).update(`${outboundEmailId}:${recipientIndex}`).digest('hex').slice(0, 16);
}

/** `support@acme.test` -> `support+bounce-12-0-<hmac>@acme.test`. */
export function verpAddress(mailboxAddress: string, subject: VerpSubject): string {
  const at = mailboxAddress.lastIndexOf('@');
  const tag = `bounce-${subject.outboundEmailId}-${subject.recipientIndex}-${mac(subject.outboundEmailId, subject.recipientIndex)}`;
  return `${mailboxAddress.slice(0, at)}+${tag}${mailboxAddress.slice(at)}`;
}

/** The message and recipient a VERP address names, when its HMAC is ours; else undefined. */
export function verifyVerp(address: string): VerpSubject | undefined {
  // the tag after the last '+' of the local part (the mailbox's own address may hold a '+')
  const lower = address.trim().toLowerCase();
  const at = lower.lastIndexOf('@');
  const plus = lower.lastIndexOf('+', at);
  const tag = at > 0 && plus >= 0 && at - plus <= 100 ? lower.slice(plus + 1, at) : undefined;
  const m = tag ? PATTERN.exec(tag) : null;
  if (!m) return undefined;
  const outboundEmailId = Number(m[1]);
  const recipientIndex = Number(m[2]);
  const expected = Buffer.from(mac(outboundEmailId, recipientIndex));
  if (!crypto.timingSafeEqual(expected, Buffer.from(m[3]!))) return undefined;
  return { outboundEmailId, recipientIndex };
}
