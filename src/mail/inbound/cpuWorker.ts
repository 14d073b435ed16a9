/**
 * The entry of a CPU-pool worker thread (see cpuPool.ts): reads one raw message.
 * Buffers cross the thread boundary as plain Uint8Arrays and are made Buffers again here.
 */
import { type AnalyzeOptions, type Analysis, analyzeMessage } from './analyze';

export interface CpuTask extends AnalyzeOptions {
  raw: Uint8Array;
}

export default async function readTask(task: CpuTask): Promise<Analysis> {
  const raw = Buffer.from(task.raw.buffer, task.raw.byteOffset, task.raw.byteLength);
  return analyzeMessage(raw, task);
}
