/**
 * The entry of a CPU-pool worker thread (see cpuPool.ts): reads a chunk of raw messages
 * one after the other. Before each it writes the message's number (1, 2, …) into the
 * chunk's shared progress cell, which is how the pool's watchdog times each message and
 * knows which one a killed thread was reading. Buffers cross the thread boundary as plain
 * Uint8Arrays and are made Buffers again here.
 */
import { type AnalyzeOptions, type Analysis, analyzeMessage } from './analyze';

export interface CpuTask extends AnalyzeOptions {
  raws: Uint8Array[];
  /** One Int32 cell: the number of the message being read (0: none yet). */
  progress: SharedArrayBuffer;
}

export default async function readTask(task: CpuTask): Promise<Analysis[]> {
  const progress = new Int32Array(task.progress);
  const out: Analysis[] = [];
  for (const [i, bytes] of task.raws.entries()) {
    Atomics.store(progress, 0, i + 1);
    out.push(await analyzeMessage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), task));
  }
  return out;
}
