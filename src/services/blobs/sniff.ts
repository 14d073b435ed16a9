/**
 * The MIME type a file's first bytes declare, for the types a helpdesk sees most. A
 * declared type is the sender's word; this is the file's.
 */
const SIGNATURES: [number[], number, string][] = [
  [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 0, 'image/png'],
  [[0xff, 0xd8, 0xff], 0, 'image/jpeg'],
  [[0x47, 0x49, 0x46, 0x38], 0, 'image/gif'],
  [[0x25, 0x50, 0x44, 0x46, 0x2d], 0, 'application/pdf'],
  [[0x50, 0x4b, 0x03, 0x04], 0, 'application/zip'],
  [[0x1f, 0x8b], 0, 'application/gzip'],
  [[0x42, 0x4d], 0, 'image/bmp'],
  [[0x49, 0x49, 0x2a, 0x00], 0, 'image/tiff'],
  [[0x4d, 0x4d, 0x00, 0x2a], 0, 'image/tiff'],
  [[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], 0, 'application/x-ole-storage'],
  [[0x52, 0x61, 0x72, 0x21], 0, 'application/vnd.rar'],
  [[0x37, 0x7a, 0xbc, 0xaf], 0, 'application/x-7z-compressed'],
  [[0x4f, 0x67, 0x67, 0x53], 0, 'audio/ogg'],
  [[0x49, 0x44, 0x33], 0, 'audio/mpeg'],
];

function startsWith(head: Buffer, bytes: number[], offset: number): boolean {
  return head.length >= offset + bytes.length && bytes.every((b, i) => head[offset + i] === b);
}

/** The type the bytes show, or undefined when they show none we know. */
export function sniffMimeType(head: Buffer): string | undefined {
  for (const [bytes, offset, type] of SIGNATURES) if (startsWith(head, bytes, offset)) return type;
  if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') {
    return 'image/webp';
  }
  if (head.length >= 12 && head.toString('latin1', 4, 8) === 'ftyp') return 'video/mp4';
  const text = head.subarray(0, 512).toString('utf8');
  if (/^\s*<(\?xml|svg)[\s>]/i.test(text) && /<svg[\s>]/i.test(text)) return 'image/svg+xml';
  if (/^\s*(<!doctype html|<html[\s>])/i.test(text)) return 'text/html';
  if (head.length > 0 && !head.subarray(0, 512).includes(0) && !text.includes('\ufffd')) return 'text/plain';
  return undefined;
}
