/**
 * The HTTP API under hostile clients, through a real listening socket (aborts and stalls
 * need one): aborted and stalled uploads release everything, NUL in input is a 400 naming
 * the field, any file name downloads, and form fields may follow the file.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import type { Knex } from 'knex';
import Koa from 'koa';
import { config, loadConfig, setConfig } from '../../../src/config';
import { db } from '../../../src/db/knex';
import { createApp } from '../../../src/http/app';
import { errorHandler } from '../../../src/http/middleware/errors';
import { receiveUpload } from '../../../src/http/upload';
import { sweepUnlinkedBlobs } from '../../../src/services/blobs/blobStore';
import { type Agent, makeCustomer, makeTicket, makeUser } from '../../helpers/factories';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { waitFor } from '../../helpers/waitFor';

useTestDatabase(); // a pool of 5 connections: 20 held uploads would exhaust it four times over

const MB = 1024 * 1024;
let server: http.Server;
let base: string;
let agent: Agent;

beforeAll(async () => {
  setConfig(loadConfig({ ...process.env, ATTACHMENT_MAX_BYTES: String(8 * MB) }));
  agent = await makeUser();
  server = http.createServer(createApp().callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Connections the test database's pool has handed out and not got back. */
const poolInUse = () => (db() as Knex & { client: { pool: { numUsed(): number; numPendingAcquires(): number } } }).client.pool;
const tempBlobs = async () => Number((await db()('blobs').where('sha256', 'like', 'tmp_%').count({ n: '*' }).first())!.n);
const tempChunks = async () => Number((await db()('blob_chunks').where('sha256', 'like', 'tmp_%').count({ n: '*' }).first())!.n);

const BOUNDARY = '----hostile0123456789';

