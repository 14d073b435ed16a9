/**
 * `GET /v1/ticketing/customer_report`: a real PDF from Debian's Chromium, read back with
 * pdftotext. What it shows; that nothing in it reaches the network or the disk; that the
 * stored copy is served until something it shows changes; and the clear 503 when Chromium
 * cannot be started.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setNow } from '../../../src/clock';
import { type Config, config, loadConfig, setConfig } from '../../../src/config';
import { db } from '../../../src/db/knex';
import { PdfRenderer, closePdfRenderer, pdfRenderer } from '../../../src/rendering/pdf';
import { api, makeContact, makeCustomer, makeTicket, useStaff } from '../../helpers/factories';
import { runJob } from '../../helpers/jobs';
import { pdfText } from '../../helpers/pdfTools';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { waitFor } from '../../helpers/waitFor';

useTestDatabase();
const staff = useStaff();

const NOW = new Date('2026-11-20T12:00:00Z');
const PERIOD = 'from=2026-11-01&to=2026-11-30';

beforeEach(() => setNow(NOW));
afterEach(() => setNow(undefined));
afterAll(() => closePdfRenderer());

/** The report as bytes, with its status and headers. */
async function report(query: string) {
  const res = await api()
    .get(`/api/v1/ticketing/customer_report?${query}`)
    .set(staff.agent.auth)
    .buffer(true)
    .parse((stream, done) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => done(null, Buffer.concat(chunks)));
    });
  const body = res.body as Buffer;
  const json = () => JSON.parse(body.toString('utf8'));
  return { status: res.status, headers: res.headers, pdf: body, json };
}

