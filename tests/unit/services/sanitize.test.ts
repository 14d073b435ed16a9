import { sanitizeBody, stripTags, textToHtml } from '../../../src/services/html/sanitize';

const XSS_VECTORS: [string, string][] = [
  ['<script>alert(1)</script><p>ok</p>', '<p>ok</p>'],
  ['<p onclick="alert(1)">x</p>', '<p>x</p>'],
  ['<img src=x onerror=alert(1)>', ''],
  ['<a href="/relative">r</a>', '<a>r</a>'],
  ['<a href="javascript:alert(1)">x</a>', '<a>x</a>'],
  ['<a href="JaVaScRiPt:alert(1)">x</a>', '<a>x</a>'],
  ['<a href="jav&#x09;ascript:alert(1)">x</a>', '<a>x</a>'],
  ['<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', '<a>x</a>'],
  ['<img src="data:image/svg+xml;base64,PHN2Zz4=">', ''],
  ['<style>body{display:none}</style><p>y</p>', '<p>y</p>'],
  ['<p style="background:url(javascript:alert(1))">z</p>', '<p>z</p>'],
  ['<svg onload=alert(1)><circle/></svg>t', 't'],
  ['<iframe src="https://evil.test"></iframe>u', 'u'],
  ['<<script>script>alert(1)<</script>/script>', '&lt;/script&gt;'],
  ['<p>a<b', '<p>a</p>'],
  ['<object data="x"></object><embed src="y">v', 'v'],
  ['<a href="//evil.test/x">proto-relative</a>', '<a>proto-relative</a>'],
  ['<form action="https://evil.test"><input name=q></form>w', 'w'],
  ['<math><mi xlink:href="javascript:alert(1)">m</mi></math>', 'm'],
  ['<a href="vbscript:msgbox(1)">x</a>', '<a>x</a>'],
  ['<base href="https://evil.test/"><p>k</p>', '<p>k</p>'],
];

describe('sanitizeBody', () => {
  it.each(XSS_VECTORS)('neutralises %s', (input, expected) => {
    const out = sanitizeBody(input);
    expect(out).toBe(expected);
    expect(out).not.toMatch(/<script|onerror|onload|onclick|javascript:|data:|<style|<svg|<iframe|style=/i);
  });

  it('keeps the allowlist with allowed schemes', () => {
    const html =
      '<p><strong>b</strong> <i>i</i><br /><a href="https://x.test/a?b=1">h</a> <a href="mailto:a@b.test">m</a></p>' +
      '<ul><li>1</li></ul><ol><li>2</li></ol><img src="https://x.test/i.png" />';
    expect(sanitizeBody(html)).toBe(html);
  });

  it('drops attributes beyond href and src', () => {
    expect(sanitizeBody('<a href="https://x.test" target="_blank" title="t" class="c">x</a>')).toBe('<a href="https://x.test">x</a>');
    expect(sanitizeBody('<img src="https://x.test/i.png" alt="a" width="3">')).toBe('<img src="https://x.test/i.png" />');
  });

  it('rewrites cid: images through the resolver and drops unknown ones', () => {
    const resolveCid = (cid: string) => (cid === 'logo@x' ? 'https://hd.test/c/1?sig=abc' : undefined);
    expect(sanitizeBody('<img src="cid:logo@x"><img src="cid:other@x">', { resolveCid })).toBe('<img src="https://hd.test/c/1?sig=abc" />');
  });

  it('keeps template syntax as text', () => {
    expect(sanitizeBody('<p>{{ticket.number}}</p>')).toBe('<p>{{ticket.number}}</p>');
  });
});

describe('stripTags', () => {
  it.each([
    ['<b>Printer</b> on fire', 'Printer on fire'],
    ['Tom &amp; Jerry', 'Tom &amp; Jerry'],
    ['<script>alert(1)</script>Hi', 'Hi'],
    ['<STYLE>p{}</Style >Hi', 'Hi'],
    ['&lt;img src=x onerror=alert(1)&gt;', '&lt;img src=x onerror=alert(1)&gt;'],
    ['&amp;amp;lt;img src=x onerror=alert(1)&amp;amp;gt;', '&amp;amp;lt;img src=x onerror=alert(1)&amp;amp;gt;'],
    ['&#60;b&#62; &#x3C;i&#x3E;', '&#60;b&#62; &#x3C;i&#x3E;'],
    ['  a \n\t b  ', 'a b'],
    ['a < b', 'a < b'],
    ['1 <2 and 3> 2', '1 <2 and 3> 2'],
    ['<a title=">">x</a>y', 'xy'],
    ['<a title=\'>\' href="x>">x</a>y', 'xy'],
    ['before <!-- a > b --> after', 'before after'],
    ['<!doctype html><?xml x?>t', 't'],
    ['a<b', 'a'],
    ['unclosed <!-- comment', 'unclosed'],
    ['Ünïcødé 日本語 🎉 <i>ok</i>', 'Ünïcødé 日本語 🎉 ok'],
  ])('%s -> %s', (input, expected) => {
    expect(stripTags(input)).toBe(expected);
  });

  it.each(['<<b>script>alert(1)<</b>/script>', '<<<i>b>img src=x onerror=alert(1)>', '<<!-- x -->img src=x>', '<<script>x</script>/a>'])(
    'leaves no tag behind when tags are nested in tags: %s',
    (input) => {
      const out = stripTags(input);
      expect(out).not.toMatch(/<[A-Za-z!/?]/);
      expect(stripTags(out)).toBe(out);
    },
  );

  it('never decodes entities, however deeply they are encoded', () => {
    let s = '<img src=x onerror=alert(1)>';
    for (let i = 0; i < 4; i++) {
      s = s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      expect(stripTags(s)).toBe(s);
    }
  });

  it('runs in linear time on hostile input', () => {
    for (const unit of ['<', '<a', '<a b="', '<!--', '<<b>', '<a =', '<script>']) {
      const input = unit.repeat(Math.ceil(200_000 / unit.length));
      const started = process.hrtime.bigint();
      stripTags(input);
      expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(500);
    }
  });
});

describe('textToHtml', () => {
  it('escapes and paragraphs plain text', () => {
    expect(textToHtml('Hello <you>\nline two\n\nPara & more')).toBe('<p>Hello &lt;you&gt;<br />line two</p>\n<p>Para &amp; more</p>');
  });
});
