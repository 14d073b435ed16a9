import path from 'node:path';
import { decodeHTML } from 'entities';
import { simpleParser } from 'mailparser';
import { visibleReplyHtml } from '../../../src/mail/inbound/htmlQuotes';
import { REPLY_ABOVE_MARKER, visibleReplyText } from '../../../src/mail/inbound/quotes';
import { corpusEntries, corpusFile, reportScore, required } from '../../helpers/corpus';
import { inThread, stopThreads } from '../../helpers/inThread';

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

async function scoreSource(source: string): Promise<{ passed: number; total: number; failures: string[] }> {
  let passed = 0;
  let total = 0;
  const failures: string[] = [];
  for (const entry of corpusEntries().filter((e) => e.source === source)) {
    const e = entry.expected ?? {};
    let want: string;
    let got: string;
    let same: (a: string, b: string) => boolean = (a, b) => squash(a) === squash(b);
    if (entry.kind === 'body_text' && typeof e.visible_reply === 'string') {
      want = source === 'email_reply_trimmer' ? corpusFile(e.expected_trimmed_file as string).toString('utf8') : e.visible_reply;
      got = visibleReplyText(corpusFile(entry.file).toString('utf8'));
      if (source === 'email_reply_trimmer') same = (a, b) => a.trim() === b.trim();
    } else if (entry.kind === 'rfc822' && typeof e.visible_reply === 'string') {
      want = e.visible_reply;
      got = visibleReplyText((await simpleParser(corpusFile(entry.file))).text ?? '');
    } else if (entry.kind === 'html_fragment' && typeof e.visible_reply_text === 'string') {
      want = e.visible_reply_text;
      const html = visibleReplyHtml(corpusFile(entry.file).toString('utf8'));
      got = decodeHTML(html.replace(/<(style|head|script)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' '));
      same = (a, b) => a.replace(/\s+/g, '') === b.replace(/\s+/g, '');
    } else continue;
    total++;
    if (same(want, got)) passed++;
    else failures.push(`${entry.file}: expected ${JSON.stringify(want).slice(0, 120)}, got ${JSON.stringify(got).slice(0, 120)}`);
  }
  return { passed, total, failures };
}

/**
 * The scores each source must keep (issue 13): all of email_reply_parser, all but one of
 * email_reply_trimmer (its embedded_email_7 wants "C>" initials read as quotes), and all of
 * talon but its iPhone and Sparrow cases, which keep the device signature that
 * email_reply_parser cuts (we cut it: a helpdesk shows the reply, not the device).
 */
const MINIMUM: Record<string, number> = { email_reply_trimmer: 63, email_reply_parser: 8, talon: 19 };