async function pdfOf(query: string): Promise<{ pdf: Buffer; text: string; cache: string }> {
  const r = await report(query);
  if (r.status !== 200) throw new Error(`report answered ${r.status}: ${r.pdf.toString('utf8')}`);
  expect(r.headers['content-type']).toBe('application/pdf');
  expect(r.pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  return { pdf: r.pdf, text: pdfText(r.pdf), cache: r.headers['x-report-cache'] as string };
}

async function contractFor(customerId: number, points = 20): Promise<number> {
  const res = await api()
    .post('/api/v1/ticketing/support_contracts')
    .set(staff.admin.auth)
    .send({ support_contracteable_id: customerId, type: 1, points_init: points, started_at: '2026-11-01 00:00:00', expires_at: '2027-11-01 00:00:00' })
    .expect(201);
  return res.body.id;
}

async function addTime(ticketId: number, startedAt: string, minutes: number): Promise<number> {
  const res = await api()
    .post('/api/v1/ticketing/time_segments')
    .set(staff.agent.auth)
    .send({ ticket_id: ticketId, started_at: startedAt, minutes })
    .expect(201);
  return res.body.id;
}

describe('what the report shows', () => {
  it('the customer, the period, the contract, the figures and every ticket, in a PDF pdftotext reads', async () => {
    const customer = await makeCustomer({ name: 'Zebra & Söhne <GmbH>' });
    const contact = await makeContact(customer);
    const contractId = await contractFor(customer.id, 20);
    // the daily summary recorded the balance before the period
    await db()('daily_points_summaries').insert({
      support_contract_id: contractId,
      day: '2026-10-31',
      points_total: 20,
      points_current: 20,
      points_consumed: 0,
    });
    setNow(new Date('2026-11-03T09:00:00Z'));
    const first = await makeTicket({ agent: staff.agent, customer, contact, subject: 'Printer on fire' });
    setNow(new Date('2026-11-12T09:00:00Z'));
    const second = await makeTicket({ agent: staff.agent, customer, contact, subject: 'VPN drops every hour' });
    setNow(NOW);
    await addTime(first.id, '2026-11-03 10:00:00', 90); // 1.5 points (1 point an hour)
    await addTime(second.id, '2026-11-12 10:00:00', 30); // 0.5
    await api()
      .put(`/api/v1/tickets/close/${first.id}`)
      .set(staff.agent.auth)
      .expect((r) => expect(r.status).toBeLessThan(300));
    const outside = await makeTicket({ agent: staff.agent, customer, contact, subject: 'Only in December' });
    await db()('tickets')
      .where({ id: outside.id })
      .update({ opened_at: new Date('2026-12-05T09:00:00Z'), created_at: new Date('2026-12-05T09:00:00Z') });

    const { text } = await pdfOf(`customer_id=${customer.id}&${PERIOD}`);
    const flat = text.replace(/\s+/g, ' ');
    expect(flat).toContain('Zebra & Söhne <GmbH>');
    expect(flat).toContain('2026-11-01 to 2026-11-30');
    expect(flat).toContain(`#${first.number}`);
    expect(flat).toContain(`#${second.number}`);
    expect(flat).toContain('Printer on fire');
    expect(flat).not.toContain(outside.number);
    // contract: 20 before, 2 consumed, 18 now
    expect(flat).toMatch(/prepaid block of points/);
    expect(flat).toContain('20.00');
    expect(flat).toContain('18.00 / 20.00');
    // key figures: 2 opened, 1 closed, 2:00 spent, 2.00 points
    expect(flat).toMatch(/Key figures 2 1 2:00 2\.00 tickets opened tickets closed time spent \(h:mm\) points consumed/);
    expect(flat).toContain('1:30');
    expect(flat).toContain('1.50');
    // the charts are drawn: their legends are text in the PDF
    expect(flat).toContain('Opened');
    expect(flat).toContain('Points consumed');
  });

  it('says so when there is nothing in the period', async () => {
    const customer = await makeCustomer({ name: 'Quiet Customer' });
    const { text } = await pdfOf(`customer_id=${customer.id}&from=2026-06-01&to=2026-06-30`);
    expect(text).toContain('Quiet Customer');
    expect(text).toContain('No ticket activity in this period.');
    expect(text).toContain('No support contract covers this customer in the period.');
  });

  it('refuses a bad period and an unknown customer', async () => {
    const customer = await makeCustomer();
    const backwards = await report(`customer_id=${customer.id}&from=2026-11-30&to=2026-11-01`);
    expect(backwards.status).toBe(400);
    expect(backwards.json().error.details.fields).toHaveProperty('from');
    expect((await report(`customer_id=${customer.id}&from=2026-02-30`)).status).toBe(400);
    expect((await report(`customer_id=${customer.id}&from=2020-01-01&to=2026-11-30`)).status).toBe(400);
    expect((await report(PERIOD)).json().error.details.fields).toHaveProperty('customer_id');
    const unknown = await report(`customer_id=999999&${PERIOD}`);
    expect(unknown.status).toBe(404);
    expect(unknown.json().error.code).toBe('not_found');
  });
});

describe('nothing in a report reaches the network or the disk', () => {
  let server: http.Server;
  let port: number;
  const hits: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      res.end('root:x:0:0:from-the-network');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const hostile = () =>
    [
      `<p>See <img src="http://127.0.0.1:${port}/body-img"> and <img src="file:///etc/passwd">`,
      `<link rel=prefetch href="http://127.0.0.1:${port}/x"><link rel=preconnect href="http://127.0.0.1:${port}">`,
      `<iframe src="file:///etc/passwd"></iframe><object data="file:///etc/passwd"></object>`,
      `<a href="http://127.0.0.1:${port}/link">link</a> <a href="file:///etc/passwd">passwd</a></p>`,
    ].join('');

  it('through the API: ticket subjects and bodies full of references fetch nothing', async () => {
    const customer = await makeCustomer({ name: 'Hostile Customer' });
    const subjects = [
      `<img src="http://127.0.0.1:${port}/subject-img"> file:///etc/passwd`,
      `&lt;link rel=prefetch href="http://127.0.0.1:${port}/x"&gt; <link rel=prefetch href="http://127.0.0.1:${port}/y">`,
      `<iframe src="file:///etc/passwd"></iframe>broken`,
    ];
    const numbers: string[] = [];
    for (const subject of subjects) {
      const res = await api()
        .post(`/api/v1/tickets?ticketable_type=App%5CCustomer&ticketable_id=${customer.id}`)
        .set(staff.agent.auth)
        .send({ subject, body: hostile(), priority_id: 2, ticket_category_id: 1, ticket_sub_category_id: 1 })
        .expect(201);
      numbers.push(res.body.number);
    }
    // the stored body still holds an http image: the sanitizer allows it, the renderer must not fetch it
    expect((await db()('tickets').where({ number: numbers[0] }).first('body')).body).toContain(`http://127.0.0.1:${port}/body-img`);

    const { text } = await pdfOf(`customer_id=${customer.id}&${PERIOD}`);
    await new Promise((r) => setTimeout(r, 500));
    expect(hits).toEqual([]);
    expect(text).not.toContain('root:x:0:0');
    for (const n of numbers) expect(text).toContain(n);
    expect(text).toContain('file:///etc/passwd'); // as text
  });

  it('in the renderer itself: the same references in the page fetch nothing (prefetch, preconnect, CSS, frames)', async () => {
    const page = `<!doctype html><html><head>
      <link rel=prefetch href="http://127.0.0.1:${port}/prefetch"><link rel=preconnect href="http://127.0.0.1:${port}">
      <link rel=stylesheet href="http://127.0.0.1:${port}/css"><link rel=dns-prefetch href="http://127.0.0.1:${port}">
      <style>@import url(http://127.0.0.1:${port}/import); body { background: url(http://127.0.0.1:${port}/bg) }</style>
      <meta http-equiv="refresh" content="0; url=http://127.0.0.1:${port}/refresh"></head>
      <body><p>Renderer check</p>${hostile()}<img src="http://localhost:${port}/localhost">
      <embed src="file:///etc/passwd"><script>fetch('http://127.0.0.1:${port}/js'); new WebSocket('ws://127.0.0.1:${port}/ws');</script>
      <svg><image href="http://127.0.0.1:${port}/svg-image" width="10" height="10"/></svg></body></html>`;
    const pdf = await pdfRenderer.render(page);
    await new Promise((r) => setTimeout(r, 1000));
    expect(hits).toEqual([]);
    const text = pdfText(pdf);
    expect(text).toContain('Renderer check');
    expect(text).not.toContain('root:x:0:0');

    // the server was listening all along: the same request from here reaches it
    await fetch(`http://127.0.0.1:${port}/control`).then((r) => r.text());
    expect(hits).toEqual(['GET /control']);
    hits.length = 0;
  });
});

describe('the stored copy', () => {
  const rendered = () => pdfRenderer.stats.renders;

  it('is served until something the report shows changes', async () => {
    const customer = await makeCustomer({ name: 'Cached Customer' });
    const contact = await makeContact(customer);
    const contractId = await contractFor(customer.id, 10);
    const ticket = await makeTicket({ agent: staff.agent, customer, contact, subject: 'First subject' });
    const query = `customer_id=${customer.id}&${PERIOD}`;

    const first = await pdfOf(query);
    expect(first.cache).toBe('miss');
    const renders = rendered();
    const second = await pdfOf(query);
    expect(second.cache).toBe('hit');
    expect(second.pdf.equals(first.pdf)).toBe(true);
    expect(rendered()).toBe(renders);
    const row = await db()('customer_reports').where({ customer_id: customer.id }).first();
    expect(row).toMatchObject({ pdf_size: first.pdf.length });

    // another customer's ticket changes nothing here
    await makeTicket({ agent: staff.agent, subject: 'Someone else' });
    expect((await pdfOf(query)).cache).toBe('hit');

    // a changed ticket (under the fixed business clock: updated_at does not move) makes a fresh one
    await api().put(`/api/v1/tickets/${ticket.id}`).set(staff.agent.auth).send({ subject: 'Second subject' }).expect(201);
    const third = await pdfOf(query);
    expect(third.cache).toBe('miss');
    expect(rendered()).toBe(renders + 1);
    expect(third.text).toContain('Second subject');
    expect(third.text).not.toContain('First subject');
    // one row per report; the replaced copy's bytes are released
    const rows = await db()('customer_reports').where({ customer_id: customer.id });
    expect(rows).toHaveLength(1);
    expect(rows[0].pdf_sha256).not.toBe(row.pdf_sha256);
    expect(await db()('blobs').where({ sha256: row.pdf_sha256 }).first()).toBeUndefined();
    expect((await pdfOf(query)).cache).toBe('hit');

    // time, a reply, the contract's balance, a new ticket in the period: each makes a fresh one
    const changes: [string, () => Promise<unknown>][] = [
      ['time', () => addTime(ticket.id, '2026-11-05 10:00:00', 60)],
      [
        'reply',
        () =>
          api()
            .post(`/api/v1/replies?ticket_id=${ticket.id}`)
            .set(staff.agent.auth)
            .send({ body: 'On it', close: false, send_to_contacts: true, send_to_assignee: false })
            .expect(201),
      ],
      ['balance', () => api().put(`/api/v1/ticketing/support_contracts/${contractId}`).set(staff.admin.auth).send({ points_total: 15 }).expect(200)],
      ['new ticket', () => makeTicket({ agent: staff.agent, customer, contact, subject: 'Brand new' })],
    ];
    for (const [what, change] of changes) {
      await change();
      const r = await pdfOf(query);
      expect([what, r.cache]).toEqual([what, 'miss']);
      expect([what, (await pdfOf(query)).cache]).toEqual([what, 'hit']);
    }
    expect((await pdfOf(query)).text).toContain('Brand new');
  });

  it('is kept per period: another range is another report', async () => {
    const customer = await makeCustomer();
    await makeTicket({ agent: staff.agent, customer });
    expect((await pdfOf(`customer_id=${customer.id}&${PERIOD}`)).cache).toBe('miss');
    expect((await pdfOf(`customer_id=${customer.id}&from=2026-11-15&to=2026-11-30`)).cache).toBe('miss');
    expect((await pdfOf(`customer_id=${customer.id}&${PERIOD}`)).cache).toBe('hit');
    expect(await db()('customer_reports').where({ customer_id: customer.id })).toHaveLength(2);
  });

  it('made over 30 days ago is removed by the report-pruning job, its bytes with it; a newer one stays', async () => {
    const customer = await makeCustomer();
    await makeTicket({ agent: staff.agent, customer });
    await pdfOf(`customer_id=${customer.id}&${PERIOD}`);
    await pdfOf(`customer_id=${customer.id}&from=2026-11-15&to=2026-11-30`);
    const [old, recent] = await db()('customer_reports').where({ customer_id: customer.id }).orderBy('period_from');
    // the job's clock: 31 days after the first report was made, 29 after the second
    await db()('customer_reports')
      .where({ id: recent.id })
      .update({ created_at: new Date(NOW.getTime() + 2 * 86_400_000) });
    const due = await db()('customer_reports').where('created_at', '<', new Date(NOW.getTime() + 86_400_000)); // other tests' too
    expect(await runJob('report-pruning', new Date(NOW.getTime() + 31 * 86_400_000))).toEqual({ reports_removed: due.length });
    expect((await db()('customer_reports').where({ customer_id: customer.id })).map((r) => r.id)).toEqual([recent.id]);
    expect(await db()('blobs').where({ sha256: old.pdf_sha256 }).first()).toBeUndefined();
    expect(await db()('blobs').where({ sha256: recent.pdf_sha256 }).first()).toBeDefined();
    // asked for again, the pruned one is made anew
    expect((await pdfOf(`customer_id=${customer.id}&${PERIOD}`)).cache).toBe('miss');
  });

  it('requests for the same report at once share one render', async () => {
    const customer = await makeCustomer();
    await makeTicket({ agent: staff.agent, customer });
    const before = rendered();
    const results = await Promise.all([1, 2, 3].map(() => pdfOf(`customer_id=${customer.id}&${PERIOD}`)));
    expect(rendered()).toBe(before + 1);
    expect(results.every((r) => r.pdf.equals(results[0]!.pdf))).toBe(true);
  });
});

describe('the browser', () => {
  let original: Config;
  beforeAll(() => {
    original = config();
  });
  afterEach(() => setConfig(original));

  it('without Chromium the answer is a 503 that names CHROMIUM_PATH, and it recovers once Chromium is there', async () => {
    const customer = await makeCustomer();
    await closePdfRenderer();
    for (const bad of ['/nonexistent/chromium', '/bin/false']) {
      setConfig(loadConfig({ ...process.env, CHROMIUM_PATH: bad }));
      const r = await report(`customer_id=${customer.id}&${PERIOD}`);
      expect(r.status).toBe(503);
      const { error } = r.json();
      expect(error.code).toBe('pdf_renderer_unavailable');
      expect(error.message).toContain('CHROMIUM_PATH');
      expect(error.message).not.toContain(bad);
    }
    setConfig(original);
    expect((await pdfOf(`customer_id=${customer.id}&${PERIOD}`)).cache).toBe('miss');
  });

  it('is one browser for every render, at most two renders at once, started again after it dies', async () => {
    const renderer = new PdfRenderer(() => config().chromiumPath, 2);
    try {
      const pdfs = await Promise.all([1, 2, 3, 4, 5].map((n) => renderer.render(`<p>page ${n}</p>`)));
      expect(pdfs.map((p) => pdfText(p).trim().split('\n')[0])).toEqual(['page 1', 'page 2', 'page 3', 'page 4', 'page 5']);
      expect(renderer.stats).toMatchObject({ launches: 1, renders: 5, peak: 2 });

      const pid = await renderer.browserPid();
      expect(pid).toBeGreaterThan(0);
      process.kill(pid!, 'SIGKILL');
      await waitFor(async () => (await renderer.browserPid()) === undefined);
      expect(pdfText(await renderer.render('<p>after the crash</p>'))).toContain('after the crash');
      expect(renderer.stats.launches).toBe(2);
      expect(await renderer.browserPid()).not.toBe(pid);
    } finally {
      await renderer.close();
    }
    expect(await renderer.browserPid()).toBeUndefined();
  });
});
