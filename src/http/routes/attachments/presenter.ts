import type { Attachment } from '../../../models/Attachment';
import { contentUrl } from '../../../services/attachments/contentUrl';

/** An attachment's metadata with a signed URL of its content. */
export function presentAttachment(a: Attachment): Record<string, unknown> {
  return {
    id: a.id,
    filename: a.filename,
    declared_type: a.declared_type,
    sniffed_type: a.sniffed_type,
    size: a.size,
    ticket_id: a.ticket_id,
    reply_id: a.reply_id,
    content_id: a.content_id,
    inline: a.inline,
    sha256: a.blob_sha256,
    created_at: (a as unknown as { created_at: Date }).created_at,
    content_url: contentUrl(a.id),
  };
}

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

