/**
 * Runs one exported function of a source module in a worker thread, so that a test can
 * give up on code that never yields: jest's timeout cannot interrupt synchronous work on
 * the test's own thread (the test just passes late), but it does fail a test whose
 * promise has not settled in time.
 */
import { Worker } from 'node:worker_threads';

const running = new Set<Worker>();

/** `require(modulePath)[exportName](...args)` in a fresh thread (TypeScript through tsx). */
export function inThread<T>(modulePath: string, exportName: string, ...args: unknown[]): Promise<T> {
  const worker = new Worker(
    `const { parentPort, workerData: w } = require('node:worker_threads');
     parentPort.postMessage(require(w.modulePath)[w.exportName](...w.args));`,
    { eval: true, workerData: { modulePath, exportName, args }, execArgv: ['--require', require.resolve('tsx/cjs')] },
  );
  running.add(worker);
  worker.once('exit', () => running.delete(worker));
  return new Promise<T>((resolve, reject) => {
    worker.once('message', (value) => {
      resolve(value as T);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

/** Ends the threads still working (those of tests that timed out); for afterAll. */
export async function stopThreads(): Promise<void> {
  await Promise.all([...running].map((w) => w.terminate()));
}
