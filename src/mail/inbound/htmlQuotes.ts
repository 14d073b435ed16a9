/**
 * Cuts the quoted history from an HTML reply while keeping its formatting: the HTML is
 * read as lines (block elements and <br> end a line), each line is classified as in the
 * plain-text stripper (quote containers that mail clients mark are markers too), and the
 * HTML is cut where the reply ends. The caller sanitizes the result, which also closes
 * what the cut left open.
 */
import { decodeHTML } from 'entities';
import { Parser } from 'htmlparser2';
import { headersAfterText, markerAfterText, markerRightAfterText, trailingQuoteAfterText } from './kindScans';
import { type LineKind, REPLY_ABOVE_MARKER, kindOf } from './quotes';

const BLOCK = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'br',
  'dd',
  'div',
  'dl',
  'dt',
  'footer',
  'form',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'header',
  'hr',
  'li',
  'ol',
  'p',
  'pre',
  'section',
  'table',
  'tbody',
  'td',
  'th',
  'thead',
  'tr',
  'ul',
  'center',
]);
const SKIP = new Set(['style', 'script', 'head', 'title', 'xml']);

/** Elements mail clients put around the quoted message. */
function isQuoteContainer(name: string, attrs: Record<string, string>): boolean {
  const cls = (attrs.class ?? '').toLowerCase();
  const id = (attrs.id ?? '').toLowerCase();
  const style = (attrs.style ?? '').toLowerCase().replace(/\s+/g, '');
  return (
    /\b(gmail_quote|gmail_extra|moz-cite-prefix|yahoo_quoted|protonmail_quote|zmail_extra|ms-outlook-mobile-reference-message)\b/.test(cls) ||
    /^(divrplyfwdmsg|appendonsend|stopspelling|olk_src_body_section|reply-intro|isforwardcontent|isreplycontent)$/.test(id) ||
    (name === 'blockquote' && (attrs.type ?? '').toLowerCase() === 'cite') ||
    (name === 'div' && /border-top:solid#(b5c4df|e1e1e1)/.test(style)) ||
    (name === 'hr' && id === 'stopspelling')
  );
}

interface HtmlLine {
  text: string;
  start: number;
  kind?: LineKind;
}

function readLines(html: string): HtmlLine[] {
  const lines: HtmlLine[] = [{ text: '', start: 0 }];
  let skip = 0;
  let quoteDepth = 0;
  const quoted: boolean[] = [false];
  const newLine = (at: number, kind?: LineKind) => {
    lines.push({ text: '', start: at, kind });
    quoted.push(quoteDepth > 0);
  };
  const parser: Parser = new Parser(
    {
      onopentag(name, attrs) {
        if (SKIP.has(name)) skip++;
        if (isQuoteContainer(name, attrs)) newLine(parser.startIndex, 'b');
        else if (BLOCK.has(name)) newLine(parser.startIndex);
        if (name === 'blockquote') quoteDepth++;
      },
      onclosetag(name) {
        if (SKIP.has(name)) skip = Math.max(0, skip - 1);
        if (name === 'blockquote') quoteDepth = Math.max(0, quoteDepth - 1);
        if (BLOCK.has(name)) newLine(parser.endIndex + 1);
      },
      ontext(text) {
        if (skip > 0) return;
        const current = lines[lines.length - 1]!;
        current.text += decodeHTML(text)
          .replace(/[\u00a0\u200e\u200f]/g, ' ')
          .replace(/\s+/g, ' ');
        quoted[lines.length - 1] ||= quoteDepth > 0;
      },
    },
    { decodeEntities: false, lowerCaseTags: true },
  );
  parser.write(html);
  parser.end();
  return lines.map((line, i) => ({
    ...line,
    kind: line.kind ?? (quoted[i] && line.text.trim() ? 'q' : kindOf(line.text)),
  }));
}

/** The HTML of the reply above its quoted history (not yet sanitized). */
export function visibleReplyHtml(html: string): string {
  const markerAt = html.indexOf(REPLY_ABOVE_MARKER);
  const source = markerAt >= 0 ? html.slice(0, markerAt) : html;
  const lines = readLines(source);
  const kinds = lines.map((l) => (l.kind === 'd' || l.kind === 's' ? 'e' : l.kind!));
  let cut = markerRightAfterText(kinds);
  if (cut < 0) cut = markerAfterText(kinds);
  if (cut < 0) cut = headersAfterText(kinds);
  if (cut < 0) cut = trailingQuoteAfterText(kinds);
  if (cut < 0) return source;
  return source.slice(0, lines[cut]!.start);
}
