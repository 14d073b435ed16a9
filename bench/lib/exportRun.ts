/**
 * The Excel export measured: the process's peak RSS while a phase runs, the floor
 * (exceljs's streaming writer alone writing rows made in memory into a sink), and the
 * export read over HTTP as it comes. Shared by the export and reports benchmarks.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import { textCell, yesNoCell } from '../../src/rendering/xlsx';
import { secret } from '../../src/secret';
import { TICKET_COLUMNS } from '../../src/services/tickets/exportTickets';

const MB = 1024 * 1024;

/** Samples RSS while `work` runs: its peak, and the RSS it started from. */
export async function withPeakRss<T>(
  work: () => Promise<T>,
): Promise<{ result: T; seconds: number; cpu_seconds: number; rss_start_mb: number; peak_rss_mb: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return {
      result,
      seconds: Math.round(Number(process.hrtime.bigint() - t0) / 1e6) / 1000,
      cpu_seconds: cpuSeconds(process.cpuUsage(cpu0)),
      rss_start_mb: Math.round(start / MB),
      peak_rss_mb: Math.round(peak / MB),
    };
  } finally {
    clearInterval(timer);
  }
}

/** Counts what is written to it and keeps nothing. */
function sink(): Writable & { bytes: number } {
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      w.bytes += chunk.length;
      done();
    },
  }) as Writable & { bytes: number };
  w.bytes = 0;
  return w;
}

/** The floor: the streaming writer alone, same options, same columns and cell types, no database, no HTTP. */
export async function writerAlone(rows: number): Promise<number> {
  const out = sink();
  const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  const sheet = writer.addWorksheet('Tickets', { views: [{ state: 'frozen', xSplit: 0, ySplit: 1 }] });
  sheet.columns = TICKET_COLUMNS.map((c) => ({ width: c.width, ...(c.numFmt ? { style: { numFmt: c.numFmt } } : {}) }));
  const header = sheet.addRow(TICKET_COLUMNS.map((c) => c.header));
  header.font = { bold: true };
  header.commit();
  const opened = new Date();
  for (let g = 1; g <= rows; g++) {
    sheet
      .addRow([
        textCell('ABC234'),
        textCell(`Printer on floor ${g % 7} does not print, ticket ${g}`),
        textCell('In progress'),
        textCell('Normal'),
        textCell('General'),
        textCell('Bench team'),
        textCell('Bench Agent'),
        opened,
        g % 4 === 0 ? opened : null,
        g % 240,
        (g % 240) / 60,
        yesNoCell(g % 5 !== 0),
        yesNoCell(g % 8 === 0),
      ])
      .commit();
    if (g % 500 === 0) await new Promise(setImmediate); // as the export yields between batches
  }
  sheet.autoFilter = { from: { row: 1, column: 1 }, to: { row: rows + 1, column: TICKET_COLUMNS.length } };
  sheet.commit();
  await writer.commit();
  return out.bytes;
}

export function exportOver(port: number, path: string, token: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'PUT', headers: { Authorization: `Bearer ${token}` } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export function exportFigures(run: { seconds: number; cpu_seconds: number; rss_start_mb: number; peak_rss_mb: number }, rows: number) {
  return {
    seconds: run.seconds,
    cpu_seconds: run.cpu_seconds,
    rows_per_s: Math.round(rows / run.seconds),
    rss_start_mb: run.rss_start_mb,
    peak_rss_mb: run.peak_rss_mb,
    peak_rss_growth_mb: run.peak_rss_mb - run.rss_start_mb,
  };
}

function cpuSeconds(used: NodeJS.CpuUsage): number {
  return Math.round((used.user + used.system) / 1000) / 1000;
}

/** A `/proc/<pid>/status` figure in MB (`VmRSS`, `VmHWM`: the peak). */
function procMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Math.round(Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) / 1024);
}

/**
 * The export as a server does it: `helpdesk start --roles api` in a process of its own on
 * `databaseUrl`, the response read here as it comes. The server's peak RSS is the kernel's
 * own (`VmHWM`), reset after the start-up and a warm-up export of `warmPath`, so it is the
 * export's and nothing of this process (its client, the floor) counts.
 */
export async function exportInApiProcess(databaseUrl: string, exportPath: string, warmPath: string, token: string) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'helpdesk-bench-'));
  // this process's secret, so the token made here holds there too
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    HELPDESK_SECRET: secret(),
    PORT: '0',
    HELPDESK_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
  };
  const child = spawn(process.execPath, [path.resolve(__dirname, '../../bin/helpdesk'), 'start', '--roles', 'api', '--no-migrate'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the api role did not start: ${output}`)), 60_000);
      const check = () => {
        const m = /API http:\/\/127\.0\.0\.1:(\d+)\/api/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        } else if (child.exitCode !== null) reject(new Error(`the api role exited: ${output}`));
        else setTimeout(check, 50);
      };
      check();
    });
    await exportOver(port, warmPath, token);
    const pid = child.pid!;
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the RSS now
    const start = procMb(pid, 'VmRSS');
    const t0 = process.hrtime.bigint();
    const result = await exportOver(port, exportPath, token);
    const seconds = Math.round(Number(process.hrtime.bigint() - t0) / 1e6) / 1000;
    return { result, seconds, server_rss_start_mb: start, server_peak_rss_mb: procMb(pid, 'VmHWM') };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
