/**
 * Latency measurement shared by the benchmarks: run a request N times at a given
 * concurrency, report median and p95 in milliseconds.
 */
export interface LatencyFigure {
  median_ms: number;
  p95_ms: number;
  requests: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

/** Times `count` calls of `request` (after `warmup` untimed ones), `concurrency` at a time. */
export async function measure(
  request: (i: number) => Promise<unknown>,
  opts: { count: number; warmup?: number; concurrency?: number },
): Promise<LatencyFigure> {
  for (let i = 0; i < (opts.warmup ?? 20); i++) await request(i);
  const times: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < opts.count) {
      const i = next++;
      const t0 = process.hrtime.bigint();
      await request(i);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 1 }, worker));
  times.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return { median_ms: round(percentile(times, 50)), p95_ms: round(percentile(times, 95)), requests: times.length };
}

/** Prints one figure as a JSON line. */
export function report(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
