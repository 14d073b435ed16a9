/**
 * The entry of a CPU-pool worker thread (see cpuPool.ts): reads a chunk of raw messages
 * one after the other. Before each it writes the message's number (1, 2, …) into the
 * chunk's shared progress cell (cpuProgress.ts), which is how the pool's watchdog times
 * each message and knows which one a killed thread was reading. Then it checks the
 * authenticity of the messages read whose mailbox asks for it (authenticity.ts), all of
 * them at once, so that their DNS waits overlap. Buffers cross the thread boundary as
 * plain Uint8Arrays and are made Buffers again here.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { type AnalyzeOptions, type Analysis, analyzeMessage } from './analyze';
import { type AuthCheck, authenticityOf, loadMailauth } from './authenticity';
import { CHECKING } from './cpuProgress';

export interface CpuTask extends AnalyzeOptions {
  raws: Uint8Array[];
  /** What to check of each message (by index), for its mailbox; none: its mailbox's authenticity is off. */
  checks?: (AuthCheck | undefined)[];
  /** One Int32 cell (cpuProgress.ts). */
  progress: SharedArrayBuffer;
}

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Adds each verdict to its message's analysis; a message that was not read is not checked. */
async function checkAuthenticity(task: CpuTask, out: Analysis[], progress: Int32Array): Promise<void> {
  const checks = task.checks ?? [];
  const wanted = out.flatMap((a, i) => (a.ok && checks[i] ? [{ a, i, check: checks[i] }] : []));
  if (wanted.length === 0) return;
  if (wanted.some((w) => w.check.source === 'verify')) {
    Atomics.store(progress, 0, 0);
    await loadMailauth();
  }
  Atomics.store(progress, 0, CHECKING);
  await Promise.all(
    wanted.map(async ({ a, i, check }) => {
      const checked = await authenticityOf(check, asBuffer(task.raws[i]!), a.message.from?.address);
      a.auth = checked.auth;
      if (checked.error) a.authError = checked.error;
    }),
  );
}

/** Attachments at least this big are handed over to the main thread rather than copied. */
const MOVE_BYTES = 64 * 1024;

/**
 * The analyses, with the memory of each large attachment that owns all of its
 * ArrayBuffer handed over to the main thread instead of copied: a 25 MB message's
 * attachments were otherwise held twice, here and there. Smaller ones, and slices of
 * shared memory (Buffer's pool), are copied as before.
 */
function handedOver(out: Analysis[]) {
  const moved = new Set<ArrayBuffer>();
  for (const a of out) {
    if (!a.ok) continue;
    for (const { content } of a.message.attachments) {
      const whole = content.byteOffset === 0 && content.byteLength === content.buffer.byteLength;
      if (whole && content.byteLength >= MOVE_BYTES && content.buffer instanceof ArrayBuffer) moved.add(content.buffer);
    }
  }
  return move({ [transferableSymbol]: [...moved], [valueSymbol]: out });
}

export default async function readTask(task: CpuTask) {
  const progress = new Int32Array(task.progress);
  const out: Analysis[] = [];
  for (const [i, bytes] of task.raws.entries()) {
    Atomics.store(progress, 0, i + 1);
    out.push(await analyzeMessage(asBuffer(bytes), task));
  }
  await checkAuthenticity(task, out, progress);
  return handedOver(out);
}
