/**
 * A reader of one `Authentication-Results` header value (RFC 8601): the authserv-id and
 * each result (`method=result`, its `reason` and its `ptype.property=value` pairs). The
 * text is anyone's until the caller has checked the authserv-id, so it is read in one
 * pass, character by character: no regular expression, comments (nested) and quoted
 * strings skipped or read as the grammar says, and at most MAX_RESULTS results kept.
 */

export interface AuthResultEntry {
  /** Lower-cased, without its version (`dkim/1` is `dkim`). */
  method: string;
  /** Lower-cased. */
  result: string;
  reason?: string;
  /** `ptype.property` (lower-cased) to its value: `smtp.mailfrom`, `header.d`, `header.from`... */
  props: Record<string, string>;
}

export interface AuthResultsHeader {
  authservId: string;
  results: AuthResultEntry[];
}

const MAX_RESULTS = 50;
const MAX_CHARS = 64 * 1024;

type Token = { kind: 'word'; text: string } | { kind: ';' | '=' };

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';

/** The end of the comment starting at `i` (its `(`), nested comments and escapes included. */
function skipComment(s: string, i: number): number {
  let depth = 0;
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return s.length;
}

/** The quoted string starting at `i` (its `"`): its text, unescaped, and where it ends. */
function readQuoted(s: string, i: number): { text: string; end: number } {
  let text = '';
  for (i++; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') return { text, end: i + 1 };
    if (c === '\\' && i + 1 < s.length) text += s[++i];
    else text += c;
  }
  return { text, end: s.length };
}

/** Words (atoms, quoted strings), `;` and `=`, comments and white space dropped. */
function tokens(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (isSpace(c)) i++;
    else if (c === '(') i = skipComment(s, i);
    else if (c === ';' || c === '=') {
      out.push({ kind: c });
      i++;
    } else if (c === '"') {
      const q = readQuoted(s, i);
      out.push({ kind: 'word', text: q.text });
      i = q.end;
    } else {
      let j = i;
      while (j < s.length && !isSpace(s[j]!) && !'();="'.includes(s[j]!)) j++;
      out.push({ kind: 'word', text: s.slice(i, j) });
      i = j;
    }
  }
  return out;
}

/** `key = value` pairs of one result, in order; a word without `=` is passed over. */
function pairs(list: Token[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < list.length; i++) {
    const key = list[i]!;
    const eq = list[i + 1];
    const value = list[i + 2];
    if (key.kind === 'word' && eq?.kind === '=' && value?.kind === 'word') {
      out.push([key.text, value.text]);
      i += 2;
    }
  }
  return out;
}

function entryOf(list: Token[]): AuthResultEntry | undefined {
  const [first, ...rest] = pairs(list);
  if (!first) return undefined;
  const slash = first[0].indexOf('/');
  const method = (slash >= 0 ? first[0].slice(0, slash) : first[0]).trim().toLowerCase();
  const entry: AuthResultEntry = { method, result: first[1].toLowerCase(), props: {} };
  for (const [key, value] of rest) {
    const k = key.toLowerCase();
    if (k === 'reason') entry.reason = value;
    else if (k.includes('.') && !(k in entry.props)) entry.props[k] = value;
  }
  return method ? entry : undefined;
}

/** The header's authserv-id and results; undefined when it has no authserv-id. */
export function parseAuthResults(value: string): AuthResultsHeader | undefined {
  const list = tokens(value.length > MAX_CHARS ? value.slice(0, MAX_CHARS) : value);
  const first = list[0];
  if (first?.kind !== 'word' || !first.text) return undefined;
  const results: AuthResultEntry[] = [];
  let current: Token[] | undefined;
  const close = () => {
    const entry = current && entryOf(current);
    if (entry && results.length < MAX_RESULTS) results.push(entry);
  };
  // the authserv-id and its optional version come before the first ';'
  for (const t of list.slice(1)) {
    if (t.kind === ';') {
      close();
      current = [];
    } else current?.push(t);
  }
  close();
  return { authservId: first.text, results };
}
