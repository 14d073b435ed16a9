import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setNow } from '../../../src/clock';
import { config, loadConfig, setConfig } from '../../../src/config';
import { db } from '../../../src/db/knex';
import { findJob } from '../../../src/jobs/registry';
import { logger } from '../../../src/logger';
import { stageAttachment } from '../../../src/services/attachments/attachments';
import { putBlobBuffers, sweepUnlinkedBlobs } from '../../../src/services/blobs/blobStore';
import { type Agent, api, makeTicket, makeUser } from '../../helpers/factories';
import { useTestDatabase } from '../../helpers/useTestDatabase';
import { waitFor } from '../../helpers/waitFor';

useTestDatabase();

let agent: Agent;
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4a80000000049454e44ae426082',
  'hex',
);

beforeAll(async () => {
  setConfig(loadConfig({ ...process.env, ATTACHMENT_MAX_BYTES: String(3 * 1024 * 1024) }));
  agent = await makeUser();
});
afterEach(() => setNow(undefined));

const upload = (query: string, content: Buffer, filename: string, contentType?: string) =>
  api().post(`/api/v1/ticketing/attachments${query}`).set(agent.auth).attach('file', content, { filename, contentType });

function download(url: string, auth = true) {
  const req = api()
    .get(url)
    .buffer(true)
    .parse((res, cb) => {
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
    expect(res.body).toMatchObject({
      filename: 'dump.bin',
      size: content.length,
      ticket_id: ticket.id,
      sha256: crypto.createHash('sha256').update(content).digest('hex'),
    });
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
    await api()
      .get(url.replace(/signature=./, 'signature=x'))
      .expect(401);
    await api()
      .get(url.replace(`/attachments/${res.body.id}/`, `/attachments/${res.body.id + 1}/`))
      .expect(401);
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
    const reply = await api()
      .post(`/api/v1/replies?ticket_id=${ticket.id}`)
      .set(agent.auth)
      .send({ body: 'x', close: false, send_to_assignee: false, send_to_contacts: false })
      .expect(201);
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
    const moved = await api()
      .put(`/api/v1/ticketing/attachments/${res.body.id}`)
      .set(agent.auth)
      .send({ filename: 'x/../renamed.txt', ticket_id: other.id })
      .expect(200);
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
      expect(fs.readdirSync(path.join(blobDir, 'tmp'))).toEqual([]);
      await api().delete(`/api/v1/ticketing/attachments/${res.body.id}`).set(agent.auth).expect(200);
      // the file goes once the deletion has committed
      await waitFor(() => !fs.existsSync(file), { what: 'the file removed' });
    } finally {
      setConfig(before);
      fs.rmSync(blobDir, { recursive: true, force: true });
    }
  });

  it('links fields sent after the file', async () => {
    const ticket = await makeTicket({ agent });
    const res = await api()
      .post('/api/v1/ticketing/attachments')
      .set(agent.auth)
      .attach('file', Buffer.from('late fields'), 'late.txt')
      .field('ticket_id', String(ticket.id))
      .expect(201);
    expect(res.body).toMatchObject({ ticket_id: ticket.id, filename: 'late.txt', size: 11 });
    const bad = await api().post('/api/v1/ticketing/attachments').set(agent.auth).attach('file', Buffer.from('x'), 'x.txt').field('ticket_id', '999999');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields).toHaveProperty('ticket_id');
    expect(await db()('blobs').where('sha256', 'like', 'tmp_%')).toHaveLength(0);
  });

  it('sweeps staged and unlinked blobs past the grace period, never a linked or a recent one', async () => {
    const ticket = await makeTicket({ agent });
    const linked = await upload(`?ticket_id=${ticket.id}`, crypto.randomBytes(2000), 'kept.bin').expect(201);
    const old = await stageAttachment(
      (async function* () {
        yield crypto.randomBytes(1.2 * 1024 * 1024);
      })(),
      10 * 1024 * 1024,
    );
    const recent = await stageAttachment(
      (async function* () {
        yield Buffer.from('recent');
      })(),
      1024,
    );
    const orphan = crypto.randomBytes(500);
    const raw = crypto.randomBytes(700);
    const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
    await db().transaction((t) =>
      putBlobBuffers(
        t,
        new Map([
          [sha(orphan), orphan],
          [sha(raw), raw],
        ]),
      ),
    );
    // a raw message's blob is referenced by inbound_emails: the sweep finds that foreign key itself
    await db()('inbound_emails').insert({
      message_id: `<sweep-${process.pid}@x.test>`,
      received_at: new Date(),
      size: 700,
      outcome: 'failed',
      raw_sha256: sha(raw),
    });
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await db()('blobs')
      .whereIn('sha256', [old.temp, sha(orphan), sha(raw), linked.body.sha256])
      .update({ created_at: twoHoursAgo });

    expect(await sweepUnlinkedBlobs(db(), 3600)).toEqual({ temporary: 1, unlinked: 1, files: 0 });
    const left = (await db()('blobs').select('sha256')).map((r: { sha256: string }) => r.sha256);
    expect(left).toEqual(expect.arrayContaining([linked.body.sha256, sha(raw), recent.temp]));
    expect(left).not.toContain(old.temp);
    expect(left).not.toContain(sha(orphan));
    expect(await db()('blob_chunks').whereIn('sha256', [old.temp, sha(orphan)])).toHaveLength(0);

    // the job sweeps with at least an hour's grace: the recent staged row survives it
    const job = findJob('blob-sweep')!;
    expect(await job.run({ log: logger, progress: () => undefined })).toEqual({ temporary: 0, unlinked: 0, files: 0 });
    expect(await sweepUnlinkedBlobs(db(), 0)).toMatchObject({ temporary: 1 });
    expect(await db()('blobs').where('sha256', 'like', 'tmp_%')).toHaveLength(0);
    expect((await download(`/api/v1/ticketing/attachments/${linked.body.id}/content`).expect(200)).body).toHaveLength(2000);
  });

  it('on the filesystem store, sweeps old temporary files and files no row names', async () => {
    const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'helpdesk-blobs-'));
    const before = config();
    setConfig(loadConfig({ ...process.env, BLOB_STORE: 'filesystem', BLOB_DIR: blobDir }));
    try {
      const ticket = await makeTicket({ agent });
      const linked = await upload(`?ticket_id=${ticket.id}`, crypto.randomBytes(3000), 'kept.bin').expect(201);
      const fileOf = (sha256: string) => path.join(blobDir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
      const staged = await stageAttachment(
        (async function* () {
          yield Buffer.from('abandoned');
        })(),
        1024,
      );
      const stray = crypto.randomBytes(64).toString('hex').slice(0, 64);
      fs.mkdirSync(path.dirname(fileOf(stray)), { recursive: true });
      fs.writeFileSync(fileOf(stray), 'no row names me');
      const fresh = crypto.randomBytes(32).toString('hex');
      fs.mkdirSync(path.dirname(fileOf(fresh)), { recursive: true });
      fs.writeFileSync(fileOf(fresh), 'maybe being linked right now');
      const past = new Date(Date.now() - 2 * 3600_000);
      for (const f of [staged.temp, fileOf(stray), fileOf(linked.body.sha256)]) fs.utimesSync(f, past, past);

      expect(await sweepUnlinkedBlobs(db(), 3600)).toEqual({ temporary: 0, unlinked: 0, files: 2 });
      expect(fs.existsSync(staged.temp)).toBe(false);
      expect(fs.existsSync(fileOf(stray))).toBe(false);
      expect(fs.existsSync(fileOf(fresh))).toBe(true);
      expect(fs.existsSync(fileOf(linked.body.sha256))).toBe(true);
    } finally {
      setConfig(before);
      fs.rmSync(blobDir, { recursive: true, force: true });
    }
  });
});
