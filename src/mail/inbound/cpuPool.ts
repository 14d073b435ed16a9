/**
 * The CPU-heavy part of every inbound message (see analyze.ts) runs in a pool of worker
 * threads, never on the event loop that the API, the mailer and the scheduler share, and
 * under a deadline (INBOUND_CPU_SECONDS): a message that takes longer is given up, its
 * thread is killed and replaced, and the message is held for a person as `too_complex`.
 * With parsing in the pool both cores work: the main thread talks to the database while
 * the pool reads the next messages.
 *
 * Messages asked for in the same turn of the event loop go to a thread together, in
 * chunks (up to CHUNK_MESSAGES, CHUNK_BYTES): handing a thread one message at a time cost
 * as much CPU as reading it (a task, its wake-up and its reply each time). Each message
 * still has its own deadline: the thread writes the number of the message it is reading
 * into a shared cell (cpuProgress.ts), and a watchdog on the main thread times each
 * number. When it kills a thread, the message it was reading is held and the rest of its
 * chunk is read again in another thread.
 *
 * The thread then checks the authenticity of the messages whose mailbox asks for it, all
 * of the chunk's at once (their DNS waits overlap). That step is timed as a whole, with
 * the deadline plus the DNS budget of a message (dnsResolver.ts): each message's DNS
 * waits end within its budget, and they run side by side, so a DNS server that is slow or
 * silent adds at most the budget, and never gets a message held. When the watchdog kills
 * a thread in that step, which message was at fault is not known: each message of the
 * chunk is read again in a chunk of its own, where it is.
 *
 * Run from the TypeScript sources (tsx, jest), the threads load them through tsx too.
 */
import path from 'node:path';
import { Piscina } from 'piscina';
import { config } from '../../config';
import { DNS_BUDGET_MS } from '../dnsResolver';
import type { Analysis, MailPart, ReadMessage } from './analyze';
import type { AuthCheck } from './authenticity';
import { CHECKING } from './cpuProgress';
import type { CpuTask } from './cpuWorker';

/** Why a message that ran out of time (or memory) is held. */
export const TOO_COMPLEX = 'too_complex';

/** The most messages, and bytes, one task hands a thread (one message over the byte bound goes alone). */
const CHUNK_MESSAGES = 16;
const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * How much lower the threads' scheduling priority is than the main thread's (Linux `nice`,
 * per thread; through piscina's optional @napi-rs/nice, and nothing where it is missing).
 * At 10 a thread weighs about a tenth of the main thread when both want the same core, so the
 * event loop runs as soon as it has work while the threads still use every idle cycle:
 * reading mail is background work, the API and the database writes are not.
 */
const NICE_INCREMENT = 10;

let pool: Piscina | undefined;
/** Whether `pool` keeps its threads (see holdCpuPoolWarm). */
let poolIsWarm = false;
let warmHolders = 0;

function makePool(warm: boolean): Piscina {
  const fromSource = __filename.endsWith('.ts');
  const threads = config().inboundCpuThreads;
  return new Piscina({
    filename: path.join(__dirname, fromSource ? 'cpuWorker.ts' : 'cpuWorker.js'),
    execArgv: fromSource ? ['--require', require.resolve('tsx/cjs')] : [],
    // warm: the threads start now and stay; cold: they start when asked and end when idle,
    // so a one-off `mail import` or a test exits without a close
    minThreads: warm ? threads : 0,
    maxThreads: threads,
    idleTimeout: 30_000,
    // the threads give way to the event loop: with one of them per core, the loop was often
    // runnable but waiting for a core, 100-400 ms at a time, while they read (see NICE_INCREMENT)
    niceIncrement: NICE_INCREMENT,
    // a message that needs more than this is held as too complex (ERR_WORKER_OUT_OF_MEMORY), the
    // process lives on. Not lower: with 768 MB V8 sized the heap so that reading cost 25% more CPU.
    resourceLimits: { maxOldGenerationSizeMb: 2048 },
  });
}

function thePool(): Piscina {
  if (!pool) {
    poolIsWarm = warmHolders > 0;
    pool = makePool(poolIsWarm);
  }
  return pool;
}

/** Replaces the pool; the old one finishes the messages it is reading, then its threads end. */
function replacePool(warm: boolean): void {
  const old = pool;
  pool = warm ? makePool(true) : undefined;
  poolIsWarm = warm;
  void old?.close().catch(() => undefined);
}

/**
 * Keeps the pool's threads started until the returned release is called: a long-running
 * `imap` role holds it, so a message after a quiet spell does not wait for a thread to
 * start (from the TypeScript sources that took 0.6 s of CPU per thread). When the last
 * holder lets go, the threads end once idle again.
 */
export function holdCpuPoolWarm(): () => void {
  warmHolders++;
  if (!poolIsWarm) replacePool(true);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    if (--warmHolders === 0 && poolIsWarm) replacePool(false);
  };
}

/** Buffers come back from a thread as Uint8Arrays. */
const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

function revive(analysis: Analysis): Analysis {
  if (!analysis.ok) return analysis;
  const attachments: MailPart[] = analysis.message.attachments.map((a) => ({ ...a, content: asBuffer(a.content) }));
  const message: ReadMessage = { ...analysis.message, attachments };
  return { ...analysis, message };
}

