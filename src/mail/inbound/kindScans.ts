/**
 * Searches over the sequence of line kinds (one letter per line, see `LineKind` in
 * quotes.ts) that the quote strippers use to find where a reply ends. These used to be
 * regular expressions over the kinds joined into a string; a backtracking engine took cubic
 * time on them when a stranger sent a long run of one kind (a thousand "From: a" lines).
 * Each search here is one left-to-right pass, so linear in the number of lines, and returns
 * exactly what the expression named beside it matched (tests/unit/mail/kindScans.test.ts
 * checks that against the expression on every short sequence).
 */

/** One letter per line: e, d, s, b, h, q or t. */
export type Kinds = readonly string[];

/** The first index at or after `from` whose kind is not in `run`. */
function skip(kinds: Kinds, from: number, run: string): number {
  let i = from;
  while (i < kinds.length && run.includes(kinds[i]!)) i++;
  return i;
}

/** The first index at or after `from` whose kind is `kind`, or -1. */
function next(kinds: Kinds, from: number, kind: string): number {
  for (let i = from; i < kinds.length; i++) if (kinds[i] === kind) return i;
  return -1;
}

/**
 * `/^e*b[eb]*q[eqbh]*t/`: a quoted block that opens with a marker at the top, with the
 * reply below it. Returns the index of that first reply line (the match's last), or -1.
 */
export function replyBelowTopQuote(kinds: Kinds): number {
  let i = skip(kinds, 0, 'e');
  if (kinds[i] !== 'b') return -1;
  i = skip(kinds, i + 1, 'eb');
  if (kinds[i] !== 'q') return -1;
  i = skip(kinds, i + 1, 'eqbh');
  return kinds[i] === 't' ? i : -1;
}

/**
 * `/te*b[^q]*$/` (tail 'not q') and `/te*b[eqbh]*$/` (tail 'e, q, b or h'): a text line, maybe
 * blank lines, then a marker after which every line satisfies `tail`. Returns the index of
 * the text line, or -1.
 */
export function textBeforeLastMarker(kinds: Kinds, tail: (kind: string) => boolean): number {
  let lastOutside = -1; // the last line the tail does not allow
  for (let i = kinds.length - 1; i >= 0; i--) {
    if (!tail(kinds[i]!)) {
      lastOutside = i;
      break;
    }
  }
  let i = next(kinds, 0, 't');
  while (i >= 0) {
    const j = skip(kinds, i + 1, 'e');
    if (kinds[j] === 'b' && lastOutside <= j) return i;
    i = next(kinds, j, 't');
  }
  return -1;
}

/**
 * `/h+[hte]+h+e/`: a block of header lines, maybe wrapped (text lines between them), that
 * ends with a header then a blank line. Returns the [first, last] index the expression
 * matched (the first match, extended as far as its greedy quantifiers reach), or undefined.
 *
 * Within one run of h, t and e lines, a match starting at an h line i ends at the last
 * h-then-e boundary r of the run, and exists exactly when r >= i + 3; the leftmost i wins.
 */
export function wrappedHeaderBlock(kinds: Kinds): [number, number] | undefined {
  let start = 0;
  while (start < kinds.length) {
    const end = skip(kinds, start, 'hte');
    let last = -1; // the last index r in the run with kinds[r - 1] = h and kinds[r] = e
    for (let r = end - 1; r > start; r--) {
      if (kinds[r] === 'e' && kinds[r - 1] === 'h') {
        last = r;
        break;
      }
    }
    if (last >= 0) {
      const first = next(kinds, start, 'h');
      if (first >= 0 && first <= last - 3) return [first, last];
    }
    start = end + 1;
  }
  return undefined;
}

/** `/t[eq]*h{3,}/`: a text line, maybe blank or quoted lines, then three headers. Index of the text line, or -1. */
export function textBeforeHeaders(kinds: Kinds): number {
  let i = next(kinds, 0, 't');
  while (i >= 0) {
    const j = skip(kinds, i + 1, 'eq');
    if (kinds[j] === 'h' && kinds[j + 1] === 'h' && kinds[j + 2] === 'h') return i;
    i = next(kinds, j, 't');
  }
  return -1;
}

/** `/[eq]+$/`: where the trailing run of blank and quoted lines starts, or -1 if there is none. */
export function trailingQuoteStart(kinds: Kinds): number {
  let i = kinds.length;
  while (i > 0 && (kinds[i - 1] === 'e' || kinds[i - 1] === 'q')) i--;
  return i < kinds.length ? i : -1;
}

/** `/t[eds]*(b)/`: a marker right after a text line (only blank lines, separators or signatures between). Index of the marker, or -1. */
export function markerRightAfterText(kinds: Kinds): number {
  let i = next(kinds, 0, 't');
  while (i >= 0) {
    const j = skip(kinds, i + 1, 'eds');
    if (kinds[j] === 'b') return j;
    i = next(kinds, j, 't');
  }
  return -1;
}

/** `/t[^b]*(b)/`: the first marker after the first text line. Index of the marker, or -1. */
export function markerAfterText(kinds: Kinds): number {
  const t = next(kinds, 0, 't');
  return t < 0 ? -1 : next(kinds, t + 1, 'b');
}

/**
 * `/t[eq]*(h)[eh]*h[eh]*h/`: a text line, maybe blank or quoted lines, then a header that two
 * more follow with only blank lines or headers between. Index of that first header, or -1.
 */
export function headersAfterText(kinds: Kinds): number {
  let i = next(kinds, 0, 't');
  while (i >= 0) {
    const j = skip(kinds, i + 1, 'eq');
    if (kinds[j] === 'h') {
      let more = 0;
      for (let k = j + 1; k < kinds.length && more < 2 && (kinds[k] === 'e' || kinds[k] === 'h'); k++) {
        if (kinds[k] === 'h') more++;
      }
      if (more === 2) return j;
    }
    i = next(kinds, j, 't');
  }
  return -1;
}

/**
 * `/t[^q]*?(q[eq]*)$/`: trailing quoted lines (with blank lines among them) after some text,
 * with no quote between that text and them. Index where the captured quote starts, or -1.
 */
export function trailingQuoteAfterText(kinds: Kinds): number {
  let suffix = kinds.length; // the trailing run of blank and quoted lines starts here
  while (suffix > 0 && (kinds[suffix - 1] === 'e' || kinds[suffix - 1] === 'q')) suffix--;
  const quote = next(kinds, suffix, 'q');
  if (quote < 0) return -1;
  let lastQuoteBefore = -1;
  for (let i = suffix - 1; i >= 0; i--) {
    if (kinds[i] === 'q') {
      lastQuoteBefore = i;
      break;
    }
  }
  const t = next(kinds, lastQuoteBefore + 1, 't');
  return t >= 0 && t < suffix ? quote : -1;
}
