import http from 'node:http';
import type { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import Koa from 'koa';
import supertest from 'supertest';
import { localDate } from '../../../src/datetime';
import { db } from '../../../src/db/knex';
import type { Logger } from '../../../src/logger';
import { streamWorkbook } from '../../../src/rendering/xlsx';
import { updateSettings } from '../../../src/services/config/settings';
import { SEGMENT_COLUMNS, TICKET_COLUMNS, exportTickets } from '../../../src/services/tickets/exportTickets';
import { api, makeCustomer, makeTicket, useStaff } from '../../helpers/factories';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { waitFor } from '../../helpers/waitFor';

useTestDatabase();
const staff = useStaff();

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const FORMULA_LIKE = ['=HYPERLINK("http://x","y")', '+1', '-2', '@SUM(A1)'];

beforeAll(async () => {
  // Excel dates are wall-clock times: these tests read them in New York (UTC-5 / UTC-4)
  await updateSettings({ timezone: 'America/New_York' });
});

/** supertest collecting a binary body into a Buffer. */
function binary(res: unknown, done: (err: Error | null, body: Buffer) => void): void {
  const stream = res as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
}

async function load(bytes: Buffer): Promise<ExcelJS.Workbook> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(bytes as unknown as Parameters<ExcelJS.Xlsx['load']>[0]);
  return workbook;
}

async function download(path: string) {
  const res = await api().put(path).set(staff.agent.auth).buffer(true).parse(binary).expect(200);
  return { res, workbook: await load(res.body as Buffer) };
}

async function readStream(stream: Readable): Promise<ExcelJS.Workbook> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return load(Buffer.concat(chunks));
}

function rowsOf(sheet: ExcelJS.Worksheet): ExcelJS.Row[] {
  const rows: ExcelJS.Row[] = [];
  sheet.eachRow((row, n) => n > 1 && rows.push(row));
  return rows;
}

function headerOf(sheet: ExcelJS.Worksheet): string[] {
  const row = sheet.getRow(1);
  return Array.from({ length: row.cellCount }, (_, i) => row.getCell(i + 1).text);
}

