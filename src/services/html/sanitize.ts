/**
 * The HTML rules of the API, in one place: subjects lose every tag (entities stay as
 * written); bodies keep the seed's allowlist (br img ul ol li strong i p a), `a[href]` only
 * http/https/mailto, `img[src]` only http/https/cid (cid: rewritten to the attachment's
 * content URL when known), and no other attribute.
 */
import sanitizeHtml from 'sanitize-html';

const BODY_TAGS = ['br', 'img', 'ul', 'ol', 'li', 'strong', 'i', 'p', 'a'];

export interface SanitizeOptions {
  /** Maps a `cid:` reference (without the scheme) to a URL; unknown ones are dropped. */
  resolveCid?: (contentId: string) => string | undefined;
}

const keep = (attribs: Record<string, string>, ok: boolean): Record<string, string> => (ok ? attribs : {});

/** A body reduced to the allowlist. */
export function sanitizeBody(html: string, options: SanitizeOptions = {}): string {
  return sanitizeHtml(html, {
    allowedTags: BODY_TAGS,
    allowedAttributes: { a: ['href'], img: ['src'] },
    allowedSchemes: [],
    allowedSchemesByTag: { a: ['http', 'https', 'mailto'], img: ['http', 'https', 'cid'] },
    allowedSchemesAppliedToAttributes: ['href', 'src'],
    allowProtocolRelative: false,
    disallowedTagsMode: 'discard',
    transformTags: {
      // Relative URLs carry no scheme, so sanitize-html would let them through: only
      // absolute http(s)/mailto links and http(s)/cid images stay.
      a: (tagName, attribs) => {
        const href = attribs.href ?? '';
        return { tagName, attribs: keep({ href }, /^(https?:\/\/|mailto:)/i.test(href)) };
      },
      img: (tagName, attribs) => {
        const src = (attribs.src ?? '').trim();
        if (!/^cid:/i.test(src)) return { tagName, attribs: keep({ src }, /^https?:\/\//i.test(src)) };
        const url = options.resolveCid?.(src.slice(4).replace(/^<|>$/g, ''));
        return { tagName, attribs: keep({ src: url ?? '' }, url !== undefined) };
      },
    },
    exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src,
  });
}

/** Elements whose content is code rather than text: removed with their tags (as sanitize-html does). */
const NON_TEXT = ['script', 'style', 'textarea', 'option', 'noscript'];
const NON_TEXT_CLOSE = new Map(NON_TEXT.map((name) => [name, new RegExp(`</${name}`, 'gi')]));

/** Whether `code` after a `<` makes a browser read a tag (start, end, comment, doctype, PI). */
function startsTag(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 33 || code === 47 || code === 63;
}

/** Index just past the tag that starts at `lt` (`>` inside a quoted value does not end it), or the end. */
function endOfTag(text: string, lt: number): number {
  if (text.startsWith('<!--', lt)) {
    const close = text.indexOf('-->', lt + 4);
    return close < 0 ? text.length : close + 3;
  }
  let afterEquals = false;
  for (let i = lt + 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === '>') return i + 1;
    if ((c === '"' || c === "'") && afterEquals) {
      const close = text.indexOf(c, i + 1);
      if (close < 0) return text.length;
      i = close;
      afterEquals = false;
    } else if (c === '=') afterEquals = true;
    else if (!/\s/.test(c)) afterEquals = false;
  }
  return text.length;
}

/** The lower-cased name of a start tag at `lt` (`<name ...`), or '' for anything else. */
function startTagName(text: string, lt: number): string {
  let end = lt + 1;
  while (end < text.length && /[A-Za-z0-9-]/.test(text[end]!)) end++;
  return text.slice(lt + 1, end).toLowerCase();
}

/** Drops each `<` that would start a tag in `text`, right to left, so `<<b>i>` cannot leave `<i>` behind. */
function dropTagOpeners(text: string): string {
  const kept: string[] = [];
  let next = 0;
  for (let i = text.length - 1; i >= 0; i--) {
    const c = text.charCodeAt(i);
    if (c === 60 && startsTag(next)) continue;
    kept.push(text[i]!);
    next = c;
  }
  return kept.reverse().join('');
}

/**
 * A subject (or title) as plain text: every tag and comment removed (script and style with
 * their content), entities left exactly as written, whitespace folded. Entities are never
 * decoded, so `&lt;img&gt;` stays text and no later step can turn it into a tag; a `<`
 * that would open a tag once its neighbours are gone is dropped too. One linear scan.
 */
export function stripTags(text: string): string {
  const parts: string[] = [];
  let textStart = 0;
  let at = 0;
  for (;;) {
    const lt = text.indexOf('<', at);
    if (lt < 0) break;
    if (!startsTag(text.charCodeAt(lt + 1))) {
      at = lt + 1;
      continue;
    }
    parts.push(text.slice(textStart, lt));
    at = endOfTag(text, lt);
    const close = NON_TEXT_CLOSE.get(startTagName(text, lt));
    if (close) {
      close.lastIndex = at;
      const found = close.exec(text);
      at = found ? endOfTag(text, found.index) : text.length;
    }
    textStart = at;
  }
  parts.push(text.slice(textStart));
  return dropTagOpeners(parts.join('').replace(/\s+/g, ' ').trim());
}

/** Plain text turned into HTML paragraphs, escaped. */
export function textToHtml(text: string): string {
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n{2,}/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => `<p>${escape(p).replace(/\n/g, '<br />')}</p>`)
    .join('\n');
}