/** The multipart bytes of a file part's header, and the closing of the file plus any later fields. */
function multipart(filename: string, after: Record<string, string> = {}) {
  const head = Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` + 'Content-Type: application/octet-stream\r\n\r\n',
  );
  const fields = Object.entries(after).map(([k, v]) => `\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}`);
  const tail = Buffer.from(`${fields.join('')}\r\n--${BOUNDARY}--\r\n`);
  return { head, tail };
}

interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/**
 * Opens a socket and sends an upload's request head and `first` bytes of body, announcing
 * `contentLength`; the caller sends more, stalls or destroys the socket. `response`
 * settles with what the server answered (or null when the socket closed without one).
 */
function openUpload(path: string, contentLength: number, first: Buffer, port = Number(new URL(base).port)) {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  const received: Buffer[] = [];
  socket.on('data', (d) => received.push(d));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const response = closed.then((): RawResponse | null => {
    const text = Buffer.concat(received).toString('utf8');
    const m = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(text);
    return m ? { status: Number(m[1]), headers: m[2]!, body: m[3]! } : null;
  });
  socket.write(
    `POST /api${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${agent.auth.Authorization}\r\n` +
      `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${contentLength}\r\n\r\n`,
  );
  socket.write(first);
  return { socket, response, closed };
}

describe('uploads from hostile clients', () => {
  it('20 uploads aborted mid-file hold nothing: later requests answer at once and no temporary blob is left', async () => {
    const ticket = await makeTicket({ agent });
    const { head, tail } = multipart('big.bin');
    const sent = crypto.randomBytes(1.5 * MB); // past the first 1 MB chunk: each upload is mid-write
    const uploads = Array.from({ length: 20 }, () =>
      openUpload(`/v1/ticketing/attachments?ticket_id=${ticket.id}`, head.length + 6 * MB + tail.length, Buffer.concat([head, sent])),
    );
    await waitFor(async () => (await tempChunks()) >= 20, { what: '20 uploads writing', timeoutMs: 20_000 });
    expect(await tempBlobs()).toBe(20);
    for (const u of uploads) u.socket.destroy();
    await Promise.all(uploads.map((u) => u.closed));

    await waitFor(async () => (await tempBlobs()) === 0 && poolInUse().numUsed() === 0, { what: 'the aborted uploads cleaned up' });
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`${base}/api/v1/me`, { headers: agent.auth })));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(Date.now() - started).toBeLessThan(5000);
    const upload = await uploadFile(`?ticket_id=${ticket.id}`, 'after.txt', Buffer.from('still works'));
    expect(upload.status).toBe(201);

    await sweepUnlinkedBlobs(db(), 0);
    expect(await tempBlobs()).toBe(0);
    expect(await tempChunks()).toBe(0);
    expect(poolInUse().numUsed()).toBe(0);
    expect(poolInUse().numPendingAcquires()).toBe(0);
  });

  it('a stalled body ends with the idle timeout (408), frees its connection and leaves nothing', async () => {
    const before = config();
    setConfig(loadConfig({ ...process.env, ATTACHMENT_MAX_BYTES: String(8 * MB), UPLOAD_IDLE_SECONDS: '1' }));
    try {
      const ticket = await makeTicket({ agent });
      const { head, tail } = multipart('stalled.bin');
      const started = Date.now();
      const u = openUpload(
        `/v1/ticketing/attachments?ticket_id=${ticket.id}`,
        head.length + 4 * MB + tail.length,
        Buffer.concat([head, crypto.randomBytes(1.2 * MB)]),
      );
      const res = await u.response; // the server answers, then closes the socket
      expect(res?.status).toBe(408);
      expect(JSON.parse(res!.body).error.code).toBe('request_timeout');
      expect(res!.headers).toMatch(/^connection: close$/im);
      expect(Date.now() - started).toBeLessThan(10_000);
      await waitFor(async () => (await tempBlobs()) === 0 && poolInUse().numUsed() === 0, { what: 'the stalled upload cleaned up' });
      expect(await tempChunks()).toBe(0);
      expect((await fetch(`${base}/api/v1/me`, { headers: agent.auth })).status).toBe(200);
    } finally {
      setConfig(before);
    }
  });

  it('a body that trickles in past the total time limit ends with 408, and what was stored is discarded', async () => {
    // receiveUpload on its own, with a one-second cap (the API's is 60 s plus 1 s per 128 KiB)
    let discarded = 0;
    const app = new Koa();
    app.use(errorHandler);
    app.use(async (ctx) => {
      const got = await receiveUpload(
        ctx,
        { maxBytes: MB, idleSeconds: 30, totalSeconds: 1 },
        async (file) => {
          let n = 0;
          for await (const chunk of file.stream) n += chunk.length;
          return n;
        },
        async () => {
          discarded++;
        },
      );
      ctx.body = { size: got.stored };
    });
    const small = http.createServer(app.callback());
    await new Promise<void>((resolve) => small.listen(0, '127.0.0.1', resolve));
    try {
      const port = (small.address() as net.AddressInfo).port;
      const { head, tail } = multipart('drip.bin', { note: 'x' });
      // the whole file arrives at once, then the last field trickles: the stored file must be discarded
      const cut = tail.length - 12;
      const u = openUpload('/', head.length + 10 + tail.length, Buffer.concat([head, Buffer.alloc(10), tail.subarray(0, cut)]), port);
      let sent = cut;
      const drip = setInterval(() => u.socket.write(tail.subarray(sent, ++sent)), 200);
      const res = await u.response;
      clearInterval(drip);
      expect(res?.status).toBe(408);
      expect(JSON.parse(res!.body).error.message).toMatch(/within 1 s/);
      await waitFor(() => discarded === 1, { what: 'the stored file discarded' });
    } finally {
      small.closeAllConnections();
      await new Promise((resolve) => small.close(resolve));
    }
  });

  it('a second file is a 400 and leaves nothing behind', async () => {
    const ticket = await makeTicket({ agent });
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(crypto.randomBytes(1000))]), 'one.bin');
    form.append('other', new Blob([new Uint8Array(crypto.randomBytes(1000))]), 'two.bin');
    const res = await fetch(`${base}/api/v1/ticketing/attachments?ticket_id=${ticket.id}`, { method: 'POST', headers: agent.auth, body: form });
    expect(res.status).toBe(400);
    expect((await res.json()).error.details.fields).toHaveProperty('file');
    await waitFor(async () => (await tempBlobs()) === 0, { what: 'the staged file discarded' });
    expect(await db()('attachments').where({ ticket_id: ticket.id })).toHaveLength(0);
  });

  it('on the filesystem store, aborted uploads leave no temporary file', async () => {
    const blobDir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'helpdesk-hostile-'));
    const before = config();
    setConfig(loadConfig({ ...process.env, ATTACHMENT_MAX_BYTES: String(8 * MB), BLOB_STORE: 'filesystem', BLOB_DIR: blobDir }));
    try {
      const ticket = await makeTicket({ agent });
      const { head, tail } = multipart('big.bin');
      const uploads = Array.from({ length: 5 }, () =>
        openUpload(`/v1/ticketing/attachments?ticket_id=${ticket.id}`, head.length + 4 * MB + tail.length, Buffer.concat([head, crypto.randomBytes(MB)])),
      );
      const tmp = nodePath.join(blobDir, 'tmp');
      await waitFor(() => fs.existsSync(tmp) && fs.readdirSync(tmp).length === 5, { what: '5 temporary files' });
      for (const u of uploads) u.socket.destroy();
      await waitFor(() => fs.readdirSync(tmp).length === 0, { what: 'the temporary files removed' });
      expect(poolInUse().numUsed()).toBe(0);
      expect(await sweepUnlinkedBlobs(db(), 0)).toMatchObject({ files: 0 });
    } finally {
      setConfig(before);
      fs.rmSync(blobDir, { recursive: true, force: true });
    }
  });

  it('reads form fields sent after the file', async () => {
    const ticket = await makeTicket({ agent });
    const { head, tail } = multipart('late.txt', { ticket_id: String(ticket.id) });
    const content = Buffer.from('fields come last');
    const body = Buffer.concat([head, content, tail]);
    const res = await fetch(`${base}/api/v1/ticketing/attachments`, {
      method: 'POST',
      headers: { ...agent.auth, 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` },
      body,
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ ticket_id: ticket.id, filename: 'late.txt', size: content.length });
  });

  it.each([
    ['Cyrillic', 'Отчёт за май.pdf'],
    ['CJK', '報告書 2024年.txt'],
    ['emoji', '🎉 party 100% (final).txt'],
  ])('uploads and downloads a %s file name, with an RFC 6266 Content-Disposition', async (_what, filename) => {
    const ticket = await makeTicket({ agent });
    const content = crypto.randomBytes(300);
    const res = await uploadFile(`?ticket_id=${ticket.id}`, filename, content);
    expect(res.status).toBe(201);
    const meta = await res.json();
    expect(meta.filename).toBe(filename);
    const got = await fetch(`${base}/api/v1/ticketing/attachments/${meta.id}/content`, { headers: agent.auth });
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(content)).toBe(true);
    const disposition = got.headers.get('content-disposition')!;
    const m = /^attachment; filename="([\x20-\x7e]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+)$/.exec(disposition);
    expect(m).not.toBeNull();
    expect(m![1]).not.toMatch(/["\\%]/);
    expect(m![1]).toMatch(/\.txt$|\.pdf$/);
    expect(decodeURIComponent(m![2]!)).toBe(filename);
  });

  it('cleans control and bidirectional characters out of a file name', async () => {
    const ticket = await makeTicket({ agent });
    const res = await uploadFile(`?ticket_id=${ticket.id}`, 'invoice\u202egpj.exe', Buffer.from('MZ'));
    expect(res.status).toBe(201);
    expect((await res.json()).filename).toBe('invoicegpj.exe');
  });
});

