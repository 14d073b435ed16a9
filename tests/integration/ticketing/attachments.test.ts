import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setNow } from '../../../src/clock';
import { config, loadConfig, setConfig } from '../../../src/config';
import { db } from '../../../src/db/knex';
import { type Agent, api, makeTicket, makeUser } from '../../helpers/factories';
import { useTestDatabase } from '../../helpers/useTestDatabase';

useTestDatabase();

let agent: Agent;
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4a80000000049454e44ae426082', 'hex');

beforeAll(async () => {
  setConfig(loadConfig({ ...process.env, ATTACHMENT_MAX_BYTES: String(3 * 1024 * 1024) }));
  agent = await makeUser();
});
afterEach(() => setNow(undefined));

const upload = (query: string, content: Buffer, filename: string, contentType?: string) =>
  api().post(`/api/v1/ticketing/attachments${query}`).set(agent.auth).attach('file', content, { filename, contentType });

function download(url: string, auth = true) {
  const req = api().get(url).buffer(true).parse((res, cb) => {
    const parts: Buffer[] = [];
    res.on('data', (c: Buffer) => parts.push(c));
    res.on('end', () => cb(null, Buffer.concat(parts)));
  });
  return auth ? req.set(agent.auth) : req;
}

describe('attachments', () => {
  it('round-trips bytes exactly, across chunk boundaries', async () => {
    const ticket = await makeTicket({ agent });
    const content = crypto.randomBytes(2.5 * 1024 * 1024 + 17);
    const res = await upload(`?ticket_id=${ticket.id}`, content, 'dump.bin', 'application/octet-stream').expect(201);
    expect(res.body).toMatchObject({ filename: 'dump.bin', size: content.length, ticket_id: ticket.id, sha256: crypto.createHash('sha256').update(content).digest('hex') });
    const got = await download(`/api/v1/ticketing/attachments/${res.body.id}/content`).expect(200);
    expect(Buffer.compare(got.body as Buffer, content)).toBe(0);
    expect(got.headers['content-disposition']).toMatch(/^attachment; filename="dump.bin"/);
    expect(got.headers['x-content-type-options']).toBe('nosniff');
    expect(await db()('blob_chunks').where({ sha256: res.body.sha256 })).toHaveLength(3);
  });

  it('stores a path-like name harmlessly and sniffs the real type', async () => {
    const ticket = await makeTicket({ agent });
    const res = await upload(`?ticket_id=${ticket.id}`, PNG, '../../etc/passwd', 'text/plain').expect(201);
    expect(res.body.filename).toBe('passwd');
    expect(res.body).toMatchObject({ declared_type: 'text/plain', sniffed_type: 'image/png' });
    const got = await download(res.body.content_url, false).expect(200);
    expect(got.headers['content-type']).toBe('image/png');
    const win = await upload(`?ticket_id=${ticket.id}`, Buffer.from('x'), '..\\..\\windows\\system.ini').expect(201);
    expect(win.body.filename).toBe('system.ini');
    const html = await upload(`?ticket_id=${ticket.id}`, Buffer.from('<html><script>alert(1)</script></html>'), 'page.html', 'text/html').expect(201);
    const served = await download(`/api/v1/ticketing/attachments/${html.body.id}/content`).expect(200);
    expect(served.headers['content-type']).toBe('application/octet-stream');
  });

  it('serves signed URLs without a token, and refuses forged or expired ones', async () => {
    const ticket = await makeTicket({ agent });
    const res = await upload(`?ticket_id=${ticket.id}`, Buffer.from('hello'), 'a.txt').expect(201);
    const url: string = res.body.content_url;
    expect(url).toMatch(/expires=\d+&signature=/);
    expect((await download(url, false).expect(200)).body.toString()).toBe('hello');
    await api().get(url.replace(/signature=./, 'signature=x')).expect(401);
    await api().get(url.replace(`/attachments/${res.body.id}/`, `/attachments/${res.body.id + 1}/`)).expect(401);
    await api().get(`/api/v1/ticketing/attachments/${res.body.id}/content`).expect(401);
    setNow(new Date(Date.now() + (config().contentUrlTtlSeconds + 60) * 1000));
    await api().get(url).expect(401);
  });

  it('stores one blob per content and removes it with the last reference', async () => {
    const ticket = await makeTicket({ agent });
    const content = crypto.randomBytes(1000);
    const a = await upload(`?ticket_id=${ticket.id}`, content, 'one.bin').expect(201);
    const b = await upload(`?ticket_id=${ticket.id}`, content, 'two.bin').expect(201);
    expect(a.body.sha256).toBe(b.body.sha256);
    expect(await db()('blobs').where({ sha256: a.body.sha256 })).toHaveLength(1);
    await api().delete(`/api/v1/ticketing/attachments/${a.body.id}`).set(agent.auth).expect(200);
    expect(await db()('blobs').where({ sha256: a.body.sha256 })).toHaveLength(1);
    await api().delete(`/api/v1/ticketing/attachments/${b.body.id}`).set(agent.auth).expect(200);
    expect(await db()('blobs').where({ sha256: a.body.sha256 })).toHaveLength(0);
    expect(await db()('blob_chunks').where({ sha256: a.body.sha256 })).toHaveLength(0);
    expect(await db()('blobs').where('sha256', 'like', 'tmp_%')).toHaveLength(0);
  });

  it('links to replies, shows on the ticket, moves and renames', async () => {
    const ticket = await makeTicket({ agent });
    const reply = await api().post(`/api/v1/replies?ticket_id=${ticket.id}`).set(agent.auth).send({ body: 'x', close: false, send_to_assignee: false, send_to_contacts: false }).expect(201);
    const res = await api()
      .post('/api/v1/ticketing/attachments')
      .set(agent.auth)
      .field('reply_id', String(reply.body.id))
      .attach('file', Buffer.from('log'), 'log.txt')
      .expect(201);
    expect(res.body).toMatchObject({ reply_id: reply.body.id, ticket_id: ticket.id });
    const shown = await api().get(`/api/v1/tickets/${ticket.id}`).set(agent.auth).expect(200);
    expect(shown.body.attachments.map((a: { id: number }) => a.id)).toEqual([res.body.id]);
    const list = await api().get(`/api/v1/ticketing/attachments?reply_id=${reply.body.id}`).set(agent.auth).expect(200);
    expect(list.body).toHaveLength(1);
    const other = await makeTicket({ agent });
    const moved = await api().put(`/api/v1/ticketing/attachments/${res.body.id}`).set(agent.auth).send({ filename: 'x/../renamed.txt', ticket_id: other.id }).expect(200);
    expect(moved.body).toMatchObject({ filename: 'renamed.txt', ticket_id: other.id, reply_id: null });
    await api().put(`/api/v1/ticketing/attachments/${res.body.id}`).set(agent.auth).send({ reply_id: 999999 }).expect(400);
  });

  it('deleting a ticket removes its files', async () => {
    const ticket = await makeTicket({ agent });
    const res = await upload(`?ticket_id=${ticket.id}`, crypto.randomBytes(100), 'gone.bin').expect(201);
    await api().delete(`/api/v1/tickets/${ticket.id}`).set(agent.auth).expect(200);
    expect(await db()('blobs').where({ sha256: res.body.sha256 })).toHaveLength(0);
  });

  it('answers 413 over the limit, 400 without a target or file, 415 without multipart, 404 unknown', async () => {
    const ticket = await makeTicket({ agent });
    const big = await upload(`?ticket_id=${ticket.id}`, Buffer.alloc(3 * 1024 * 1024 + 1), 'big.bin');
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('payload_too_large');
    expect(await db()('blobs').where('sha256', 'like', 'tmp_%')).toHaveLength(0);
    await upload('', Buffer.from('x'), 'x.txt').expect(400);
    await upload('?ticket_id=999999', Buffer.from('x'), 'x.txt').expect(400);
    await upload('?ticket_id=abc', Buffer.from('x'), 'x.txt').expect(400);
    await api().post(`/api/v1/ticketing/attachments?ticket_id=${ticket.id}`).set(agent.auth).field('note', 'no file').expect(400);
    await api().post(`/api/v1/ticketing/attachments?ticket_id=${ticket.id}`).set(agent.auth).send({ file: 'x' }).expect(415);
    await api().get('/api/v1/ticketing/attachments/999999').set(agent.auth).expect(404);
    await api().get('/api/v1/ticketing/attachments/999999/content').set(agent.auth).expect(404);
    await api().post(`/api/v1/ticketing/attachments?ticket_id=${ticket.id}`).attach('file', Buffer.from('x'), 'x.txt').expect(401);
  });

  it('works the same on the filesystem store', async () => {
    const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'helpdesk-blobs-'));
    const before = config();
    setConfig(loadConfig({ ...process.env, BLOB_STORE: 'filesystem', BLOB_DIR: blobDir }));
    try {
      const ticket = await makeTicket({ agent });
      const content = crypto.randomBytes(1.5 * 1024 * 1024);
      const res = await upload(`?ticket_id=${ticket.id}`, content, 'disk.bin').expect(201);
      const file = path.join(blobDir, res.body.sha256.slice(0, 2), res.body.sha256.slice(2, 4), res.body.sha256);
      expect(fs.readFileSync(file).equals(content)).toBe(true);
      const got = await download(`/api/v1/ticketing/attachments/${res.body.id}/content`).expect(200);
      expect(Buffer.compare(got.body as Buffer, content)).toBe(0);
      await api().delete(`/api/v1/ticketing/attachments/${res.body.id}`).set(agent.auth).expect(200);
      expect(fs.existsSync(file)).toBe(false);
    } finally {
      setConfig(before);
      fs.rmSync(blobDir, { recursive: true, force: true });
    }
  });
});
