/**
 * Long loops on the main thread, cut into short slices. A loop whose awaits settle at once
 * (FETCH responses imapflow already holds, the messages of a batch whose rows are written
 * at its end) runs as one chain of microtasks: it holds the event loop as long as a plain
 * synchronous loop would, and every timer, request and socket of the process waits for its
 * end. Measured in the hostile-mail benchmark: 5,000 FETCH responses of a mailbox's sizes
 * held the loop 300-500 ms in one go, a lane of 100 messages decided in memory 100+ ms.
 *
 * The slice is the process's, not each loop's: four lanes, a FETCH and a hand-over to the
 * CPU pool going on at once would otherwise take a slice each per turn of the event loop.
 */
import { performance } from 'node:perf_hooks';

/** A slice: long enough that the turns cost nothing measurable, short enough for an API request in between. */
export const SLICE_MS = 10;

/** When the event loop last got a turn from a loop here. */
let lastTurn = performance.now();
/** The turn being waited for, shared by every loop that asked. */
let next: Promise<void> | undefined;

/**
 * `await loopTurn()` at each step of a long loop: once SLICE_MS have passed since the event
 * loop last got a turn, gives it one (setImmediate: timers and I/O run first), and
 * otherwise goes on at once. Loops that wait resume together after that one turn, and the
 * first to use up the slice sends the others to the next.
 */
export function loopTurn(): Promise<void> {
  if (performance.now() - lastTurn < SLICE_MS) return Promise.resolve();
  next ??= new Promise<void>((resolve) =>
    setImmediate(() => {
      next = undefined;
      lastTurn = performance.now();
      resolve();
    }),
  );
  return next;
}
