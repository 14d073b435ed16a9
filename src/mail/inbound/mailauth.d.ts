/**
 * The two modules of mailauth (it ships no types for them) that dkimKeyCache.ts and
 * dkimVerify.ts use, as far as they use them.
 */
declare module 'mailauth/lib/tools.js' {
  import type { Writable } from 'node:stream';

  namespace tools {
    /** mailauth's resolver: `(name, type)`, rejects with a DNS error code. */
    type Resolver = (name: string, type: string) => Promise<unknown>;
    /** What `getPublicKey` resolves with. */
    interface PublicKeyResult {
      publicKey: string | Buffer;
      rr: string;
      modulusLength?: number;
    }
    type GetPublicKey = (
      type: string,
      name: string,
      minBitLength: number | undefined,
      resolver: Resolver | undefined,
      ...rest: unknown[]
    ) => Promise<PublicKeyResult>;
  }
  const tools: {
    /** The key of a DKIM (or ARC) record: asks the resolver, parses the answer; its checks take it when they load. */
    getPublicKey: tools.GetPublicKey;
    parseHeaders(buf: Buffer): unknown;
    writeToStream(stream: Writable, input: Buffer): Promise<void>;
  };
  export = tools;
}

declare module 'mailauth/lib/dkim/dkim-verifier.js' {
  import { Writable } from 'node:stream';

  /** The DKIM check, a Writable of the message; its reading is MessageParser's (dkim/message-parser.js). */
  export class DkimVerifier extends Writable {
    constructor(options?: object);
    state: 'header' | 'body';
    /** The header's last four bytes read, `false` where there were none. */
    stateBytes: (number | false)[];
    headerChunks: Buffer[];
    headers: unknown;
    lastByte?: number;
    headerFrom: string[];
    envelopeFrom: string | false;
    results: unknown[];
    arc: unknown;
    messageHeaders(headers: unknown): Promise<void>;
    nextChunk(chunk: Buffer): Promise<void>;
    finalChunk(): Promise<void>;
    ensureLinebreaks(input: Buffer): Generator<Buffer>;
    processChunk(chunk: Buffer): Promise<void>;
  }
}
