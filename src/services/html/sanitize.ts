/**
 * The HTML rules of the API, in one place: subjects lose every tag; bodies keep the seed's
 * allowlist (br img ul ol li strong i p a), `a[href]` only http/https/mailto, `img[src]`
 * only http/https/cid (cid: rewritten to the attachment's content URL when known), and no
 * other attribute.
 */
import { decodeHTML } from 'entities';
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

/** A subject as plain text: every tag gone, entities decoded, whitespace folded. */
export function stripTags(text: string): string {
  let out = text;
  for (let i = 0; i < 3; i++) {
    const next = decodeHTML(sanitizeHtml(out, { allowedTags: [], allowedAttributes: {} }));
    if (next === out) break;
    out = next;
  }
  return out.replace(/\s+/g, ' ').trim();
}

/** Plain text turned into HTML paragraphs, escaped. */
export function textToHtml(text: string): string {
  const escape = (s: string) =>
    s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n{2,}/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => `<p>${escape(p).replace(/\n/g, '<br />')}</p>`)
    .join('\n');
}
