import type { Attachment } from '../../../models/Attachment';
import { contentUrl } from '../../../services/attachments/contentUrl';
import { type Presenter, presenter } from '../../present';

/**
 * An attachment's metadata: `sha256` is the content's hash (the same file uploaded twice
 * has the same one, and a client can check a download against it), `content_url` a signed,
 * expiring URL of the bytes, minted now. The row's `uploaded_by` and `updated_at` are not
 * shown.
 */
export const ATTACHMENT_FIELDS = [
  'id',
  'filename',
  'declared_type',
  'sniffed_type',
  'size',
  'ticket_id',
  'reply_id',
  'content_id',
  'inline',
  'sha256',
  'created_at',
  'content_url',
] as const;

/** An attachment's metadata with a signed URL of its content. */
export const presentAttachment: Presenter<Attachment> = presenter(ATTACHMENT_FIELDS, {
  sha256: (a) => a.blob_sha256,
  content_url: (a) => contentUrl(a.id),
});

const ACTIVE_TYPES = /html|svg|xml|javascript|ecmascript/i;
const CONTAINERS = new Set(['application/zip', 'application/x-ole-storage', 'text/plain']);

/**
 * The type a download is served as: the sniffed one, or the declared one where the bytes
 * only show a container (zip for docx, OLE for xls); never one a browser would run.
 */
export function downloadType(a: Pick<Attachment, 'sniffed_type' | 'declared_type'>): string {
  const declared = a.declared_type && !ACTIVE_TYPES.test(a.declared_type) ? a.declared_type : undefined;
  const sniffed = a.sniffed_type && !ACTIVE_TYPES.test(a.sniffed_type) ? a.sniffed_type : undefined;
  if (sniffed && (!CONTAINERS.has(sniffed) || !declared)) return sniffed;
  return declared ?? 'application/octet-stream';
}

/** RFC 5987 attr-char: sent as is in `filename*`; every other byte is percent-encoded. */
const ATTR_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~]/;

/**
 * `Content-Disposition` of a download per RFC 6266: an ASCII `filename` fallback (every
 * other character, and `"`, `\` and `%`, as `_`) and the exact name as UTF-8 in
 * `filename*`. Header values must be Latin-1 in Node, so the raw name (Cyrillic, CJK,
 * emoji) never goes in; a lone surrogate is encoded as U+FFFD rather than throwing.
 */
export function contentDisposition(filename: string): string {
  let fallback = '';
  for (const ch of filename) {
    const code = ch.codePointAt(0)!;
    fallback += code >= 0x20 && code < 0x7f && ch !== '"' && ch !== '\\' && ch !== '%' ? ch : '_';
  }
  let encoded = '';
  for (const byte of Buffer.from(filename, 'utf8')) {
    const ch = String.fromCharCode(byte);
    encoded += byte < 0x80 && ATTR_CHAR.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `attachment; filename="${fallback || 'attachment'}"; filename*=UTF-8''${encoded}`;
}
