/**
 * The Excel export of a customer's tickets (issue 12): one sheet of tickets and, on
 * request, one of their time segments. Rows are read in keyset-paged batches (by id, on
 * the `(ticketable_id, id)` index) and written out as they come, so neither the rows nor
 * the workbook are ever held whole. Batches are separate queries, not one snapshot: a
 * download as slow as its client holds no connection or transaction open meanwhile.
 */
import type { Readable } from 'node:stream';
import type ExcelJS from 'exceljs';
import type { Knex } from 'knex';
import { now } from '../../clock';
import { localDate } from '../../datetime';
import { conn } from '../../db/transaction';
import { logger as rootLogger, type Logger } from '../../logger';
import { Customer } from '../../models/Customer';
import type { TimeSegmentKind } from '../../models/TimeSegment';
import { DATE_TIME_FORMAT, type SheetColumn, type StreamedBook, streamWorkbook, textCell, wallClockIn, yesNoCell } from '../../rendering/xlsx';
import { getSettings } from '../config/settings';
import { found } from '../lookup';

const CUSTOMER = 'App\\Customer';

/** Rows per query. */
export const EXPORT_BATCH_SIZE = 500;

export const TICKET_COLUMNS: SheetColumn[] = [
  { header: 'Number', width: 10 },
  { header: 'Subject', width: 60 },
  { header: 'Status', width: 18 },
  { header: 'Priority', width: 12 },
  { header: 'Category', width: 22 },
  { header: 'Team', width: 20 },
  { header: 'Assignee', width: 24 },
  { header: 'Opened', width: 17, numFmt: DATE_TIME_FORMAT, align: 'right' },
  { header: 'Closed', width: 17, numFmt: DATE_TIME_FORMAT, align: 'right' },
  { header: 'Time (min)', width: 11, numFmt: '0', align: 'right' },
  { header: 'Points', width: 9, numFmt: '0.00', align: 'right' },
  { header: 'Billable', width: 9, align: 'center' },
  { header: 'Billed', width: 9, align: 'center' },
];

export const SEGMENT_COLUMNS: SheetColumn[] = [
  { header: 'Ticket', width: 10 },
  { header: 'User', width: 24 },
  { header: 'Kind', width: 10 },
  { header: 'Started', width: 17, numFmt: DATE_TIME_FORMAT, align: 'right' },
  { header: 'Ended', width: 17, numFmt: DATE_TIME_FORMAT, align: 'right' },
  { header: 'Minutes', width: 9, numFmt: '0', align: 'right' },
  { header: 'Billable', width: 9, align: 'center' },
  { header: 'Note', width: 60 },
];

interface TicketRow {
  id: number;
  number: string;
  subject: string;
  status: string | null;
  priority: string | null;
  category: string | null;
  team: string | null;
  assignee: string | null;
  opened_at: Date;
  closed_at: Date | null;
  time: number;
  points: string | number;
  billable: boolean;
  billed: boolean;
}

interface SegmentRow {
  id: number;
  ticket_id: number;
  user: string | null;
  kind: TimeSegmentKind;
  started_at: Date | null;
  ended_at: Date | null;
  minutes: number;
  billable: boolean;
  note: string | null;
}

type LocalTime = ReturnType<typeof wallClockIn>;

function customerTickets(db: Knex, customerId: number, afterId: number, size: number) {
  return db('tickets as t').where({ 't.ticketable_type': CUSTOMER, 't.ticketable_id': customerId }).where('t.id', '>', afterId).orderBy('t.id').limit(size);
}

function ticketBatch(db: Knex, customerId: number, afterId: number, size: number): Promise<TicketRow[]> {
  return customerTickets(db, customerId, afterId, size)
    .leftJoin('ticket_statuses as st', 'st.id', 't.status_id')
    .leftJoin('priorities as p', 'p.id', 't.priority_id')
    .leftJoin('ticket_categories as c', 'c.id', 't.ticket_category_id')
    .leftJoin('support_teams as tm', 'tm.id', 't.team_id')
    .leftJoin('users as u', 'u.id', 't.assignee_id')
    .select(
      't.id',
      't.number',
      't.subject',
      'st.name as status',
      'p.name as priority',
      'c.name as category',
      'tm.name as team',
      'u.name as assignee',
      't.closed_at',
      't.time',
      't.points',
      't.billable',
      't.billed',
      // a ticket without opened_at (older data) was opened when it was created, as the insights count it
      db.raw('coalesce(t.opened_at, t.created_at) as opened_at'),
    );
}

/** Segments of the given tickets after `(ticketId, id)`, in ticket then segment order. */
function segmentBatch(db: Knex, ticketIds: number[], after: [number, number], size: number): Promise<SegmentRow[]> {
  return db('time_segments as s')
    .leftJoin('users as u', 'u.id', 's.user_id')
    .whereRaw('s.ticket_id = any(?::int[])', [ticketIds])
    .whereRaw('(s.ticket_id, s.id) > (?, ?)', after)
    .orderBy([{ column: 's.ticket_id' }, { column: 's.id' }])
    .limit(size)
    .select('s.id', 's.ticket_id', 'u.name as user', 's.kind', 's.started_at', 's.ended_at', 's.minutes', 's.billable', 's.note');
}