/** A chunk's progress as the watchdog last saw it: the message number, since when. */
interface Watched {
  cell: Int32Array;
  seen: number;
  since: number;
  kill: () => void;
}

/**
 * Times every message being read: a chunk whose progress cell shows the same message
 * (number > 0) for longer than the deadline is killed, and one that shows CHECKING for
 * longer than the deadline plus the DNS budget. Checked ten times per deadline, so a
 * message is given up at most a tenth of the deadline late.
 */
class Watchdog {
  private readonly chunks = new Set<Watched>();
  private timer?: NodeJS.Timeout;

  watch(progress: SharedArrayBuffer, kill: () => void): () => void {
    const w: Watched = { cell: new Int32Array(progress), seen: 0, since: Date.now(), kill };
    this.chunks.add(w);
    const every = Math.min(1000, Math.max(50, (config().inboundCpuSeconds * 1000) / 10));
    this.timer ??= setInterval(() => this.check(), every).unref();
    return () => {
      this.chunks.delete(w);
      if (this.chunks.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  private check(): void {
    const deadline = config().inboundCpuSeconds * 1000;
    const t = Date.now();
    for (const w of this.chunks) {
      const at = Atomics.load(w.cell, 0);
      if (at !== w.seen) {
        w.seen = at;
        w.since = t;
      } else if (at !== 0 && t - w.since >= (at === CHECKING ? deadline + DNS_BUDGET_MS : deadline)) {
        this.chunks.delete(w);
        w.kill();
      }
    }
  }
}

const watchdog = new Watchdog();

interface Asked {
  raw: Buffer;
  check?: AuthCheck;
  resolve: (analysis: Analysis) => void;
  reject: (e: unknown) => void;
}

/** Messages asked for in this turn of the event loop, not yet handed to a thread. */
let asked: Asked[] = [];
let askedBytes = 0;
let flushQueued = false;

function flush(): void {
  flushQueued = false;
  const chunk = asked;
  asked = [];
  askedBytes = 0;
  if (chunk.length > 0) void readChunk(chunk);
}

/** Why a message whose thread was killed is held: too_complex, and what ran out (time is the plain case). */
function heldReason(checking: boolean, outOfMemory: boolean): string {
  if (!checking) return outOfMemory ? `${TOO_COMPLEX}: reading it ran out of memory` : TOO_COMPLEX;
  return `${TOO_COMPLEX}: checking its authenticity ${outOfMemory ? 'ran out of memory' : 'took too long'}`;
}

/** Reads a chunk in one thread; settles every message's promise, never rejects itself. */
async function readChunk(chunk: Asked[]): Promise<void> {
  const cfg = config();
  const progress = new SharedArrayBuffer(4);
  const deadline = new AbortController();
  const unwatch = watchdog.watch(progress, () => deadline.abort());
  const checks = chunk.some((a) => a.check) ? chunk.map((a) => a.check) : undefined;
  const task: CpuTask = { raws: chunk.map((a) => a.raw), checks, progress, maxBytes: cfg.inboundMaxBytes, mailDomain: cfg.mailDomain };
  let results: Analysis[];
  try {
    results = (await thePool().run(task, { signal: deadline.signal })) as Analysis[];
  } catch (e) {
    // the message being read when the thread was killed (over the deadline) or ran out of
    // memory is its fault: it is held; the others of its chunk are read again elsewhere.
    // Killed while checking the chunk: each message is read again on its own, to find out.
    // Any other failure of the pool is ours: every message of the chunk rejects.
    const at = Atomics.load(new Int32Array(progress), 0);
    const outOfMemory = (e as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
    if (deadline.signal.aborted || outOfMemory) {
      if (at === CHECKING && chunk.length > 1) {
        await Promise.all(chunk.map((a) => readChunk([a])));
        return;
      }
      const culprit = at === CHECKING ? 0 : at - 1;
      if (culprit >= 0 && culprit < chunk.length) {
        chunk[culprit]!.resolve({ ok: false, reason: heldReason(at === CHECKING, outOfMemory) });
        const rest = chunk.filter((_, i) => i !== culprit);
        if (rest.length > 0) await readChunk(rest);
        return;
      }
    }
    for (const a of chunk) a.reject(e);
    return;
  } finally {
    unwatch();
  }
  chunk.forEach((a, i) => a.resolve(revive(results[i]!)));
}

/**
 * Reads `raw` in the pool, and checks its authenticity per `check` (authCheckOf; none:
 * nothing is checked). Resolves with the analysis, or with `{ok: false, reason:
 * 'too_complex…'}` when reading or checking it takes longer than the deadline or more
 * memory than a thread has. Other errors of the pool itself (a thread that died) reject.
 */
export function readInPool(raw: Buffer, check?: AuthCheck): Promise<Analysis> {
  return new Promise((resolve, reject) => {
    asked.push({ raw, check, resolve, reject });
    askedBytes += raw.length;
    if (asked.length >= CHUNK_MESSAGES || askedBytes >= CHUNK_BYTES) flush();
    else if (!flushQueued) {
      flushQueued = true;
      setImmediate(flush);
    }
  });
}

/** How many threads the pool has now. */
export function cpuPoolThreads(): number {
  return pool?.threads.length ?? 0;
}

/** Ends the pool's threads (a stopping process). */
export async function closeCpuPool(): Promise<void> {
  const p = pool;
  pool = undefined;
  poolIsWarm = false;
  await p?.destroy();
}