/** A well-behaved multipart upload through fetch. */
function uploadFile(query: string, filename: string, content: Buffer) {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(content)]), filename);
  return fetch(`${base}/api/v1/ticketing/attachments${query}`, { method: 'POST', headers: agent.auth, body: form });
}

describe('NUL and control characters in API input', () => {
  const send = (method: string, path: string, body?: unknown) =>
    fetch(`${base}/api${path}`, {
      method,
      headers: { ...agent.auth, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('a NUL in a JSON body is a 400 naming the field, nested ones included', async () => {
    const top = await send('POST', '/v1/customers', { name: 'Acme\u0000' });
    expect(top.status).toBe(400);
    expect((await top.json()).error.details.fields).toEqual({ name: expect.stringContaining('NUL') });
    const nested = await send('POST', '/v1/customers', { name: 'Acme', email_domains: ['acme.test', 'evil\u0000.test'] });
    expect(nested.status).toBe(400);
    expect(Object.keys((await nested.json()).error.details.fields)).toEqual(['email_domains.1']);
    const key = await send('POST', '/v1/customers', { name: 'Acme', 'x\u0000y': 1 });
    expect(key.status).toBe(400);
    expect(Object.keys((await key.json()).error.details.fields)).toEqual(['x\\u0000y']);
    const ticket = await makeTicket({ agent });
    const put = await send('PUT', `/v1/tickets/${ticket.id}`, { subject: 'fine', tags: ['ok', 'bad\u0000'] });
    expect(put.status).toBe(400);
    expect(Object.keys((await put.json()).error.details.fields)).toEqual(['tags.1']);
  });

  it('a NUL in a query string is a 400 naming the parameter, known or not', async () => {
    for (const [query, field] of [
      ['search=a%00b', 'search'],
      ['filter%5Bemail%5D=x%00', 'filter[email]'],
      ['unknown=%00', 'unknown'],
      ['search=a&search=%00', 'search'],
    ]) {
      const res = await send('GET', `/v1/customers?${query}`);
      expect(res.status).toBe(400);
      expect(Object.keys((await res.json()).error.details.fields)).toEqual([field]);
    }
    expect((await send('GET', '/v1/customers?search=a%09b')).status).toBe(200);
  });

  it('a body that is not JSON, a JSON scalar, or one poisoning a prototype is a 400 invalid_json', async () => {
    const raw = (body: string) => fetch(`${base}/api/v1/customers`, { method: 'POST', headers: { ...agent.auth, 'Content-Type': 'application/json' }, body });
    for (const body of ['{"name": "Acme"', '"just a string"', '{"name": "Acme", "__proto__": {"admin": true}}']) {
      const res = await raw(body);
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe('invalid_json');
    }
  });

  it('other control characters are removed; tab, CR and LF stay', async () => {
    const res = await send('POST', '/v1/customers', { name: 'Ac\u0001me\u007f Ltd\u009b\tok\r\nyes' });
    expect(res.status).toBe(201);
    const { id } = await res.json();
    expect((await db()('customers').where({ id }).first()).name).toBe('Acme Ltd\tok\r\nyes');
    const customer = await makeCustomer();
    const listed = await send('GET', `/v1/customers?search=${encodeURIComponent(customer.name.slice(0, 6))}%01`);
    expect(listed.status).toBe(200);
  });

  it('subjects keep entities as written and lose their tags', async () => {
    const ticket = await makeTicket({ agent });
    const subject = '<b>Hi</b> &amp;amp;lt;img src=x onerror=alert(1)&amp;amp;gt;';
    const res = await send('PUT', `/v1/tickets/${ticket.id}`, { subject });
    expect(res.status).toBe(201); // the seed's PUT answers 201
    expect((await db()('tickets').where({ id: ticket.id }).first()).subject).toBe('Hi &amp;amp;lt;img src=x onerror=alert(1)&amp;amp;gt;');
  });
});

describe('a database that cannot answer', () => {
  it('is a 503 with Retry-After, not a 500, and the API answers again once connections are free', async () => {
    // every pooled connection held by someone else: the request waits for the pool's 10 s, then gives up
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const holders = Array.from({ length: 5 }, () => db().transaction(() => held));
    await waitFor(() => poolInUse().numUsed() === 5, { what: 'the pool exhausted' });
    try {
      const res = await fetch(`${base}/api/v1/me`, { headers: agent.auth });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect((await res.json()).error.code).toBe('database_unavailable');
    } finally {
      release();
      await Promise.all(holders);
    }
    expect((await fetch(`${base}/api/v1/me`, { headers: agent.auth })).status).toBe(200);
  }, 30_000);
});
