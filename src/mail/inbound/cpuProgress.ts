/**
 * The progress cell a CPU-pool thread shares with the pool's watchdog (cpuPool.ts,
 * cpuWorker.ts): one Int32 that says what the thread is doing with its chunk, so the
 * watchdog can time it and, when it kills the thread, know whose fault it was.
 * - 1, 2, …: reading that message of the chunk (timed against INBOUND_CPU_SECONDS);
 * - CHECKING: checking the authenticity of the chunk's messages, all at once so that
 *   their DNS waits overlap (timed as one step, with the DNS budget on top: see cpuPool.ts);
 * - 0: none of these (not started, or loading a library): not timed.
 */
export const CHECKING = -1;
