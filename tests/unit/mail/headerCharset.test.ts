/**
 * Header lines in legacy charsets with no encoded words, senders without a domain, broken
 * addresses, and encoded words inside addresses: each class composed with the bytes such
 * mail carries (GB2312/GBK and ISO-2022-JP as Chinese and Japanese mail programs send them).
 * Short headers in a charset nobody declares are guessed from all the header bytes together
 * (headerCharsetGuess.ts); the facts of a held message read the From as the parser would.
 */
import Encoding from 'encoding-japanese';
import iconv from 'iconv-lite';
import { decodeHeaderBytes, readableHeader, withUtf8Headers } from '../../../src/mail/inbound/headerCharset';
import { addressOf, normalizeAddress } from '../../../src/mail/inbound/headers';
import { parseMessage } from '../../../src/mail/inbound/parse';

const crlf = (...parts: (string | Buffer)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
const gb = (text: string) => iconv.encode(text, 'gbk');
const encode = (text: string, charset: string) => iconv.encode(text, charset);
const jis = (text: string) => Buffer.from(Encoding.convert(Encoding.stringToCode(text), { to: 'JIS', from: 'UNICODE' }));

describe('header lines in raw legacy charsets', () => {
  it('GB2312 From and Subject decode by the charset the body declares', async () => {
    const raw = crlf(
      'From: ',
      gb('张三'),
      ' <zhang@example.cn>\r\nSubject: ',
      gb('关于发票的问题'),
      '\r\nContent-Type: text/plain; charset=gb2312\r\n\r\n',
      gb('你好'),
      '\r\n',
    );
    const copy = Buffer.from(raw);
    const parsed = await parseMessage(raw);
    expect(parsed.from).toEqual({ address: 'zhang@example.cn', name: '张三' });
    expect(parsed.subject).toBe('关于发票的问题');
    expect(parsed.text?.trim()).toBe('你好');
    expect(raw.equals(copy)).toBe(true); // the stored bytes are never changed
  });

  it('GBK with no declared charset is detected from the header bytes', async () => {
    const raw = crlf(
      'From: ',
      gb('北京科技有限公司客户服务部'),
      ' <service@example.cn>\r\nSubject: ',
      gb('关于上个月发票金额不正确的问题，请尽快处理'),
      '\r\n\r\nbody\r\n',
    );
    const parsed = await parseMessage(raw);
    expect(parsed.from).toEqual({ address: 'service@example.cn', name: '北京科技有限公司客户服务部' });
    expect(parsed.subject).toBe('关于上个月发票金额不正确的问题，请尽快处理');
  });

  it('a raw ISO-2022-JP subject (7-bit, escape sequences) is decoded', async () => {
    const raw = crlf('From: tanaka@example.jp\r\nSubject: ', jis('請求書について'), '\r\n\r\nbody\r\n');
    expect((await parseMessage(raw)).subject).toBe('請求書について');
  });

  it('raw UTF-8 stays UTF-8, and plain ASCII headers are not rewritten', async () => {
    const raw = crlf(
      'From: ',
      Buffer.from('Zoë Ångström', 'utf8'),
      ' <zoe@example.se>\r\nSubject: ',
      Buffer.from('Köp – fråga', 'utf8'),
      '\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nx\r\n',
    );
    const parsed = await parseMessage(raw);
    expect(parsed.from).toEqual({ address: 'zoe@example.se', name: 'Zoë Ångström' });
    expect(parsed.subject).toBe('Köp – fråga');
    expect(withUtf8Headers(crlf('From: a@b.example\r\nSubject: plain\r\n\r\nx'))).toBeUndefined();
  });

  it('bytes no charset decodes cleanly fall back to windows-1252, one line spoiling no other', () => {
    expect(decodeHeaderBytes(Buffer.from([0x43, 0x61, 0x66, 0xe9]))).toBe('Café');
    const raw = crlf('Subject: ', gb('发票'), '\r\nFrom: ', Buffer.from('René', 'utf8'), ' <r@example.fr>\r\nContent-Type: text/plain; charset=gbk\r\n\r\nx');
    const head = withUtf8Headers(raw)!.toString('utf8');
    expect(head).toContain('Subject: 发票');
    expect(head).toContain('From: René <r@example.fr>');
  });

  it('the facts of a message that cannot be parsed read its subject the same way', () => {
    const raw = crlf('Subject: ', gb('发票'), '\r\nContent-Type: text/plain; charset=gb2312\r\n\r\nx');
    expect(readableHeader(gb('发票').toString('latin1'), raw)).toBe('发票');
    expect(readableHeader('=?UTF-8?B?w6lsw6h2ZQ==?=', raw)).toBe('élève');
  });
});

describe('short headers in a charset nobody declares', () => {
  /** A From name and a subject in raw bytes of `charset`, no MIME header anywhere. */
  const undeclared = (charset: string, name: string, subject: string) =>
    crlf('From: ', encode(name, charset), ' <someone@example.org>\r\nTo: support@helpdesk.example\r\nSubject: ', encode(subject, charset), '\r\n\r\nbody\r\n');

  // each of these decodes wrong line by line: too few bytes for a charset
  it.each([
    ['gb2312', '张伟', '关于三月份发票的问题'],
    ['gb2312', '李娜', '订单发货延迟'],
    ['shift_jis', '佐藤', '請求書の件'],
    ['shift_jis', '中村', '支払いについて'],
    ['euc-jp', '鈴木一郎', '注文の確認'],
    ['big5', '林志明', '訂單延遲'],
    ['euc-kr', '김민수', '3월 청구서 문의'],
    ['windows-1251', 'Иван Петров', 'Счёт за март'],
    ['koi8-r', 'Николай', 'Брак'],
  ])('%s: %s, %s', async (charset, name, subject) => {
    const parsed = await parseMessage(undeclared(charset, name, subject));
    expect(parsed.from).toEqual({ address: 'someone@example.org', name });
    expect(parsed.subject).toBe(subject);
  });

  it('western single-byte headers still read as before', async () => {
    for (const [charset, name, subject] of [
      ['windows-1252', 'Jürgen Müller', 'Rechnung für März'],
      ['windows-1252', 'Don´t', 'Señor Muñoz'],
      ['windows-1252', 'François Dupré', 'Facture de mars'],
      ['windows-1250', 'Paweł Kowalski', 'Faktura za marzec'],
    ]) {
      const parsed = await parseMessage(undeclared(charset!, name!, subject!));
      expect([parsed.from?.name, parsed.subject]).toEqual([name, subject]);
    }
  });

  it('a line in valid UTF-8 stays UTF-8 beside lines in the guessed charset', async () => {
    const raw = crlf(
      'From: ',
      encode('Иван Петров', 'windows-1251'),
      ' <ivan@example.ru>\r\nSubject: ',
      Buffer.from('Счёт за март', 'utf8'),
      '\r\nX-Note: ',
      encode('Счёт', 'windows-1251'),
      '\r\n\r\nx\r\n',
    );
    const parsed = await parseMessage(raw);
    expect(parsed.from?.name).toBe('Иван Петров');
    expect(parsed.subject).toBe('Счёт за март');
  });

  it('a held message (its facts read from the raw header block) guesses the same way', () => {
    const raw = undeclared('windows-1251', 'Иван Петров', 'Счёт за март');
    expect(readableHeader(encode('Счёт за март', 'windows-1251').toString('latin1'), raw)).toBe('Счёт за март');
  });
});

describe('senders and broken addresses', () => {
  it('a sender with no domain keeps its local part as the address', async () => {
    const parsed = await parseMessage(crlf('From: MAILER-DAEMON (Mail Delivery System)\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\nx\r\n'));
    expect(parsed.from?.address).toBe('mailer-daemon');
  });

  it('quoted addr-specs and spaces inside local parts are normalized', async () => {
    const from = async (value: string) => (await parseMessage(crlf(`From: ${value}\r\nSubject: x\r\n\r\nx\r\n`))).from?.address;
    expect(await from('"user@example.com"')).toBe('user@example.com');
    expect(await from('"John" <"john.smith"@example.com>')).toBe('john.smith@example.com');
    expect(await from('"Joe" <"joe smith"@example.com>')).toBe('joesmith@example.com');
    expect(await from('joe smith@example.com')).toBe('joesmith@example.com');
  });

  it('an encoded word inside an address, or an address quoted inside one, is never read as another address', async () => {
    const from = async (value: string) => (await parseMessage(crlf(`From: ${value}\r\nSubject: x\r\n\r\nx\r\n`))).from?.address;
    const encoded = await from('=?utf-8?q?attacker?q?agent?=@victim.example');
    expect(encoded).toBe('=?utf-8?q?attacker?q?agent?=@victim.example');
    const quoted = await from('"agent@victim.example"@attacker.example');
    expect(quoted).toBe('"agent@victim.example"@attacker.example');
    for (const address of [encoded, quoted]) expect(address).not.toBe('agent@victim.example');
    expect(normalizeAddress('"agent@victim.example"@attacker.example')).toBe('"agent@victim.example"@attacker.example');
    expect(normalizeAddress('"agent victim"@attacker.example')).toBe('agentvictim@attacker.example');
  });

  it('the raw From of a held message names the sender the parser would have', async () => {
    const values = [
      '"user@example.com"',
      '"John Smith" <"john.smith"@example.com>',
      '"Joe" <"joe smith"@example.com>',
      'joe smith@example.com',
      '"agent victim"@attacker.example',
      'Joe <JOE@Example.COM>',
      'MAILER-DAEMON (Mail Delivery System)',
      'MAILER-DAEMON <>',
      'Mail Delivery Subsystem <MAILER-DAEMON>',
      'a@b.example (Comment)',
      // spoofs: never the agent's address, on either path
      '=?utf-8?q?attacker?q?agent?=@victim.example',
      '"agent@victim.example"@attacker.example',
      '<"agent@victim.example"@attacker.example>',
      '=?utf-8?q?agent@victim.example?= <attacker@attacker.example>',
      '"agent@victim.example" <attacker@attacker.example>',
    ];
    for (const value of values) {
      const parsed = (await parseMessage(crlf(`From: ${value}\r\nSubject: x\r\n\r\nx\r\n`))).from?.address;
      expect({ value, held: addressOf(value) }).toEqual({ value, held: parsed });
    }
    expect(addressOf('joe smith@example.com')).toBe('joesmith@example.com');
    expect(addressOf('"user@example.com"')).toBe('user@example.com');
    for (const spoof of values.slice(-5)) expect(addressOf(spoof)).not.toBe('agent@victim.example');
  });
});
