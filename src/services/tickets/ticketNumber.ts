/**
 * Ticket numbers: 6 characters drawn at random from an alphabet without look-alikes
 * (no 0/O, 1/I/L), unique, matched case-insensitively.
 */
import crypto from 'node:crypto';

export const NUMBER_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

/** A fresh random number; uniqueness is the caller's (see createTicket). */
export function randomTicketNumber(): string {
  let out = '';
  for (let i = 0; i < 6; i++) out += NUMBER_ALPHABET[crypto.randomInt(NUMBER_ALPHABET.length)];
  return out;
}

/** The stored form of a number someone typed. */
export function normalizeTicketNumber(text: string): string {
  return text.trim().toUpperCase();
}