describe('PUT /api/v1/tickets/export/{customer_id}', () => {
  it('streams the customer’s tickets as a workbook: headers, Excel dates in the configured zone, text as text', async () => {
    const customer = await makeCustomer({ name: 'Acme "Ünïcode" / Ltd' });
    const other = await makeCustomer();
    await makeTicket({ agent: staff.agent, customer: other, subject: 'not theirs' });
    const tickets = [];
    for (const subject of [...FORMULA_LIKE, 'A plain subject']) tickets.push(await makeTicket({ agent: staff.agent, customer, subject }));
    // characters the API never lets in, written straight to the database
    await db()('tickets').where({ id: tickets[1]!.id }).update({ subject: '\t=1+1' });
    await db()('tickets').where({ id: tickets[2]!.id }).update({ subject: '\r-2 _x0041_' });
    const [team] = await db()('support_teams').insert({ name: '=Team' }).returning('id');
    await db()('tickets')
      .where({ id: tickets[4]!.id })
      .update({
        opened_at: new Date('2026-07-01T12:00:00Z'),
        closed_at: new Date('2026-01-15T12:00:00Z'),
        open: false,
        time: 95,
        points: 1.5,
        billable: false,
        billed: true,
        team_id: team.id,
      });

    const { res, workbook } = await download(`/api/v1/tickets/export/${customer.id}`);
    expect(res.headers['content-type']).toBe(XLSX);
    const day = localDate(new Date(), 'America/New_York');
    expect(res.headers['content-disposition']).toBe(
      `attachment; filename="tickets-Acme-_n_code-Ltd-${day}.xlsx"; filename*=UTF-8''tickets-Acme-%C3%9Cn%C3%AFcode-Ltd-${day}.xlsx`,
    );
    expect(res.headers['cache-control']).toBe('private, no-store');

    expect(workbook.worksheets.map((w) => w.name)).toEqual(['Tickets']);
    const sheet = workbook.getWorksheet('Tickets')!;
    expect(headerOf(sheet)).toEqual(TICKET_COLUMNS.map((c) => c.header));
    expect(headerOf(sheet)).toEqual([
      'Number',
      'Subject',
      'Status',
      'Priority',
      'Category',
      'Team',
      'Assignee',
      'Opened',
      'Closed',
      'Time (min)',
      'Points',
      'Billable',
      'Billed',
    ]);
    expect(sheet.getRow(1).getCell(1).font?.bold).toBe(true);
    expect(sheet.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(sheet.autoFilter).toBe('A1:M6');
    expect(sheet.getColumn(2).width).toBe(60);

    const rows = rowsOf(sheet);
    expect(rows.map((r) => r.getCell(1).text)).toEqual(tickets.map((t) => t.number));
    const subjects = ['=HYPERLINK("http://x","y")', '\t=1+1', '\r-2 _x0041_', '@SUM(A1)', 'A plain subject'];
    rows.forEach((row, i) => {
      const cell = row.getCell(2);
      expect(cell.text).toBe(subjects[i]);
      // an inline string (t="inlineStr"): neither a formula nor a formula's cached text (t="str")
      expect(cell.type).toBe(ExcelJS.ValueType.RichText);
      expect(cell.formula).toBeUndefined();
    });

    const last = rows[4]!;
    expect(last.getCell(3).text).toBe('New');
    expect(last.getCell(5).text).toBe('General');
    expect(last.getCell(4).text).toBe('Normal');
    expect(last.getCell(6).text).toBe('=Team');
    expect(last.getCell(6).type).toBe(ExcelJS.ValueType.RichText);
    expect(last.getCell(7).text).toBe(staff.agent.user.name);
    const opened = last.getCell(8).value;
    expect(opened).toBeInstanceOf(Date);
    // 12:00 UTC is 08:00 in New York in July (EDT) and 07:00 in January (EST)
    expect((opened as Date).toISOString()).toBe('2026-07-01T08:00:00.000Z');
    expect((last.getCell(9).value as Date).toISOString()).toBe('2026-01-15T07:00:00.000Z');
    expect(last.getCell(8).numFmt).toBe('yyyy-mm-dd hh:mm');
    expect(last.getCell(10).value).toBe(95);
    expect(last.getCell(11).value).toBe(1.5);
    expect(last.getCell(12).text).toBe('No');
    expect(last.getCell(13).text).toBe('Yes');
    expect(last.getCell(13).alignment?.horizontal).toBe('center');
    // a number column's header sits over its numbers
    expect(sheet.getRow(1).getCell(11).alignment?.horizontal).toBe('right');
    expect(rows[0]!.getCell(9).value).toBeNull();
    expect(rows[0]!.getCell(8).value).toBeInstanceOf(Date);
  });

  it('adds the time segments sheet with with_segments=true', async () => {
    const customer = await makeCustomer();
    const a = await makeTicket({ agent: staff.agent, customer });
    const b = await makeTicket({ agent: staff.agent, customer });
    await makeTicket({ agent: staff.agent, customer });
    const user = staff.agent.user.id;
    await db()('time_segments').insert([
      { ticket_id: b.id, user_id: user, kind: 'manual', minutes: 30, billable: true, note: '=cmd|"/c calc"!A1' },
      {
        ticket_id: a.id,
        user_id: user,
        kind: 'tracked',
        minutes: 61,
        billable: false,
        started_at: new Date('2026-03-01T10:00:00Z'),
        ended_at: new Date('2026-03-01T11:01:00Z'),
      },
      { ticket_id: a.id, user_id: null, kind: 'amend', minutes: -15, billable: true },
    ]);

    const plain = await download(`/api/v1/tickets/export/${customer.id}?with_segments=false`);
    expect(plain.workbook.worksheets.map((w) => w.name)).toEqual(['Tickets']);

    const { workbook } = await download(`/api/v1/tickets/export/${customer.id}?with_segments=true`);
    expect(workbook.worksheets.map((w) => w.name)).toEqual(['Tickets', 'Time segments']);
    expect(rowsOf(workbook.getWorksheet('Tickets')!)).toHaveLength(3);
    const sheet = workbook.getWorksheet('Time segments')!;
    expect(headerOf(sheet)).toEqual(SEGMENT_COLUMNS.map((c) => c.header));
    expect(headerOf(sheet)).toEqual(['Ticket', 'User', 'Kind', 'Started', 'Ended', 'Minutes', 'Billable', 'Note']);
    expect(sheet.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(sheet.autoFilter).toBe('A1:H4');
    const rows = rowsOf(sheet).map((r) => (r.values as unknown[]).slice(1));
    // ticket order, then segment order
    expect(
      rows.map((r) => [(r[0] as ExcelJS.CellRichTextValue).richText[0]!.text, r[2] && (r[2] as ExcelJS.CellRichTextValue).richText[0]!.text, r[5]]),
    ).toEqual([
      [a.number, 'tracked', 61],
      [a.number, 'amend', -15],
      [b.number, 'manual', 30],
    ]);
    const tracked = rowsOf(sheet)[0]!;
    expect(tracked.getCell(2).text).toBe(staff.agent.user.name);
    expect((tracked.getCell(4).value as Date).toISOString()).toBe('2026-03-01T05:00:00.000Z');
    expect((tracked.getCell(5).value as Date).toISOString()).toBe('2026-03-01T06:01:00.000Z');
    expect(tracked.getCell(7).text).toBe('No');
    expect(rowsOf(sheet)[2]!.getCell(7).text).toBe('Yes');
    const amend = rowsOf(sheet)[1]!;
    expect(amend.getCell(2).value).toBeNull();
    expect(amend.getCell(4).value).toBeNull();
    const note = rowsOf(sheet)[2]!.getCell(8);
    expect(note.text).toBe('=cmd|"/c calc"!A1');
    expect(note.type).toBe(ExcelJS.ValueType.RichText);
  });

  it('reads in batches: every ticket and segment once, in order, across batch boundaries', async () => {
    const customer = await makeCustomer();
    const tickets = [];
    for (let i = 0; i < 5; i++) tickets.push(await makeTicket({ agent: staff.agent, customer, contact: null }));
    const segments = tickets.flatMap((t, i) =>
      Array.from({ length: i % 3 === 0 ? 3 : 1 }, (_, k) => ({ ticket_id: t.id, kind: 'manual', minutes: 10 * i + k })),
    );
    await db()('time_segments').insert(segments);

    const { stream } = await exportTickets({ customerId: customer.id, withSegments: true, batchSize: 2 });
    const workbook = await readStream(stream);
    expect(rowsOf(workbook.getWorksheet('Tickets')!).map((r) => r.getCell(1).text)).toEqual(tickets.map((t) => t.number));
    expect(rowsOf(workbook.getWorksheet('Time segments')!).map((r) => r.getCell(6).value)).toEqual(segments.map((s) => s.minutes));
  });

  it('exports a customer without tickets as headers only', async () => {
    const customer = await makeCustomer();
    const { workbook } = await download(`/api/v1/tickets/export/${customer.id}?with_segments=1`);
    expect(workbook.worksheets.map((w) => [w.name, w.rowCount])).toEqual([
      ['Tickets', 1],
      ['Time segments', 1],
    ]);
  });

  it('answers 404 for an unknown customer, 400 for a bad flag, 401 without a token', async () => {
    const unknown = await api().put('/api/v1/tickets/export/999999').set(staff.agent.auth).expect(404);
    expect(unknown.headers['content-type']).toMatch(/^application\/json/);
    expect(unknown.body.error).toMatchObject({ code: 'not_found', details: { resource: 'customer', id: 999999 } });
    await api().put('/api/v1/tickets/export/abc').set(staff.agent.auth).expect(404);
    const customer = await makeCustomer();
    const bad = await api().put(`/api/v1/tickets/export/${customer.id}?with_segments=maybe`).set(staff.agent.auth).expect(400);
    expect(Object.keys(bad.body.error.details.fields)).toEqual(['with_segments']);
    await api().put(`/api/v1/tickets/export/${customer.id}`).expect(401);
  });

  it('is described in the OpenAPI document', async () => {
    const doc = await api().get('/api/openapi.json').set(staff.agent.auth).expect(200);
    const op = doc.body.paths['/api/v1/tickets/export/{customer_id}'].put;
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '404']));
    expect(op.responses['200'].content).toHaveProperty([XLSX]);
    expect(op.parameters.map((p: { name: string }) => p.name)).toEqual(['customer_id', 'with_segments']);
  });
});

