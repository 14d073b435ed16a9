/**
 * Signed, expiring content URLs: an HMAC over the attachment id and expiry, no bearer
 * token, so an `<img>` in a body can load the file and nobody can forge a link to another.
 *
 * Stored bodies hold the attachment's plain path (`contentPath`); the signature is minted
 * when a body is served (`signContentUrls`), so an old ticket's images never stop loading.
 * Bodies stored with a signed URL (before this rule) are signed afresh the same way.
 */
import crypto from 'node:crypto';
import { now } from '../../clock';
import { config } from '../../config';
import { derivedKey } from '../../secret';

function signature(attachmentId: number, expires: number): string {
  return crypto.createHmac('sha256', derivedKey('attachment-content-url')).update(`${attachmentId}:${expires}`).digest('base64url');
}

/** The API path that serves the attachment's bytes, signed until `ttl` seconds from now. */
export function contentUrl(attachmentId: number, ttlSeconds = config().contentUrlTtlSeconds): string {
  const expires = Math.floor(now().getTime() / 1000) + ttlSeconds;
  return `/api/v1/ticketing/attachments/${attachmentId}/content?expires=${expires}&signature=${signature(attachmentId, expires)}`;
}

/** The unsigned path a stored body points at; signed when the body is served. */
export function contentPath(attachmentId: number): string {
  return `/api/v1/ticketing/attachments/${attachmentId}/content`;
}

// one class run after a literal: linear on any input
const STORED_CONTENT_URL = /\/api\/v1\/ticketing\/attachments\/(\d{1,12})\/content(?:\?[^"'\s<>]*)?/g;

/** `html` with every content URL of an attachment (signed or not, fresh or expired) signed anew. */
export function signContentUrls(html: string): string {
  if (!html.includes('/attachments/')) return html;
  return html.replace(STORED_CONTENT_URL, (_m, id: string) => contentUrl(Number(id)).replace(/&/g, '&amp;'));
}

/** True when `sig` signs this attachment and has not expired. */
export function verifyContentSignature(attachmentId: number, expires: number, sig: string): boolean {
  if (!Number.isInteger(expires) || expires * 1000 < now().getTime()) return false;
  const expected = Buffer.from(signature(attachmentId, expires));
  const given = Buffer.from(sig);
  return expected.length === given.length && crypto.timingSafeEqual(expected, given);
}
