/**
 * Receives one file from a multipart/form-data request as a stream, with every form field
 * (before or after the file). The file goes to `store` while the body arrives; the result
 * is handed back only when the whole body has been read, so fields sent after the file
 * count. Whatever ends the request early (the client closing the connection, no bytes for
 * the idle timeout, the total time limit, a bad body, a second file) stops the parse,
 * discards what was stored and answers: nothing stays behind and nothing is held.
 * Over the size limit is a 413, before reading when the length says so, else as soon as
 * the limit is passed.
 */
import busboy from 'busboy';
import type { Context } from 'koa';
import type { Readable } from 'node:stream';
import { AppError, invalid } from '../errors';

export interface IncomingFile {
  filename: string;
  mimeType: string;
  stream: NodeJS.ReadableStream & AsyncIterable<Buffer>;
}

export interface UploadLimits {
  maxBytes: number;
  /** No bytes from the client for this long ends the upload (408). */
  idleSeconds: number;
  /** The whole body must arrive within this (408). */
  totalSeconds: number;
}

export interface ReceivedUpload<T> {
  /** Every form field but the file, whatever their order. */
  fields: Record<string, string>;
  filename: string;
  mimeType: string;
  /** What `store` returned for the file. */
  stored: T;
}

const uploadTimeout = (message: string) => new AppError(408, 'request_timeout', message);

/**
 * Parses the request, streaming its file to `store`; resolves once the body is read and
 * `store` is done. When the upload fails after `store` succeeded, `discard` gets what it
 * stored; when it fails during `store`, the file stream errors and `store` cleans up.
 */
export function receiveUpload<T>(
  ctx: Context,
  limits: UploadLimits,
  store: (file: IncomingFile) => Promise<T>,
  discard: (stored: T) => Promise<void>,
): Promise<ReceivedUpload<T>> {
  if (!ctx.is('multipart/form-data')) {
    throw new AppError(415, 'unsupported_media_type', 'send the file as multipart/form-data in a field named file');
  }
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limits.maxBytes + 1024 * 1024) {
    throw new AppError(413, 'payload_too_large', `the file is over the ${limits.maxBytes} byte limit`);
  }
  const req = ctx.req;

  return new Promise<ReceivedUpload<T>>((resolve, reject) => {
    const fields: Record<string, string> = {};
    let file: { filename: string; mimeType: string; stream: Readable } | undefined;
    let storing: Promise<T> | undefined;
    let settled = false;
    let idleTimer: NodeJS.Timeout | undefined;

    const stopTimers = () => {
      clearTimeout(idleTimer);
      clearTimeout(totalTimer);
    };
    const detach = () => {
      stopTimers();
      req.off('data', onData).off('end', stopTimers).off('close', onClose).off('error', onClose);
    };

    /** Ends the upload with `err`: stop parsing, let `store` fail, discard what it kept. */
    const fail = (err: unknown, clientGone = false) => {
      if (settled) return;
      settled = true;
      detach();
      req.unpipe(bb);
      bb.destroy();
      file?.stream.destroy(err as Error);
      if (!req.complete) {
        // the rest of the body is not wanted: a stalled or vanished client gets the socket
        // closed after the answer; anyone else is drained, so the answer is read
        if (clientGone || (err instanceof AppError && err.status === 408)) ctx.set('Connection', 'close');
        else req.resume();
      }
      const cleanup = storing ? storing.then(discard, () => undefined).catch(() => undefined) : Promise.resolve();
      cleanup.finally(() => reject(err));
    };

    const armIdle = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        // paused means we are the slow side (the store is writing): that is not the client's idleness
        if (req.isPaused()) armIdle();
        else fail(uploadTimeout(`the upload sent nothing for ${limits.idleSeconds} s`));
      }, limits.idleSeconds * 1000);
    };
    const totalTimer = setTimeout(
      () => fail(uploadTimeout(`the upload did not finish within ${limits.totalSeconds} s`)),
      limits.totalSeconds * 1000,
    );
    const onData = () => armIdle();
    const onClose = () => {
      if (!req.complete) fail(new AppError(400, 'upload_aborted', 'the client closed the connection before the upload ended'), true);
    };

    let bb: busboy.Busboy;
    try {
      // browsers and curl send a non-ASCII file name as raw UTF-8 in filename="…" (busboy assumes Latin-1)
      bb = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        limits: { files: 1, fields: 20, fieldSize: 10_000, fileSize: limits.maxBytes + 1 },
      });
    } catch (e) {
      stopTimers();
      reject(invalid({ body: `malformed multipart body: ${(e as Error).message}` }));
      return;
    }
    bb.on('field', (name, value) => {
      fields[name] = value;
    });
    bb.on('file', (_name, stream, info) => {
      if (file) {
        stream.resume();
        return;
      }
      // fail() destroys the stream with its error: `store` sees it through its iteration, and
      // once `store` is done nobody listens, so an unheard 'error' would crash the process
      stream.on('error', () => undefined);
      file = { filename: info.filename ?? 'attachment', mimeType: info.mimeType, stream };
      storing = store({ filename: file.filename, mimeType: file.mimeType, stream: stream as IncomingFile['stream'] });
      storing.catch((e) => fail(e));
    });
    bb.on('filesLimit', () => fail(invalid({ file: 'send one file per request' })));
    bb.on('error', (e) => fail(invalid({ body: `malformed multipart body: ${(e as Error).message}` })));
    bb.on('close', () => {
      if (settled) return;
      if (!storing || !file) return fail(invalid({ file: 'is required (a multipart field named file)' }));
      const { filename, mimeType } = file;
      storing.then(
        (stored) => {
          if (settled) return; // failed meanwhile; fail() discards it
          settled = true;
          detach();
          resolve({ fields, filename, mimeType, stored });
        },
        (e) => fail(e),
      );
    });

    req.on('data', onData).on('end', stopTimers).on('close', onClose).on('error', onClose);
    armIdle();
    req.pipe(bb);
  });
}
