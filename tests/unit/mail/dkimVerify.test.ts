/**
 * The DKIM check's linear message reading (dkimVerify.ts) against mailauth's own: the same
 * pieces out of the line-break fix, the same header and the same body out of the header
 * split, on random messages cut into random chunks; the same verdicts on signed, altered
 * and bare-LF messages; and, in a thread that loads the checks (loadMailauth), the key of
 * a sender parsed once while a wrong key still fails.
 */
import crypto from 'node:crypto';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { dkimVerify as mailauthVerify } from 'mailauth/lib/dkim/verify.js';
import { DkimVerifier } from 'mailauth/lib/dkim/dkim-verifier.js';
import tools from 'mailauth/lib/tools.js';
import { dkimVerifyWith, headerEnd, lastBytes, linearVerifier } from '../../../src/mail/inbound/dkimVerify';
import { ZoneServer } from '../../helpers/dnsServer';

/** A DkimVerifier that records what its reading hands on instead of checking it. */
class Recording extends DkimVerifier {
  pieces: Buffer[] = [];
  headerBytes?: Buffer;
  headerCalls = 0;
  body: Buffer[] = [];
  override async messageHeaders(): Promise<void> {
    this.headerCalls++;
    this.headerBytes = Buffer.concat(this.headerChunks);
  }
  override async nextChunk(chunk: Buffer): Promise<void> {
    this.body.push(Buffer.from(chunk));
  }
  override async finalChunk(): Promise<void> {}
}

/** `Base` recording each piece out of the line-break fix (what writeAsync hands processChunk). */
const piecesOf = (Base: typeof Recording) =>
  class extends Base {
    override async processChunk(chunk: Buffer): Promise<void> {
      this.pieces.push(Buffer.from(chunk));
      return super.processChunk(chunk);
    }
  };
const Theirs = piecesOf(Recording);
const Ours = piecesOf(linearVerifier(Recording, tools) as unknown as typeof Recording);

/** Reads `chunks` as a stream would hand them, then ends. */
async function read(parser: Recording, chunks: Buffer[]) {
  const p = parser as unknown as { writeAsync(c: Buffer): Promise<void>; finish(): Promise<void> };
  for (const c of chunks) await p.writeAsync(c);
  await p.finish();
  const hex = (b: Buffer | undefined) => b?.toString('hex');
  return {
    pieces: parser.pieces.map(hex),
    header: hex(parser.headerBytes),
    headerCalls: parser.headerCalls,
    body: hex(Buffer.concat(parser.body)),
    lastByte: parser.lastByte,
  };
}

/** A deterministic random source (mulberry32), so a failure can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Messages heavy in what the reading looks at: CR, LF, their runs, and a few other bytes. */
function randomMessage(next: () => number): Buffer {
  const parts = ['\r\n', '\n', '\r', '\n\n', '\r\n\r\n', '\n\r\n', 'a', 'Subject: x', ' ', '\t', ':'];
  const out: string[] = [];
  const n = Math.floor(next() * 60);
  for (let i = 0; i < n; i++) out.push(parts[Math.floor(next() * parts.length)]!);
  return Buffer.from(out.join(''), 'latin1');
}