function ticketCells(t: TicketRow, local: LocalTime): ExcelJS.CellValue[] {
  return [
    textCell(t.number),
    textCell(t.subject),
    textCell(t.status),
    textCell(t.priority),
    textCell(t.category),
    textCell(t.team),
    textCell(t.assignee),
    local(t.opened_at),
    local(t.closed_at),
    t.time,
    Number(t.points),
    yesNoCell(t.billable),
    yesNoCell(t.billed),
  ];
}

function segmentCells(s: SegmentRow, ticketNumber: string, local: LocalTime): ExcelJS.CellValue[] {
  return [
    textCell(ticketNumber),
    textCell(s.user),
    textCell(s.kind),
    local(s.started_at),
    local(s.ended_at),
    s.minutes,
    yesNoCell(s.billable),
    textCell(s.note),
  ];
}

interface Plan {
  db: Knex;
  customerId: number;
  first: TicketRow[];
  withSegments: boolean;
  local: LocalTime;
  size: number;
}

/** The tickets sheet; returns the last ticket id written (0 for none). */
async function writeTickets(book: StreamedBook, plan: Plan): Promise<number> {
  const sheet = book.addSheet('Tickets', TICKET_COLUMNS);
  let batch = plan.first;
  let lastId = 0;
  while (batch.length) {
    for (const t of batch) sheet.add(ticketCells(t, plan.local));
    lastId = batch[batch.length - 1]!.id;
    await sheet.flush();
    batch = batch.length < plan.size ? [] : await ticketBatch(plan.db, plan.customerId, lastId, plan.size);
  }
  sheet.close();
  return lastId;
}

/** The segments sheet, for the tickets up to `lastId` (those of the tickets sheet). */
async function writeSegments(book: StreamedBook, plan: Plan, lastId: number): Promise<void> {
  const sheet = book.addSheet('Time segments', SEGMENT_COLUMNS);
  let afterTicket = 0;
  while (afterTicket < lastId) {
    const tickets: { id: number; number: string }[] = await customerTickets(plan.db, plan.customerId, afterTicket, plan.size)
      .where('t.id', '<=', lastId)
      .select('t.id', 't.number');
    if (!tickets.length) break;
    const numbers = new Map(tickets.map((t) => [t.id, t.number]));
    let after: [number, number] = [0, 0];
    for (;;) {
      const segments = await segmentBatch(plan.db, [...numbers.keys()], after, plan.size);
      for (const s of segments) sheet.add(segmentCells(s, numbers.get(s.ticket_id)!, plan.local));
      await sheet.flush();
      if (segments.length < plan.size) break;
      const last = segments[segments.length - 1]!;
      after = [last.ticket_id, last.id];
    }
    afterTicket = tickets.length < plan.size ? lastId : tickets[tickets.length - 1]!.id;
  }
  sheet.close();
}

/**
 * `tickets-<customer>-<Y-m-d>.xlsx`: the customer's name with what a file name cannot hold
 * (path and reserved characters, controls, bidi and other format characters) made into
 * dashes, at most 60 characters; the id when nothing is left.
 */
export function exportFilename(customer: Pick<Customer, 'id' | 'name'>, day: string): string {
  const cleaned = customer.name
    .normalize('NFC')
    .replace(/[\\/:*?"<>|\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ')
    .trim()
    .replace(/\s+/g, '-');
  const slug = [...cleaned]
    .slice(0, 60)
    .join('')
    .replace(/^[-.]+|[-.]+$/g, '');
  return `tickets-${slug || customer.id}-${day}.xlsx`;
}

export interface TicketExport {
  filename: string;
  /** The workbook's bytes, produced as they are read; destroy it to stop the export. */
  stream: Readable;
}

/**
 * Starts the export of a customer's tickets. The customer (404 when unknown), the settings
 * and the first batch are read before the stream is returned, so those failures are still
 * ordinary error responses; later ones cut the download and are logged on `log`.
 */
export async function exportTickets(opts: { customerId: number; withSegments?: boolean; log?: Logger; batchSize?: number }, trx?: Knex): Promise<TicketExport> {
  const db = conn(trx);
  const customer = found(await Customer.query(db).findById(opts.customerId).select('id', 'name'), 'customer', opts.customerId);
  const { timezone } = await getSettings(trx);
  const size = opts.batchSize ?? EXPORT_BATCH_SIZE;
  const plan: Plan = {
    db,
    customerId: customer.id,
    first: await ticketBatch(db, customer.id, 0, size),
    withSegments: opts.withSegments ?? false,
    local: wallClockIn(timezone),
    size,
  };
  const log = (opts.log ?? rootLogger).child({ customer_id: customer.id, export: 'tickets' });
  const stream = streamWorkbook(async (book) => {
    const lastId = await writeTickets(book, plan);
    if (plan.withSegments) await writeSegments(book, plan, lastId);
  }, log);
  return { filename: exportFilename(customer, localDate(now(), timezone)), stream };
}
