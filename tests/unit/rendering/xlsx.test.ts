import { PassThrough } from 'node:stream';
import ExcelJS from 'exceljs';
import type { Logger } from '../../../src/logger';
import { MAX_CELL_TEXT, streamWorkbook, textCell, wallClockIn, zipEntryInput } from '../../../src/rendering/xlsx';
import { exportFilename } from '../../../src/services/tickets/exportTickets';

const textOf = (v: string) => textCell(v)!.richText[0]!.text;

describe('textCell', () => {
  it('leaves no cell for nothing', () => {
    expect(textCell(null)).toBeNull();
    expect(textCell(undefined)).toBeNull();
    expect(textCell('')).toBeNull();
  });

  it('keeps formula-looking text as it is, as an inline string', () => {
    for (const v of ['=HYPERLINK("http://x","y")', '+1', '-2', '@SUM(A1)', '\t=1', '=cmd|"/c calc"!A1']) {
      expect(textCell(v)).toEqual({ richText: [{ text: v }] });
    }
  });

  it('escapes what a reader would otherwise change: _xHHHH_ and CR', () => {
    expect(textOf('a_x0041_b')).toBe('a_x005F_x0041_b');
    expect(textOf('\r=1\r\n')).toBe('_x000D_=1_x000D_\n');
    expect(textOf('_x12_ stays')).toBe('_x12_ stays');
  });

  it('replaces what XML cannot carry and cuts at the cell limit', () => {
    expect(textOf('a\uD800b\uFFFFc')).toBe('a\uFFFDb\uFFFDc');
    expect(textOf('😀')).toBe('😀');
    expect(textOf('x'.repeat(MAX_CELL_TEXT + 10))).toHaveLength(MAX_CELL_TEXT);
    // a pair cut in half is not left as a lone surrogate
    expect(textOf(`${'x'.repeat(MAX_CELL_TEXT - 1)}😀`).endsWith('\uFFFD')).toBe(true);
  });
});

describe('wallClockIn', () => {
  const iso = (tz: string, at: string) => wallClockIn(tz)(new Date(at))!.toISOString();

  it('gives the wall clock of the zone as UTC fields', () => {
    expect(iso('UTC', '2026-07-01T12:00:00Z')).toBe('2026-07-01T12:00:00.000Z');
    expect(iso('Europe/Paris', '2026-01-15T12:00:00Z')).toBe('2026-01-15T13:00:00.000Z');
    expect(iso('Europe/Paris', '2026-07-01T12:00:00.250Z')).toBe('2026-07-01T14:00:00.250Z');
    expect(iso('Asia/Kathmandu', '2026-07-01T12:00:00Z')).toBe('2026-07-01T17:45:00.000Z');
    expect(iso('America/New_York', '2026-01-01T02:00:00Z')).toBe('2025-12-31T21:00:00.000Z');
  });

  it('follows daylight saving changes to the second, with one cache', () => {
    const paris = wallClockIn('Europe/Paris');
    expect(paris(new Date('2026-03-29T00:59:59Z'))!.toISOString()).toBe('2026-03-29T01:59:59.000Z');
    expect(paris(new Date('2026-03-29T01:00:00Z'))!.toISOString()).toBe('2026-03-29T03:00:00.000Z');
    expect(paris(new Date('2026-10-25T00:59:59Z'))!.toISOString()).toBe('2026-10-25T02:59:59.000Z');
    expect(paris(new Date('2026-10-25T01:00:00Z'))!.toISOString()).toBe('2026-10-25T02:00:00.000Z');
    expect(paris(null)).toBeNull();
  });
});

describe('exportFilename', () => {
  const day = '2026-12-02';

  it('names the customer, made safe for a file name', () => {
    expect(exportFilename({ id: 7, name: 'Acme Corp' }, day)).toBe('tickets-Acme-Corp-2026-12-02.xlsx');
    expect(exportFilename({ id: 7, name: '  ../../etc/passwd  ' }, day)).toBe('tickets-etc-passwd-2026-12-02.xlsx');
    expect(exportFilename({ id: 7, name: 'Évian\u202Egpj.exe' }, day)).toBe('tickets-Évian-gpj.exe-2026-12-02.xlsx');
    expect(exportFilename({ id: 7, name: 'a\tb\u0000c:d' }, day)).toBe('tickets-a-b-c-d-2026-12-02.xlsx');
    expect(exportFilename({ id: 7, name: '東京 株式会社' }, day)).toBe('tickets-東京-株式会社-2026-12-02.xlsx');
  });

  it('falls back to the id and bounds the length', () => {
    expect(exportFilename({ id: 7, name: '///' }, day)).toBe('tickets-7-2026-12-02.xlsx');
    expect(exportFilename({ id: 7, name: 'x'.repeat(300) }, day)).toBe(`tickets-${'x'.repeat(60)}-2026-12-02.xlsx`);
  });
});

describe('streamWorkbook pacing', () => {
  it('finds the zip entry input of an exceljs 4.4 sheet (what the writer waits on)', () => {
    const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: new PassThrough() });
    expect(zipEntryInput(writer.addWorksheet('a'))).toBeDefined();
  });

  it('holds the writer back while nobody reads, and stops when the stream is destroyed', async () => {
    const log = { error: jest.fn(), info: jest.fn(), debug: jest.fn() };
    let rows = 0;
    const stream = streamWorkbook(
      async (book) => {
        const sheet = book.addSheet('Rows', [{ header: 'Text', width: 40 }]);
        for (;;) {
          for (let i = 0; i < 200; i++) sheet.add([textCell(`row ${rows++} ${Math.random().toString(36)}`)]);
          await sheet.flush();
        }
      },
      log as unknown as Logger,
    );
    await new Promise((r) => setTimeout(r, 300));
    const held = rows;
    await new Promise((r) => setTimeout(r, 200));
    expect(rows).toBe(held);
    expect(held).toBeLessThan(20_000);
    stream.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(log.info).toHaveBeenCalledTimes(1);
    expect(log.error).not.toHaveBeenCalled();
  });
});