function randomChunks(raw: Buffer, next: () => number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < raw.length;) {
    const size = 1 + Math.floor(next() * (next() < 0.3 ? 3 : 40));
    chunks.push(raw.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

describe('the linear reading', () => {
  it("hands on what mailauth's does, piece for piece, on random messages in random chunks", async () => {
    const next = random(13);
    for (let round = 0; round < 3000; round++) {
      const raw = randomMessage(next);
      const chunks = randomChunks(raw, next);
      const theirs = await read(new Theirs(), chunks);
      const ours = await read(new Ours(), chunks);
      expect({ round, ...ours }).toEqual({ round, ...theirs });
    }
  });

  it('finds the end of the header across chunks, as a window of the last bytes', () => {
    const end = (before: (number | false)[], text: string) => headerEnd(before, Buffer.from(text, 'latin1'));
    expect(end([], 'a: b\r\n\r\nbody')).toBe(7);
    expect(end([], 'a: b\n\nbody')).toBe(5);
    expect(end([0x0a], '\nbody')).toBe(0);
    expect(end([0x0a, 0x0d], '\nbody')).toBe(0);
    expect(end([0x0d, 0x0a], '\r\nbody')).toBe(1);
    expect(end([0x61, 0x0d], '\nbody')).toBe(-1);
    // the first byte of a message is never preceded: a leading LF ends nothing by itself
    expect(end([], '\nx')).toBe(-1);
    expect(end([], '\n\nx')).toBe(1);
    expect(lastBytes([1, 2], Buffer.from([3, 4, 5]))).toEqual([2, 3, 4, 5]);
    expect(lastBytes([], Buffer.from([3]))).toEqual([3]);
  });
});

describe('the verdicts', () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const record = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
  const resolver = async (name: string) => {
    if (name === 'sel._domainkey.signed.test') return [[record]];
    throw Object.assign(new Error('no such name'), { code: 'ENOTFOUND' });
  };
  const linearVerify = dkimVerifyWith(linearVerifier(DkimVerifier, tools), tools);
  const sign = async (raw: string) => {
    const key = { signingDomain: 'signed.test', selector: 'sel', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) };
    const { signatures } = await dkimSign(raw, { ...key, signatureData: [key] } as never);
    return signatures + raw;
  };
  const summary = (r: Awaited<ReturnType<typeof mailauthVerify>>) => ({
    headerFrom: r.headerFrom,
    envelopeFrom: r.envelopeFrom,
    results: r.results.map((x) => ({ ...x, id: undefined })),
  });

  it("are mailauth's on signed, altered, bare-LF and odd messages", async () => {
    const base = 'From: A <a@signed.test>\r\nTo: b@helpdesk.test\r\nSubject: Hello\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\nLine one\r\nLine two\r\n';
    const signed = await sign(base);
    const messages = [
      signed,
      signed.replace('Line two', 'Line 2'),
      signed.replace('Subject: Hello', 'Subject: Hullo'),
      signed.replace(/\r\n/g, '\n'),
      (await sign(base.replace('Line one\r\n', 'Line one\n'))).replace('Line one\n', 'Line one\r\n'),
      await sign('From: a@signed.test\r\n\r\n'),
      await sign('From: a@signed.test\r\n'),
      'From: a@signed.test\r\n\r\nno signature\r\n',
      '',
      '\r\n\r\n',
    ];
    for (const m of messages) {
      const raw = Buffer.from(m, 'latin1');
      const theirs = await mailauthVerify(raw, { resolver } as never);
      const ours = await linearVerify(raw, { resolver });
      expect(summary(ours)).toEqual(summary(theirs));
    }
    const first = await linearVerify(Buffer.from(signed, 'latin1'), { resolver });
    expect(first.results[0]?.status.result).toBe('pass');
    expect((await linearVerify(Buffer.from(messages[1]!, 'latin1'), { resolver })).results[0]?.status.result).toBe('neutral');
    expect((await linearVerify(Buffer.from(messages[2]!, 'latin1'), { resolver })).results[0]?.status.result).toBe('fail');
  });
});

describe('in a thread that loads the checks', () => {
  let zone: ZoneServer;
  const good = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  beforeAll(async () => {
    zone = await ZoneServer.start({
      'signed.test': ['v=spf1 ip4:192.0.2.10 -all'],
      'sel._domainkey.signed.test': [`v=DKIM1; k=rsa; p=${good.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`],
      '_dmarc.signed.test': ['v=DMARC1; p=reject'],
    });
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await zone?.stop();
  });

  it("parses the sender's key once for all its messages, and a message signed with another key still fails", async () => {
    const message = async (i: number, key: crypto.KeyObject) => {
      const raw = `From: A <a@signed.test>\r\nTo: b@helpdesk.test\r\nSubject: n${i}\r\nMessage-ID: <${i}@signed.test>\r\n\r\nBody ${i}\r\n`;
      const signer = { signingDomain: 'signed.test', selector: 'sel', privateKey: key.export({ type: 'pkcs8', format: 'pem' }) };
      const { signatures } = await dkimSign(raw, { ...signer, signatureData: [signer] } as never);
      const received =
        'Return-Path: <a@signed.test>\r\nReceived: from mail.signed.test (mail.signed.test [192.0.2.10]) by mx.helpdesk.test; Mon, 1 Jun 2026 10:00:00 +0000\r\n';
      return Buffer.from(received + signatures + raw, 'latin1');
    };
    const messages = await Promise.all([0, 1, 2, 3, 4].map((i) => message(i, good.privateKey)));
    const forged = await message(5, other.privateKey);
    await jest.isolateModulesAsync(async () => {
      // a fresh module registry: the checks load after the cache, as in a pool thread
      const { authenticityOf, loadMailauth } =
        jest.requireActual<typeof import('../../../src/mail/inbound/authenticity')>('../../../src/mail/inbound/authenticity');
      await loadMailauth();
      const parsed = jest.spyOn(crypto, 'createPublicKey');
      const check = { source: 'verify' as const, dnsServers: [zone.address], mta: 'helpdesk.test' };
      for (const raw of messages) {
        const { auth } = await authenticityOf(check, raw, 'a@signed.test');
        expect(auth).toMatchObject({ summary: 'pass', dkim: { result: 'pass' }, spf: { result: 'pass' }, dmarc: { result: 'pass' } });
      }
      expect(parsed).toHaveBeenCalledTimes(1);
      const { auth } = await authenticityOf(check, forged, 'a@signed.test');
      expect(auth).toMatchObject({ dkim: { result: 'fail' } });
    });
  });
});
