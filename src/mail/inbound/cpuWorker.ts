/**
 * The entry of a CPU-pool worker thread (see cpuPool.ts): reads one raw message.
 * Buffers cross the thread boundary as plain Uint8Arrays and are made Buffers again here.
 */
import type { MessagePort } from 'node:worker_threads';
import { type AnalyzeOptions, type Analysis, analyzeMessage } from './analyze';

export interface CpuTask extends AnalyzeOptions {
  raw: Uint8Array;
  /** Told when the work starts: the deadline counts from then, not from the queue or the thread's start-up. */
  started: MessagePort;
}

export default async function readTask(task: CpuTask): Promise<Analysis> {
  task.started.postMessage('started');
  task.started.close();
  const raw = Buffer.from(task.raw.buffer, task.raw.byteOffset, task.raw.byteLength);
  return analyzeMessage(raw, task);
}