describe('a failure once the download has begun', () => {
  function fakeLog() {
    const log = { error: jest.fn(), info: jest.fn(), debug: jest.fn(), warn: jest.fn() };
    return { log, logger: log as unknown as Logger };
  }

  function serve(body: () => Readable): Promise<{ server: http.Server; port: number }> {
    const app = new Koa();
    app.silent = true;
    app.use(async (ctx) => {
      if (ctx.path === '/ok') {
        ctx.body = 'ok';
        return;
      }
      ctx.type = XLSX;
      ctx.body = body();
    });
    return new Promise((resolve) => {
      const server = http.createServer(app.callback()).listen(0, '127.0.0.1', () => {
        resolve({ server, port: (server.address() as { port: number }).port });
      });
    });
  }

  it('cuts the response (never a truncated file that looks whole), logs, and the server goes on', async () => {
    const { log, logger } = fakeLog();
    const { server, port } = await serve(() =>
      streamWorkbook(async (book) => {
        const sheet = book.addSheet('Tickets', [{ header: 'Number', width: 10 }]);
        for (let i = 0; i < 2000; i++) sheet.add([i]);
        await sheet.flush();
        await new Promise((r) => setTimeout(r, 50));
        throw new Error('the database went away');
      }, logger),
    );
    try {
      const outcome = await new Promise<string>((resolve) => {
        http
          .get({ host: '127.0.0.1', port, path: '/export' }, (res) => {
            expect(res.statusCode).toBe(200);
            res.on('data', () => undefined);
            res.on('end', () => resolve('ended'));
            res.on('error', () => resolve('aborted'));
            res.on('aborted', () => resolve('aborted'));
          })
          .on('error', () => resolve('aborted'));
      });
      expect(outcome).toBe('aborted');
      expect(log.error).toHaveBeenCalledTimes(1);
      expect(log.error.mock.calls[0]![1]).toMatch(/download was cut/);
      await supertest(`http://127.0.0.1:${port}`).get('/ok').expect(200, 'ok');
    } finally {
      server.close();
    }
  });

  it('stops building when the client goes away, without an error', async () => {
    const { log, logger } = fakeLog();
    let rows = 0;
    const { server, port } = await serve(() =>
      streamWorkbook(async (book) => {
        const sheet = book.addSheet('Tickets', [{ header: 'Subject', width: 60 }]);
        for (;;) {
          for (let i = 0; i < 500; i++) sheet.add([`row ${rows++} ${'x'.repeat(40)} ${Math.random()}`]);
          await sheet.flush();
        }
      }, logger),
    );
    try {
      await new Promise<void>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/export' }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => undefined);
      });
      await waitFor(() => log.info.mock.calls.length > 0, { what: 'the export to notice the client left' });
      expect(log.info.mock.calls[0]![0]).toMatch(/client went away/);
      const stoppedAt = rows;
      await new Promise((r) => setTimeout(r, 100));
      expect(rows).toBe(stoppedAt);
      expect(log.error).not.toHaveBeenCalled();
    } finally {
      server.close();
    }
  });
});
