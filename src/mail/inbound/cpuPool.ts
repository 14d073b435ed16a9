/**
 * The CPU-heavy part of every inbound message (see analyze.ts) runs in a pool of worker
 * threads, never on the event loop that the API, the mailer and the scheduler share, and
 * under a deadline (INBOUND_CPU_SECONDS): a message that takes longer is given up, its
 * thread is killed and replaced, and the message is held for a person as `too_complex`.
 * With parsing in the pool both cores work: the main thread talks to the database while
 * the pool reads the next messages.
 *
 * Run from the TypeScript sources (tsx, jest), the threads load them through tsx too.
 */
import path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { config } from '../../config';
import type { Analysis, MailPart, ReadMessage } from './analyze';
import type { CpuTask } from './cpuWorker';

/** Why a message that ran out of time is held. */
export const TOO_COMPLEX = 'too_complex';

let pool: Piscina | undefined;

function thePool(): Piscina {
  if (pool) return pool;
  const fromSource = __filename.endsWith('.ts');
  pool = new Piscina({
    filename: path.join(__dirname, fromSource ? 'cpuWorker.ts' : 'cpuWorker.js'),
    execArgv: fromSource ? ['--require', require.resolve('tsx/cjs')] : [],
    minThreads: 0,
    maxThreads: config().inboundCpuThreads,
    // threads end when idle, so a one-off `mail import` or a test exits without a close
    idleTimeout: 30_000,
    // a message that needs more than this is held as too complex (ERR_WORKER_OUT_OF_MEMORY), the process lives on
    resourceLimits: { maxOldGenerationSizeMb: 768 },
  });
  return pool;
}

/** Buffers come back from a thread as Uint8Arrays. */
const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

function revive(message: ReadMessage): ReadMessage {
  const attachments: MailPart[] = message.attachments.map((a) => ({ ...a, content: asBuffer(a.content) }));
  return { ...message, attachments };
}

/**
 * Reads `raw` in the pool. Resolves with the analysis, or with `{ok: false, reason:
 * 'too_complex'}` when it takes longer than the deadline. Other errors of the pool itself
 * (a thread that died) reject.
 */
export async function readInPool(raw: Buffer): Promise<Analysis> {
  const cfg = config();
  const { port1, port2 } = new MessageChannel();
  const task: CpuTask = { raw, maxBytes: cfg.inboundMaxBytes, mailDomain: cfg.mailDomain, started: port2 };
  // the deadline starts when a thread starts the work (not while it waits in the queue)
  const deadline = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  port1.once('message', () => {
    timer = setTimeout(() => deadline.abort(), cfg.inboundCpuSeconds * 1000);
    port1.close();
  });
  try {
    const result = (await thePool().run(task, { signal: deadline.signal, transferList: [port2] })) as Analysis;
    return result.ok ? { ...result, message: revive(result.message) } : result;
  } catch (e) {
    if (deadline.signal.aborted) return { ok: false, reason: TOO_COMPLEX };
    throw e;
  } finally {
    clearTimeout(timer);
    port1.close();
  }
}

/** Ends the pool's threads (a stopping process). */
export async function closeCpuPool(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.destroy();
}
