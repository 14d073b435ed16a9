/**
 * Receives one file from a multipart/form-data request as a stream, with the form fields
 * that came before it. Over the size limit is a 413, before reading when the length says
 * so, else as soon as the limit is passed.
 */
import busboy from 'busboy';
import type { Context } from 'koa';
import { AppError, invalid } from '../errors';

export interface IncomingFile {
  fields: Record<string, string>;
  filename: string;
  mimeType: string;
  stream: NodeJS.ReadableStream & AsyncIterable<Buffer>;
}

/** Parses the request and hands the file to `store`; resolves with what `store` returns. */
export function receiveUpload<T>(ctx: Context, maxBytes: number, store: (file: IncomingFile) => Promise<T>): Promise<T> {
  if (!ctx.is('multipart/form-data')) {
    throw new AppError(415, 'unsupported_media_type', 'send the file as multipart/form-data in a field named file');
  }
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > maxBytes + 1024 * 1024) throw new AppError(413, 'payload_too_large', `the file is over the ${maxBytes} byte limit`);

  return new Promise<T>((resolve, reject) => {
    const fields: Record<string, string> = {};
    let sawFile = false;
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: ctx.req.headers, limits: { files: 1, fields: 20, fieldSize: 10_000, fileSize: maxBytes + 1 } });
    } catch (e) {
      reject(invalid({ body: `malformed multipart body: ${(e as Error).message}` }));
      return;
    }
    bb.on('field', (name, value) => {
      fields[name] = value;
    });
    bb.on('file', (_name, stream, info) => {
      if (sawFile) {
        stream.resume();
        return;
      }
      sawFile = true;
      store({ fields: { ...fields }, filename: info.filename ?? 'attachment', mimeType: info.mimeType, stream: stream as IncomingFile['stream'] }).then(
        resolve,
        (e) => {
          stream.resume();
          reject(e);
        },
      );
    });
    bb.on('filesLimit', () => reject(invalid({ file: 'send one file per request' })));
    bb.on('error', (e) => reject(invalid({ body: `malformed multipart body: ${(e as Error).message}` })));
    bb.on('close', () => {
      if (!sawFile) reject(invalid({ file: 'is required (a multipart field named file)' }));
    });
    ctx.req.pipe(bb);
  });
}
