/**
 * `BENCH_CPU_PROFILE=file.cpuprofile`: a CPU profile of one measured phase only (not the
 * setup around it), to open in Chrome's DevTools.
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';

export async function profiled<T>(phase: () => Promise<T>): Promise<T> {
  const file = process.env.BENCH_CPU_PROFILE;
  if (!file) return phase();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await phase();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}
