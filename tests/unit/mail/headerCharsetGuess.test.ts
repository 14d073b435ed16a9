/**
 * The charset of raw 8-bit header lines guessed from all of them together: what each
 * candidate makes of them, and the bounds on the work (headerCharsetGuess.ts).
 */
import iconv from 'iconv-lite';
import { guessHeaderCharset, judgeHeaderCharsets } from '../../../src/mail/inbound/headerCharsetGuess';

const line = (name: string, text: string, charset: string) => Buffer.concat([Buffer.from(`${name}: `), iconv.encode(text, charset), Buffer.from('\r\n')]);

describe('guessing the charset of raw header lines', () => {
  it('reads the name and the subject together: neither alone is enough', () => {
    const lines = [line('From', '张伟 <zhang.wei@example.cn>', 'gb2312'), line('Subject', '关于三月份发票的问题', 'gb2312')];
    expect(guessHeaderCharset(lines)).toBe('GB18030');
  });

  it('counts what a wrong charset makes of the bytes against it', () => {
    const lines = [line('From', 'Иван Петров <ivan@example.ru>', 'windows-1251'), line('Subject', 'Счёт за март', 'windows-1251')];
    const [best, ...rest] = judgeHeaderCharsets(lines);
    expect(best).toMatchObject({ charset: 'windows-1251', oddities: 0 });
    // Latin-2 reads them as `Čâŕí Ďĺňđîâ`: three non-ASCII Latin letters in a row
    expect(rest.find((v) => v.charset === 'ISO-8859-2')?.oddities).toBeGreaterThan(0);
  });

  it('a long line in a multi-byte charset, cut inside a character by the sample, is still read', () => {
    const subject = line('Subject', '关于上个月运费账单金额不正确的问题，请尽快处理'.repeat(200), 'gbk');
    // "Subject: " is 9 bytes: both the sample (4 KB) and the judged part (1 KB) end inside a character
    expect(subject.length).toBeGreaterThan(8192);
    expect(guessHeaderCharset([subject])).toBe('GB18030');
  });

  it('bounds the work on a hostile header block', () => {
    const junk = Buffer.alloc(1_000_000);
    for (let i = 0; i < junk.length; i++) junk[i] = 0x80 + ((i * 7919) % 128);
    const started = process.hrtime.bigint();
    guessHeaderCharset([junk, junk]);
    // chardet alone took 100 ms on 100 KB; the guess reads a few KB of it
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(1000);
  });

  it('has nothing to guess from no lines', () => {
    expect(guessHeaderCharset([])).toBeUndefined();
  });
});
