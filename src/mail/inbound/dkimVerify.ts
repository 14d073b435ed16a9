/**
 * mailauth's DKIM check (`dkimVerify`) with its reading of the message made linear
 * (issue 13). Its message parser looks for the end of the header byte by byte, copying a
 * four-byte window into a new array at each byte (a third of a megabyte of garbage per
 * message, the largest allocation of a check), and looks for bare line feeds byte by byte
 * too. Here the same two methods find the line feeds with `Buffer.indexOf` and then apply
 * mailauth's own rules at each of them: the header ends at the first LF LF or LF CR LF of
 * the stream, and an LF whose last non-LF byte before it is not CR becomes CR LF. What is
 * hashed and verified is unchanged; everything else (canonicalization, body hashes, keys,
 * signatures) is mailauth's. tests/unit/mail/dkimVerify.test.ts compares both methods with
 * mailauth's on random messages cut into random chunks.
 *
 * A subclass of mailauth's `DkimVerifier`, made when the checks load (authenticity.ts,
 * loadMailauth), and the few lines of mailauth's `dkim/verify.js` around it.
 */
import type { DKIMVerifyResult } from 'mailauth';
import type { DkimVerifier } from 'mailauth/lib/dkim/dkim-verifier.js';
import type { MailauthTools } from './dkimKeyCache';

const LF = 0x0a;
const CR = 0x0d;

/** A byte of the stream, or `false` before its first: mailauth's window compares with `false` where it has no byte. */
type Byte = number | false;

/**
 * Where the header ends in `chunk` (the index of its last LF), the header's last bytes
 * before it being `before` (up to four, mailauth's window); -1 when not in this chunk.
 */
export function headerEnd(before: readonly Byte[], chunk: Uint8Array): number {
  const byteAt = (i: number): Byte => (i >= 0 ? chunk[i]! : before.length + i >= 0 ? before[before.length + i]! : false);
  for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
    const b1 = byteAt(i - 1);
    if (b1 === LF || (b1 === CR && byteAt(i - 2) === LF)) return i;
  }
  return -1;
}

/** mailauth's window after `chunk`: the stream's last four bytes (fewer at its start). */
export function lastBytes(before: readonly Byte[], chunk: Uint8Array): Byte[] {
  const tail = Array.from(chunk.subarray(Math.max(0, chunk.length - 4)));
  return [...before, ...tail].slice(-4);
}

type Verifier = new (options?: object) => DkimVerifier;

/** `Base` (mailauth's DkimVerifier) with its two byte-by-byte loops made linear. */
export function linearVerifier(Base: Verifier, tools: Pick<MailauthTools, 'parseHeaders'>): Verifier {
  return class LinearDkimVerifier extends Base {
    /** mailauth's: each LF whose last non-LF byte before it is not CR gets a CR, and the input is cut there. */
    override *ensureLinebreaks(input: Buffer): Generator<Buffer> {
      let pos = 0;
      let from = 0;
      for (let i = input.indexOf(LF); i !== -1; i = input.indexOf(LF, from)) {
        // the bytes from `from` to i are not LFs: the last of them, if any, is the last non-LF byte
        if (i > from) this.lastByte = input[i - 1];
        if (this.lastByte !== CR) {
          yield i === 0 || pos === i ? Buffer.from('\r\n') : Buffer.concat([input.slice(pos, i), Buffer.from('\r\n')]);
          pos = i + 1;
        }
        from = i + 1;
      }
      if (input.length > from) this.lastByte = input[input.length - 1];
      if (pos === 0) yield input;
      else if (pos < input.length) yield input.slice(pos);
    }

    /** mailauth's: header chunks are kept until the header ends, then parsed; body chunks go to the hashes. */
    override async processChunk(chunk: Buffer): Promise<void> {
      if (!chunk || !chunk.length) return;
      if (this.state === 'header') {
        const end = headerEnd(this.stateBytes, chunk);
        if (end === -1) {
          this.stateBytes = lastBytes(this.stateBytes, chunk);
          this.headerChunks.push(chunk);
          return;
        }
        this.state = 'body';
        this.headerChunks.push(end === chunk.length - 1 ? chunk : chunk.slice(0, end + 1));
        this.headers = tools.parseHeaders(Buffer.concat(this.headerChunks));
        await this.messageHeaders(this.headers);
        if (end === chunk.length - 1) return;
        chunk = chunk.slice(end + 1);
      }
      await this.nextChunk(chunk);
    }
  };
}

/** mailauth's `dkimVerify` (dkim/verify.js) on `Verifier`: the results, with the parsed headers and the ARC chain not enumerable. */
export function dkimVerifyWith(Verifier: Verifier, tools: Pick<MailauthTools, 'writeToStream'>) {
  return async (input: Buffer, options: object): Promise<DKIMVerifyResult> => {
    const verifier = new Verifier(options);
    await tools.writeToStream(verifier, input);
    const result = { headerFrom: verifier.headerFrom, envelopeFrom: verifier.envelopeFrom, results: verifier.results };
    if (verifier.headers) Object.defineProperty(result, 'headers', { enumerable: false, value: verifier.headers });
    if (verifier.arc) Object.defineProperty(result, 'arc', { enumerable: false, value: verifier.arc });
    return result as unknown as DKIMVerifyResult;
  };
}
