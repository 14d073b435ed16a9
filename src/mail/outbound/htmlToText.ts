/**
 * The text part of a message from our sanitized HTML (tags `br img ul ol li strong i p a`):
 * paragraphs as blank-line separated blocks, list items as "- ", links as "text (url)".
 */
import { Parser } from 'htmlparser2';

export function htmlToText(html: string): string {
  let out = '';
  const links: string[] = [];
  const lists: { ordered: boolean; n: number }[] = [];
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        if (name === 'br') out += '\n';
        else if (name === 'p') out += '\n\n';
        else if (name === 'ul' || name === 'ol') {
          lists.push({ ordered: name === 'ol', n: 0 });
          out += '\n';
        } else if (name === 'li') {
          const list = lists[lists.length - 1];
          const bullet = list?.ordered ? `${++list.n}. ` : '- ';
          out += `\n${'  '.repeat(Math.max(0, lists.length - 1))}${bullet}`;
        } else if (name === 'a') links.push(attribs.href ?? '');
        else if (name === 'img' && attribs.alt) out += `[${attribs.alt}]`;
      },
      ontext(text) {
        out += text.replace(/\s+/g, ' ');
      },
      onclosetag(name) {
        if (name === 'p') out += '\n\n';
        else if (name === 'ul' || name === 'ol') {
          lists.pop();
          out += '\n';
        } else if (name === 'a') {
          const href = links.pop();
          if (href && !href.startsWith('mailto:') && !out.endsWith(href)) out += ` (${href})`;
        }
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  return out
    .split('\n')
    .map((line) => line.replace(/(?<![ \t])[ \t]+$/g, '').replace(/^ (?=\S)/, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
