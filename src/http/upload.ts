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

/** Refuses what can be refused before reading: not multipart, or a declared length over the limit. */
function checkRequest(ctx: Context, limits: UploadLimits): void {
  if (!ctx.is('multipart/form-data')) {
    throw new AppError(415, 'unsupported_media_type', 'send the file as multipart/form-data in a field named file');
  }
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limits.maxBytes + 1024 * 1024) {
    throw new AppError(413, 'payload_too_large', `the file is over the ${limits.maxBytes} byte limit`);
  }
}

/** One upload being received: the parser, the timers, and the one way it ends (resolve or fail). */
class UploadReceiver<T> {
  private readonly fields: Record<string, string> = {};
  private file?: { filename: string; mimeType: string; stream: Readable };
  private storing?: Promise<T>;
  private settled = false;
  private idleTimer?: NodeJS.Timeout;
  private totalTimer?: NodeJS.Timeout;
  private bb?: busboy.Busboy;
  private readonly req: Context['req'];
  private readonly onData = () => this.armIdle();
  private readonly onEnd = () => this.stopTimers();
  private readonly onClose = () => {
    if (!this.req.complete) this.fail(new AppError(400, 'upload_aborted', 'the client closed the connection before the upload ended'), true);
  };

  constructor(
    private readonly ctx: Context,
    private readonly limits: UploadLimits,
    private readonly store: (file: IncomingFile) => Promise<T>,
    private readonly discard: (stored: T) => Promise<void>,
    private readonly resolve: (upload: ReceivedUpload<T>) => void,
    private readonly reject: (e: unknown) => void,
  ) {
    this.req = ctx.req;
  }

  start(): void {
    this.totalTimer = setTimeout(
      () => this.fail(uploadTimeout(`the upload did not finish within ${this.limits.totalSeconds} s`)),
      this.limits.totalSeconds * 1000,
    );
    try {
      // browsers and curl send a non-ASCII file name as raw UTF-8 in filename="…" (busboy assumes Latin-1)
      this.bb = busboy({
        headers: this.req.headers,
        defParamCharset: 'utf8',
        limits: { files: 1, fields: 20, fieldSize: 10_000, fileSize: this.limits.maxBytes + 1 },
      });
    } catch (e) {
      this.stopTimers();
      this.reject(invalid({ body: `malformed multipart body: ${(e as Error).message}` }));
      return;
    }
    const bb = this.bb;
    bb.on('field', (name, value) => {
      this.fields[name] = value;
    });
    bb.on('file', (_name, stream, info) => this.onFile(stream, info));
    bb.on('filesLimit', () => this.fail(invalid({ file: 'send one file per request' })));
    bb.on('error', (e) => this.fail(invalid({ body: `malformed multipart body: ${(e as Error).message}` })));
    bb.on('close', () => this.onParsed());
    this.req.on('data', this.onData).on('end', this.onEnd).on('close', this.onClose).on('error', this.onClose);
    this.armIdle();
    this.req.pipe(bb);
  }

  private onFile(stream: Readable, info: busboy.FileInfo): void {
    if (this.file) {
      stream.resume();
      return;
    }
    // fail() destroys the stream with its error: `store` sees it through its iteration, and
    // once `store` is done nobody listens, so an unheard 'error' would crash the process
    stream.on('error', () => undefined);
    this.file = { filename: info.filename ?? 'attachment', mimeType: info.mimeType, stream };
    this.storing = this.store({ filename: this.file.filename, mimeType: this.file.mimeType, stream: stream as IncomingFile['stream'] });
    this.storing.catch((e) => this.fail(e));
  }

  /** The whole body is read: the upload succeeds once `store` is done. */
  private onParsed(): void {
    if (this.settled) return;
    const { storing, file } = this;
    if (!storing || !file) return this.fail(invalid({ file: 'is required (a multipart field named file)' }));
    storing.then(
      (stored) => {
        if (this.settled) return; // failed meanwhile; fail() discards it
        this.settled = true;
        this.detach();
        this.resolve({ fields: this.fields, filename: file.filename, mimeType: file.mimeType, stored });
      },
      (e) => this.fail(e),
    );
  }

  private stopTimers(): void {
    clearTimeout(this.idleTimer);
    clearTimeout(this.totalTimer);
  }

  private detach(): void {
    this.stopTimers();
    this.req.off('data', this.onData).off('end', this.onEnd).off('close', this.onClose).off('error', this.onClose);
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      // paused means we are the slow side (the store is writing): that is not the client's idleness
      if (this.req.isPaused()) this.armIdle();
      else this.fail(uploadTimeout(`the upload sent nothing for ${this.limits.idleSeconds} s`));
    }, this.limits.idleSeconds * 1000);
  }

  /** Ends the upload with `err`: stop parsing, let `store` fail, discard what it kept. */
  private fail(err: unknown, clientGone = false): void {
    if (this.settled) return;
    this.settled = true;
    this.detach();
    if (this.bb) {
      this.req.unpipe(this.bb);
      this.bb.destroy();
    }
    this.file?.stream.destroy(err as Error);
    if (!this.req.complete) {
      // the rest of the body is not wanted: a stalled or vanished client gets the socket
      // closed after the answer; anyone else is drained, so the answer is read
      if (clientGone || (err instanceof AppError && err.status === 408)) this.ctx.set('Connection', 'close');
      else this.req.resume();
    }
    const cleanup = this.storing ? this.storing.then(this.discard, () => undefined).catch(() => undefined) : Promise.resolve();
    void cleanup.finally(() => this.reject(err));
  }
}

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
  checkRequest(ctx, limits);
  return new Promise<ReceivedUpload<T>>((resolve, reject) => new UploadReceiver(ctx, limits, store, discard, resolve, reject).start());
}
