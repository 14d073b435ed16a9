/**
 * Reading archives: mbox splitting (mboxrd/mboxo, CRLF, no final newline, resume points)
 * and the maildir delivery order.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listMaildir, sortKey, uniqueName } from '../../../src/mail/archive/maildir';
import { type MboxFormat, NotAnMboxError, canResumeAt, mboxMark, readMbox } from '../../../src/mail/archive/mbox';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-unit-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(content: string | Buffer): string {
  const p = path.join(dir, `f${++n}`);
  fs.writeFileSync(p, content);
  return p;
}

async function read(p: string, opts: { offset?: number; format?: MboxFormat } = {}) {
  const out: { raw: string; start: number; end: number }[] = [];
  for await (const m of readMbox(p, opts)) out.push({ raw: m.raw.toString('latin1'), start: m.start, end: m.end });
  return out;
}

describe('readMbox', () => {
  it('splits on From lines, drops the separating blank line, and un-escapes mboxrd', async () => {
    const text = [
      'From a@x.test Mon Jan  1 00:00:00 2024',
      'Subject: one',
      '',
      '>From the start',
      '>>From a quote',
      'Fromage is not a separator',
      '',
      'From b@x.test Mon Jan  1 00:00:01 2024',
      'Subject: two',
      '',
      'body',
      '',
    ].join('\n');
    const p = file(text);
    const rd = await read(p);
    expect(rd.map((m) => m.raw)).toEqual(['Subject: one\n\nFrom the start\n>From a quote\nFromage is not a separator\n', 'Subject: two\n\nbody\n']);
    expect(rd[0]!.start).toBe(0);
    expect(rd[0]!.end).toBe(text.indexOf('From b@'));
    expect(rd[1]!.end).toBe(Buffer.byteLength(text));
    const o = await read(p, { format: 'mboxo' });
    expect(o[0]!.raw).toContain('\n>From the start\n>>From a quote\n');
  });

  it('tolerates CRLF, leading blank lines, a missing final newline and empty entries', async () => {
    const p = file('\r\n\r\nFrom a Mon\r\nSubject: one\r\n\r\nbody\r\n\r\nFrom empty\r\nFrom c Mon\r\nSubject: last\r\n\r\nno newline');
    expect((await read(p)).map((m) => m.raw)).toEqual(['Subject: one\r\n\r\nbody\r\n', 'Subject: last\r\n\r\nno newline']);
    expect(await read(file(''))).toEqual([]);
  });

  it('refuses a file that does not start with a From line', async () => {
    await expect(read(file('Subject: a lone message\n\nhello\n'))).rejects.toBeInstanceOf(NotAnMboxError);
  });

  it('reads large files across read chunks and resumes at a message boundary', async () => {
    const messages = Array.from({ length: 300 }, (_, i) => `Subject: m${i}\n\n${'x'.repeat(i * 97)}\n>From ${i}\n`);
    const text = messages.map((m, i) => `From s${i}@x.test Mon Jan  1 00:00:00 2024\n${m}\n`).join('');
    expect(text.length).toBeGreaterThan(3 * 1024 * 1024);
    const p = file(text);
    const all = await read(p);
    expect(all.map((m) => m.raw)).toEqual(messages.map((m) => m.replace('>From', 'From')));
    const mark = await mboxMark(p, all[149]!.end);
    expect(await canResumeAt(p, mark)).toBe(true);
    const rest = await read(p, { offset: mark.offset });
    expect(rest.map((m) => m.raw)).toEqual(all.slice(150).map((m) => m.raw));
    expect(await canResumeAt(p, { ...mark, offset: mark.offset + 1 })).toBe(false);
    // rewritten before the mark (a message deleted): not resumable
    fs.writeFileSync(p, text.replace(`From s10@x.test Mon Jan  1 00:00:00 2024\n${messages[10]}\n`, ''));
    expect(await canResumeAt(p, mark)).toBe(false);
  });
});

describe('readMbox with limits', () => {
  const MB = 1024 * 1024;
  const sep = (i: number) => `From s${i}@x.test Mon Jan  1 00:00:0${i} 2024\n`;

  it('holds a message over the limit only by its start, with its size; the messages around it whole', async () => {
    const big = `Subject: big\n\n${'z'.repeat(200 * 1024)}\n`;
    const p = file(`${sep(1)}Subject: one\n\nhi\n\n${sep(2)}${big}\n${sep(3)}Subject: three\n\nbye\n`);
    const out = [];
    for await (const m of readMbox(p, { limits: { maxBytes: 64 * 1024, keepBytes: 1000 } })) out.push(m);
    expect(out.map((m) => m.raw.toString('latin1').split('\n')[0])).toEqual(['Subject: one', 'Subject: big', 'Subject: three']);
    expect(out[0]!.size).toBeUndefined();
    expect(out[1]!.raw.toString('latin1')).toBe(big.slice(0, 1000));
    expect(out[1]!.size).toBe(big.length + 1); // with the blank line before the next From
    expect(out[2]!.size).toBeUndefined();
  });

  it('reads a line of many read chunks in time proportional to it, and a From inside it splits nothing', async () => {
    // a 24 MB line with no newline, with "From " exactly where a read chunk begins
    const head = `${sep(1)}Subject: long\n\n`;
    const line = Buffer.alloc(24 * MB, 0x61);
    const at = 2 * MB - head.length;
    line.write('From inside the line', at, 'latin1');
    const p = file(Buffer.concat([Buffer.from(head), line, Buffer.from(`\n${sep(2)}Subject: after\n\nok\n`)]));
    const started = Date.now();
    const out = [];
    for await (const m of readMbox(p)) out.push(m);
    expect(out).toHaveLength(2);
    expect(out[0]!.raw.length).toBe('Subject: long\n\n'.length + line.length + 1);
    expect(out[1]!.raw.toString('latin1')).toBe('Subject: after\n\nok\n');
    // a generous guard: joining each chunk to the line so far took minutes on a line of hundreds of MB
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe('maildir order', () => {
  it('sorts by the delivery time in the name, then the name, ignoring flags', async () => {
    expect(uniqueName('1700000000.M5P1.host:2,S')).toBe('1700000000.M5P1.host');
    expect(uniqueName('1700000000.M5P1.host!2,RS')).toBe('1700000000.M5P1.host');
    const md = path.join(dir, 'Maildir');
    for (const sub of ['cur', 'new', 'tmp']) fs.mkdirSync(path.join(md, sub), { recursive: true });
    const names = {
      'cur/1000.M2P1.host:2,S': 'c',
      'new/999.M999999P1.host': 'b',
      'cur/999.M5P1.host:2,': 'a',
      'new/1000.M10P1.host': 'd',
      'tmp/1.M1P1.host': 'never',
    };
    for (const [name, body] of Object.entries(names)) fs.writeFileSync(path.join(md, name), body);
    const entries = await listMaildir(md);
    expect(entries.map((e) => fs.readFileSync(path.join(md, e.file), 'utf8'))).toEqual(['a', 'b', 'c', 'd']);
    expect(sortKey('abc', () => 5_500)).toBe(`${'5'.padStart(15, '0')}.500000 abc`);
  });
});
