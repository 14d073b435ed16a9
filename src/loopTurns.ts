/**
 * Long loops on the main thread, cut into short slices. A loop whose awaits settle at once
 * (FETCH responses imapflow already holds, the messages of a batch whose rows are written
 * at its end) runs as one chain of microtasks: it holds the event loop as long as a plain
 * synchronous loop would, and every timer, request and socket of the process waits for its
 * end. Measured in the hostile-mail benchmark: 5,000 FETCH responses of a mailbox's sizes
 * held the loop 300-500 ms in one go, a lane of 100 messages decided in memory 100+ ms.
 */
import { performance } from 'node:perf_hooks';

/** A slice: long enough that the turns cost nothing measurable, short enough for an API request in between. */
export const SLICE_MS = 10;

/**
 * A turn-taker for one loop: `await turn()` at each step gives the event loop a turn
 * (setImmediate: timers and I/O run first) once `sliceMs` have passed since the last one,
 * and otherwise goes on at once.
 */
export function loopTurns(sliceMs = SLICE_MS): () => Promise<void> {
  let since = performance.now();
  return () => {
    if (performance.now() - since < sliceMs) return Promise.resolve();
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        since = performance.now();
        resolve();
      }),
    );
  };
}
