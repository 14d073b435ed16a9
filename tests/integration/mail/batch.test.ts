/**
 * Batches of the inbound pipeline (what the IMAP poller's lanes run): messages that
 * depend on each other inside one batch, written together at the end, and the batch's
 * held writes (BatchWrites) on their own.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { config, loadConfig, setConfig } from '../../../src/config';
import { db } from '../../../src/db/knex';
import { BatchWrites } from '../../../src/mail/inbound/batchWrites';
import { ingestBatch, ingestOneByOne } from '../../../src/mail/inbound/ingest';
import { type PreparedMessage, prepareMessage } from '../../../src/mail/inbound/prepare';
import type { Mailbox } from '../../../src/models/Mailbox';
import { readBlobBuffer } from '../../../src/services/blobs/blobStore';
import { makeContact, makeCustomer, makeTicket } from '../../helpers/factories';
import { buildMail, makeMailbox } from '../../helpers/mail';
import { useTestDatabase } from '../../helpers/useTestDatabase';

useTestDatabase();
jest.setTimeout(60_000);

async function prepareAll(box: Mailbox, raws: Buffer[]): Promise<PreparedMessage[]> {
  return Promise.all(raws.map((raw, i) => prepareMessage(box, raw, i + 1)));
}

describe('one batch', () => {
  it('threads, dedupes and creates contacts against what earlier messages of the same batch did', async () => {
    const box = await makeMailbox({ unknown_sender: 'create_contact' });
    const customer = await makeCustomer({ email_domains: ['batchco.test'] });
    const known = await makeContact(customer, { email: 'known@batchco.test' });
    const first = await buildMail({ from: known.email, subject: 'Printer broken', messageId: '<first@batchco.test>' });
    const raws = [
      first,
      await buildMail({
        from: known.email,
        subject: 'Re: Printer broken',
        inReplyTo: '<first@batchco.test>',
        references: '<first@batchco.test>',
        text: 'Still broken.',
      }),
      first, // delivered twice
      await buildMail({ from: 'new.person@batchco.test', subject: 'Hello', messageId: '<new1@batchco.test>' }),
      await buildMail({ from: 'new.person@batchco.test', subject: 'Re: Hello', inReplyTo: '<new1@batchco.test>', text: 'Me again.' }),
    ];
    const results = await db().transaction(async (trx) => ingestBatch(trx, box, await prepareAll(box, raws)));

    expect(results.map((r) => r.outcome)).toEqual(['ticket_created', 'reply_added', 'duplicate', 'ticket_created', 'reply_added']);
    expect(results[1]!.ticketId).toBe(results[0]!.ticketId);
    expect(results[4]!.ticketId).toBe(results[3]!.ticketId);
    const ticket = await db()('tickets').where({ id: results[0]!.ticketId }).first();
    expect(ticket.exchanges).toBe(1);
    const contacts = await db()('contacts').whereRaw('lower(email) = ?', ['new.person@batchco.test']);
    expect(contacts).toHaveLength(1);
    const reply = await db()('replies').where({ id: results[4]!.replyId }).first();
    expect(reply.contact_id).toBe(contacts[0].id);
    // every row the results name is there, linked both ways
    const rows = await db()('inbound_emails').where({ mailbox_id: box.id }).orderBy('id');
    expect(rows.map((r) => r.outcome)).toEqual(['ticket_created', 'reply_added', 'ticket_created', 'reply_added']);
    expect(rows[1].reply_id).toBe(results[1]!.replyId);
    expect((await db()('replies').where({ id: rows[1].reply_id }).first()).inbound_email_id).toBe(rows[1].id);
    expect(await readBlobBuffer(db(), rows[0].raw_sha256)).toEqual(first);
  });

  it('answers an existing ticket by its number, and a stranger with that number gets a new ticket', async () => {
    const box = await makeMailbox();
    const customer = await makeCustomer();
    const contact = await makeContact(customer);
    const stranger = await makeContact(await makeCustomer());
    const ticket = await makeTicket({ customer, contact });
    const raws = [
      await buildMail({ from: contact.email, subject: `Re: [#${ticket.number}] x`, text: 'More.' }),
      await buildMail({ from: stranger.email, subject: `Re: [#${ticket.number}] x`, text: 'Not mine.' }),
      await buildMail({ from: contact.email, subject: `Re: [#${ticket.number}] x`, text: 'And more.' }),
    ];
    const results = await db().transaction(async (trx) => ingestBatch(trx, box, await prepareAll(box, raws)));
    expect(results.map((r) => r.outcome)).toEqual(['reply_added', 'ticket_created', 'reply_added']);
    expect([results[0]!.ticketId, results[2]!.ticketId]).toEqual([ticket.id, ticket.id]);
    expect(results[1]!.ticketId).not.toBe(ticket.id);
    expect((await db()('tickets').where({ id: ticket.id }).first()).exchanges).toBe(ticket.exchanges + 2);
  });

  it('a message that breaks the batch is recorded as failed when redone one by one; the others land', async () => {
    const box = await makeMailbox();
    const contact = await makeContact(await makeCustomer());
    await db().raw(`create or replace function batch_boom() returns trigger as $$
      begin if new.subject = 'BATCH BOOM' then raise exception 'injected fault'; end if; return new; end $$ language plpgsql`);
    await db().raw('create trigger batch_boom before insert on tickets for each row execute function batch_boom()');
    try {
      const prepared = await prepareAll(box, [
        await buildMail({ from: contact.email, subject: 'fine 1' }),
        await buildMail({ from: contact.email, subject: 'BATCH BOOM' }),
        await buildMail({ from: contact.email, subject: 'fine 2' }),
      ]);
      await expect(db().transaction((trx) => ingestBatch(trx, box, prepared))).rejects.toThrow(/injected fault/);
      expect(await db()('inbound_emails').where({ mailbox_id: box.id })).toHaveLength(0);
      const results = await ingestOneByOne(db(), box, prepared);
      expect(results.map((r) => r.outcome)).toEqual(['ticket_created', 'failed', 'ticket_created']);
      const failed = await db()('inbound_emails').where({ id: results[1]!.inboundEmailId }).first();
      expect(failed.error).toMatch(/injected fault/);
      expect(failed.error).not.toMatch(/\n\s+at /); // the class and message, no stack
      // it was tried twice in a row, counted per mailbox and UID, before it was recorded failed
      expect(await db()('inbound_attempts').where({ mailbox_id: box.id })).toEqual([expect.objectContaining({ imap_uid: 2, failures: 2 })]);
    } finally {
      await db().raw('drop trigger batch_boom on tickets');
    }
  });
});

describe('BatchWrites', () => {
  it('merges updates into held rows, holds updates of written rows, and stores blobs once', async () => {
    const customer = await makeCustomer();
    const small = crypto.randomBytes(10_000);
    const big = crypto.randomBytes(2_500_000); // three chunks
    // together over a chunk: written in more than one statement
    const medium = Array.from({ length: 5 }, () => crypto.randomBytes(300_000));
    await db().transaction(async (trx) => {
      const w = new BatchWrites(trx);
      const id = await w.id('contacts');
      w.insert('contacts', { id, contactable_id: customer.id, name: 'Held', email: `held${id}@x.test` });
      w.update('contacts', id, { name: 'Merged' });
      expect(w.putBlob(small).sha256).toBe(w.putBlob(Buffer.from(small)).sha256);
      w.putBlob(big);
      for (const bytes of medium) w.putBlob(bytes);
      await w.flush();
      expect((await trx('contacts').where({ id }).first()).name).toBe('Merged');

      w.update('contacts', id, { name: 'Updated' });
      expect((await trx('contacts').where({ id }).first()).name).toBe('Merged');
      await w.flush();
      expect((await trx('contacts').where({ id }).first()).name).toBe('Updated');
    });
    for (const bytes of [small, big, ...medium]) {
      const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
      expect((await readBlobBuffer(db(), sha256)).equals(bytes)).toBe(true);
    }
    // a blob stored again (another batch) is not written twice
    await db().transaction(async (trx) => {
      const w = new BatchWrites(trx);
      w.putBlob(small);
      await w.flush();
    });
    const sha = crypto.createHash('sha256').update(small).digest('hex');
    expect(await db()('blob_chunks').where({ sha256: sha })).toHaveLength(1);
  });

  it('compresses a blob chunk with lz4 where the server has it (pglz otherwise), and reads it back the same', async () => {
    const text = Buffer.from('Hello, the printer on the second floor is broken again.\r\n'.repeat(2_000));
    const { sha256 } = await db().transaction(async (trx) => {
      const w = new BatchWrites(trx);
      const blob = w.putBlob(text);
      await w.flush();
      return blob;
    });
    const { rows } = await db().raw(`select 'lz4' = any(enumvals) as lz4 from pg_settings where name = 'default_toast_compression'`);
    const stored = await db()('blob_chunks')
      .where({ sha256 })
      .first(db().raw('pg_column_compression(data) as method'), db().raw('pg_column_size(data) as size'));
    expect(stored).toEqual({ method: rows[0].lz4 ? 'lz4' : 'pglz', size: expect.any(Number) });
    expect(stored.size).toBeLessThan(text.length / 10);
    expect((await readBlobBuffer(db(), sha256)).equals(text)).toBe(true);
  });

  it('stores a mailed message and its attachment as files on the filesystem store', async () => {
    const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'helpdesk-mail-blobs-'));
    const before = config();
    setConfig(loadConfig({ ...process.env, BLOB_STORE: 'filesystem', BLOB_DIR: blobDir }));
    try {
      const box = await makeMailbox();
      const contact = await makeContact(await makeCustomer());
      const content = crypto.randomBytes(1.5 * 1024 * 1024);
      const raw = await buildMail({ from: contact.email, subject: 'On disk', attachments: [{ filename: 'disk.bin', content }] });
      const [result] = await db().transaction(async (trx) => ingestBatch(trx, box, await prepareAll(box, [raw])));
      expect(result!.outcome).toBe('ticket_created');
      const onDisk = (sha256: string) => fs.readFileSync(path.join(blobDir, sha256.slice(0, 2), sha256.slice(2, 4), sha256));
      const row = await db()('inbound_emails').where({ id: result!.inboundEmailId }).first();
      expect(onDisk(row.raw_sha256).equals(raw)).toBe(true);
      const attachment = await db()('attachments').where({ ticket_id: result!.ticketId }).first();
      expect(onDisk(attachment.blob_sha256).equals(content)).toBe(true);
      expect((await db()('blobs').where({ sha256: attachment.blob_sha256 }).first()).storage).toBe('filesystem');
    } finally {
      setConfig(before);
      fs.rmSync(blobDir, { recursive: true, force: true });
    }
  });

  it('draws ticket numbers nobody has', async () => {
    await db().transaction(async (trx) => {
      const w = new BatchWrites(trx);
      const numbers = new Set<string>();
      for (let i = 0; i < 30; i++) numbers.add(await w.ticketNumber());
      expect(numbers.size).toBe(30);
      const taken = await trx('tickets').whereIn('number', [...numbers]);
      expect(taken).toHaveLength(0);
    });
  });
});
