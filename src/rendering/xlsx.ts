/**
 * Spreadsheets streamed as they are built: exceljs's streaming writer, paced so that memory
 * stays flat whatever the row count and however slowly the client reads, with text written
 * as text (never a formula), dates as Excel dates in a given time zone, and a bold, frozen,
 * filterable header row on every sheet.
 */
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { offsetMs } from '../datetime';
import type { Logger } from '../logger';

export const XLSX_CONTENT_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** The most characters an Excel cell holds. */
export const MAX_CELL_TEXT = 32_767;

/** Characters XML 1.0 cannot carry (exceljs already drops C0 controls but not these). */
const NOT_XML = /[\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** OOXML's escape syntax: `_x0041_` in a string is read as "A" unless its `_` is escaped. */
const OOXML_ESCAPE = /_(x[0-9A-Fa-f]{4}_)/g;

/** XML parsers turn a raw CR into LF; Excel writes it escaped, as `_x000D_`. */
const CR = /\r/g;

/**
 * A text cell that every spreadsheet shows as the literal text: an inline string
 * (`t="inlineStr"`), whatever it starts with (`=`, `+`, `-`, `@`, a tab, a CR), so
 * `=HYPERLINK(...)` is text and not a formula. exceljs would write a plain JS string as
 * `t="str"`, the type of a formula's cached result; a one-run rich text is the standard
 * inline string instead. A literal `_xHHHH_` and a CR are escaped the OOXML way, so they
 * read back as written. Longer text is cut at Excel's cell limit.
 */
export function textCell(value: string | null | undefined): ExcelJS.CellRichTextValue | null {
  if (value === null || value === undefined || value === '') return null;
  let text = value.length > MAX_CELL_TEXT ? value.slice(0, MAX_CELL_TEXT) : value;
  text = text.replace(NOT_XML, '\uFFFD').replace(OOXML_ESCAPE, '_x005F_$1').replace(CR, '_x000D_');
  return { richText: [{ text }] };
}

/**
 * A yes/no cell, written as the text `Yes` or `No`: a boolean cell shows as TRUE/FALSE in
 * Excel but as `1` in some columns of LibreOffice Calc, and the words read the same in
 * every spreadsheet and filter the same way.
 */
export const yesNoCell = (value: boolean | null | undefined) => textCell(value ? 'Yes' : 'No');

const QUARTER_HOUR = 15 * 60_000;

/**
 * Excel dates carry no zone: a cell shows the wall-clock time it holds. Returns a function
 * giving, for an instant, the Date whose UTC fields are the wall clock in `tz` (exceljs
 * turns a Date into a serial from its UTC time). Offsets are looked up once per quarter of
 * an hour (every time-zone change since 1970 falls on one), in a cache of bounded size.
 */
export function wallClockIn(tz: string): (at: Date | null | undefined) => Date | null {
  if (tz === 'UTC' || tz === 'Etc/UTC') return (at) => at ?? null;
  const offsets = new Map<number, number>();
  const offsetAt = (bucket: number): number => {
    let offset = offsets.get(bucket);
    if (offset === undefined) {
      offset = offsetMs(new Date(bucket * QUARTER_HOUR), tz);
      if (offsets.size >= 4096) offsets.clear();
      offsets.set(bucket, offset);
    }
    return offset;
  };
  return (at) => (at ? new Date(at.getTime() + offsetAt(Math.floor(at.getTime() / QUARTER_HOUR))) : null);
}

/** One column of a sheet. */
export interface SheetColumn {
  header: string;
  /** Width in characters. */
  width: number;
  /** Excel number format, e.g. `yyyy-mm-dd hh:mm`. */
  numFmt?: string;
  /** Horizontal alignment of the column's cells (the header's too); default: the spreadsheet's (numbers and dates right, text left). */
  align?: 'center' | 'right';
}

export const DATE_TIME_FORMAT = 'yyyy-mm-dd hh:mm';

/**
 * A sheet being written: rows go out as they are added and are never held. Call `flush`
 * between batches (it waits while the client is behind) and `close` at the end.
 */
export class StreamedSheet {
  private rows = 1;

  constructor(
    private readonly book: StreamedBook,
    private readonly sheet: ExcelJS.Worksheet,
    private readonly width: number,
  ) {}

  /** Writes one row (cells in column order). */
  add(cells: ExcelJS.CellValue[]): void {
    this.sheet.addRow(cells).commit();
    this.rows++;
  }

  /** Waits while the client is behind: call between batches, so at most about one is held. */
  flush(): Promise<void> {
    return this.book.drain(this.sheet);
  }

  /** Sets the filter over every row written and ends the sheet. */
  close(): void {
    this.sheet.autoFilter = { from: { row: 1, column: 1 }, to: { row: this.rows, column: this.width } };
    this.sheet.commit();
  }
}

/** archiver's PassThrough in front of a sheet's zip entry (readable-stream 2, hence the state fields). */
interface ZipEntryInput extends NodeJS.EventEmitter {
  _writableState: { needDrain: boolean; length: number };
}

/**
 * The pending input of a sheet's zip entry. exceljs 4.4 writes a sheet's XML into that
 * stream (archiver's PassThrough behind the sheet's StreamBuf) without heeding
 * backpressure, so a slow client would make it grow without limit; the writer waits on it
 * instead. It is internal to exceljs: a test checks it is found, so an upgrade that moves
 * it is noticed rather than silently unpaced.
 */
export function zipEntryInput(sheet: ExcelJS.Worksheet): ZipEntryInput | undefined {
  const pipes = (sheet as unknown as { stream?: { pipes?: unknown[] } }).stream?.pipes;
  const input = pipes?.[0] as Partial<ZipEntryInput> | undefined;
  return input && typeof input.once === 'function' && input._writableState ? (input as ZipEntryInput) : undefined;
}

/**
 * Sheet XML the writer may leave waiting for compression: enough for the next batch to be
 * read and built while the previous one is compressed, small enough not to matter.
 */
const ZIP_BACKLOG_BYTES = 1024 * 1024;

/** A workbook written to `out` as it is built. */
export class StreamedBook {
  constructor(
    private readonly writer: ExcelJS.stream.xlsx.WorkbookWriter,
    private readonly out: PassThrough,
    readonly signal: AbortSignal,
  ) {}

  /** Adds a sheet with a bold, frozen header row; add the next only after closing this one. */
  addSheet(name: string, columns: SheetColumn[]): StreamedSheet {
    // printed as it is read: landscape, every column on the page, the header row on each page
    const sheet = this.writer.addWorksheet(name, {
      views: [{ state: 'frozen', xSplit: 0, ySplit: 1 }],
      pageSetup: { orientation: 'landscape', fitToPage: true, fitToWidth: 1, fitToHeight: 0, printTitlesRow: '1:1' },
    });
    sheet.columns = columns.map((c) => ({
      width: c.width,
      style: { ...(c.numFmt ? { numFmt: c.numFmt } : {}), ...(c.align ? { alignment: { horizontal: c.align } } : {}) },
    }));
    const header = sheet.addRow(columns.map((c) => textCell(c.header)));
    // the workbook's default font, bold (a font with no name shows in a serif face in LibreOffice)
    header.font = { name: 'Calibri', family: 2, size: 11, bold: true };
    header.commit();
    return new StreamedSheet(this, sheet, columns.length);
  }

  /** @internal */
  async drain(sheet: ExcelJS.Worksheet): Promise<void> {
    for (;;) {
      this.signal.throwIfAborted();
      const input = zipEntryInput(sheet);
      if (input && input._writableState.length > ZIP_BACKLOG_BYTES) await once(input, 'drain', { signal: this.signal });
      else if (this.out.writableNeedDrain) await once(this.out, 'drain', { signal: this.signal });
      else return;
    }
  }
}

/** Rejects when `signal` aborts; otherwise settles as `promise` does. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  promise.catch(() => undefined); // settled below, or dropped once the client has gone
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Starts `build` on a new workbook and returns the stream of its bytes at once, for an HTTP
 * response. The client going away (the stream destroyed) stops `build` at its next
 * `flush`. An error once bytes have left can no longer become an error response: it is
 * logged and the stream destroyed, so the client sees a broken download and never a
 * truncated file that looks whole, and the process goes on.
 */
export function streamWorkbook(build: (book: StreamedBook) => Promise<void>, log: Logger): Readable {
  const out = new PassThrough();
  const gone = new AbortController();
  out.once('close', () => gone.abort(new Error('the client went away')));
  out.on('error', (err) => log.debug({ err }, 'xlsx stream closed early'));
  // inline strings, not shared ones: a shared-strings table would hold every distinct text until the end
  const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  writer.creator = 'Helpdesk';
  let failed = false;
  const fail = (err: unknown) => {
    if (failed || gone.signal.aborted) return;
    failed = true;
    log.error({ err }, 'xlsx export failed after the response began; the download was cut');
    out.destroy(err as Error);
  };
  (writer as unknown as { zip: NodeJS.EventEmitter }).zip.on('error', fail);
  const book = new StreamedBook(writer, out, gone.signal);
  void (async () => {
    try {
      await build(book);
      await abortable(writer.commit(), gone.signal);
    } catch (err) {
      if (!failed && gone.signal.aborted) log.info('xlsx export stopped: the client went away');
      else fail(err);
    }
  })();
  return out;
}