describe('quote stripping on the corpus', () => {
  it.each(Object.keys(MINIMUM))('%s', async (source) => {
    const { passed, total, failures } = await scoreSource(source);
    const detail = reportScore(`quotes/${source}`, passed, total, failures);
    if (process.env.SHOW_FAILURES) process.stdout.write(`${failures.join('\n')}\n`);
    expect(total).toBeGreaterThan(5);
    const least = Math.max(MINIMUM[source]!, required(total));
    if (passed < least) throw new Error(`${passed}/${total} below ${least}:\n${detail}`);
  });

  it('does not hang on pathological quoting', () => {
    for (const file of ['email_reply_parser/pathological.txt', 'email_reply_parser/greedy_on.txt']) {
      const started = Date.now();
      visibleReplyText(corpusFile(file).toString('utf8'));
      expect(Date.now() - started).toBeLessThan(5000);
    }
    const nasty = `${'On '.repeat(20000)}\n${'> '.repeat(50000)}\n${'a'.repeat(100000)}`;
    const started = Date.now();
    visibleReplyText(nasty);
    visibleReplyHtml(`<div>${'<blockquote>'.repeat(3000)}x</div>`);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

// Each of these took seconds to minutes when the strippers backtracked over the line kinds.
// They run in a thread, so the 10 s timeout given to each is a real guard (no timing is
// asserted): jest cannot interrupt synchronous work on its own thread.
describe('pathological input', () => {
  const LIMIT = 10_000;
  const QUOTES = path.resolve(__dirname, '../../../src/mail/inbound/quotes.ts');
  const HTML_QUOTES = path.resolve(__dirname, '../../../src/mail/inbound/htmlQuotes.ts');
  const text = (body: string) => inThread<string>(QUOTES, 'visibleReplyText', body);
  const html = (body: string) => inThread<string>(HTML_QUOTES, 'visibleReplyHtml', body);
  const visibleText = (cut: string) =>
    decodeHTML(cut.replace(/<[^>]+>/g, ' '))
      .replace(/\s+/g, ' ')
      .trim();
  afterAll(stopThreads);

  it.each([1000, 5000])(
    'a reply above %i "From: a" lines with no blank line after them',
    async (n) => {
      expect(await text(`Thanks, done.\n${'From: a\n'.repeat(n)}`)).toBe('Thanks, done.');
      expect(await text(`Thanks, done.\n${'From: a\n'.repeat(n)}more text`)).toBe('Thanks, done.');
    },
    LIMIT,
  );

  it(
    'a reply above 100 KB of quoted lines',
    async () => {
      expect(await text(`Reply\n${'>\n'.repeat(50_000)}`)).toBe('Reply');
      expect(await text(`Reply\n${'> old\n'.repeat(20_000)}`)).toBe('Reply');
    },
    LIMIT,
  );

  it(
    '10,000 alternating header and text lines',
    async () => {
      // without a blank line after them they are no header block: only the header lines go
      expect(await text(`Hi\n${'From: a\ntext\n'.repeat(5000)}`)).toBe(`Hi\n${'text\n'.repeat(5000)}`.trim());
      // ending in a header and a blank line they are one wrapped header block after the reply
      expect(await text(`Hi\n${'From: a\ntext\n'.repeat(5000)}From: a\n\nold`)).toBe('Hi');
    },
    LIMIT,
  );

  it(
    'a 1 MB line',
    async () => {
      const line = 'x'.repeat(1 << 20);
      expect(await text(line)).toBe(line);
      expect(await text(`On Monday ${' '.repeat(1 << 20)} wrote:\n> old`)).toContain('On Monday');
      expect(await html(`<p>${line}</p>`)).toBe(`<p>${line}</p>`);
    },
    LIMIT,
  );

  it(
    'HTML with 20,000 nested blockquotes',
    async () => {
      expect(visibleText(await html(`<div>Thanks</div>${'<blockquote>'.repeat(20_000)}old${'</blockquote>'.repeat(20_000)}`))).toBe('Thanks');
    },
    LIMIT,
  );

  it(
    'HTML with 50,000 <br>',
    async () => {
      const quote = '<div class="gmail_quote">On Mon, Bob wrote:<blockquote>old</blockquote></div>';
      expect(visibleText(await html(`<p>Thanks</p>${'<br>'.repeat(50_000)}${quote}`))).toBe('Thanks');
      expect(visibleText(await html(`<p>Thanks</p>${'<br>&gt; old'.repeat(50_000)}`))).toBe('Thanks');
    },
    LIMIT,
  );
});

describe('visibleReplyText', () => {
  it('cuts at our own reply-above marker', () => {
    expect(visibleReplyText(`Thanks, fixed!\n\n${REPLY_ABOVE_MARKER}\nOld stuff`)).toBe('Thanks, fixed!');
  });
  it('keeps a reply with no history whole', () => {
    expect(visibleReplyText('Hello,\n\nmy printer is on fire.\n\nBob')).toBe('Hello,\n\nmy printer is on fire.\n\nBob');
  });
  it('cuts an Outlook header block and a wrote-line', () => {
    expect(visibleReplyText('Yes.\n\nFrom: A <a@b.test>\nSent: Monday\nTo: B\nSubject: x\n\nold')).toBe('Yes.');
    expect(visibleReplyText('Sure.\n\nOn Mon, 1 Jan 2024 at 10:00, Help <h@d.test> wrote:\n> old\n> older')).toBe('Sure.');
  });
});

describe('visibleReplyHtml', () => {
  it('cuts at a gmail quote and keeps the formatting above it', () => {
    const html = '<div dir="ltr"><b>Fixed</b>, thanks</div><div class="gmail_quote"><div>On Mon, X wrote:</div><blockquote>old</blockquote></div>';
    expect(visibleReplyHtml(html)).toBe('<div dir="ltr"><b>Fixed</b>, thanks</div>');
  });
  it('leaves HTML without history alone', () => {
    expect(visibleReplyHtml('<p>Hello</p><p>World</p>')).toBe('<p>Hello</p><p>World</p>');
  });
});
