/**
 * Joins an "On <date>, <someone> wrote:" marker that a mail client wrapped over several
 * lines back into one line, so the line classifier sees it whole.
 *
 * Each expression is tried at each line start on a window of at most WINDOW characters
 * from there, not on the whole body: that bounds what its backtracking can cost per line
 * start (the expressions are polynomial, with bounds of a few hundred characters inside,
 * and used to run over the whole body). A match is what the same expression with the `g`
 * flag matched over the whole body before (tests/unit/mail/spanningMarkers.test.ts keeps
 * that as the specification), the trailing blank run included however long it is; only a
 * marker that needs more than WINDOW characters to decide (indented or interrupted by
 * some 800 characters of blank space) can come out differently.
 */

/** Characters an expression may read from one line start (bound of the expressions below). */
const WINDOW = 2000;

const LINE_TERMINATOR = /[\n\r\u2028\u2029]/g;

interface SpanningMarker {
  /** Sticky, so it only matches at the window's start. Input: WINDOW characters at most. */
  re: RegExp;
  /** The characters of the run the expression ends with, before the line end (`$`). */
  tail: RegExp;
  /** Whether it may instead end with a colon and no run. */
  colonAlternative: boolean;
}

/** Markers a mail client may wrap over several lines; each match is joined into one line. */
const SPANNING_MARKERS: SpanningMarker[] = [
  {
    // polynomial; its input is one window of WINDOW (2000) characters from a line start
    re: /^[ \t>-]*(on|at|le|am|op|el|em|il|den|dnia|dňa)\s[^\n]{1,200}(?:\n[^\n]{0,200}){0,4}?\b(wrote|a\s+[ée]crit|schrieb|geschrieben|schreef|het\s+volgende\s+geschreven|escribi[óo]|escreveu|ha scritto|skrev|napisał(?:\(a\))?)(?:[^\n]{0,100}:|[\s.>-]*)$/imy,
    tail: /[\s.>-]/,
    colonAlternative: true,
  },
  {
    // polynomial; its input is one window of WINDOW (2000) characters from a line start
    re: /^[^\n]{0,120}\d{4}[^\n]{0,120}(?:\n[^\n]{0,120})?(написал|пише|napisał\(a\))\s*:\s*$/imy,
    tail: /\s/,
    colonAlternative: false,
  },
  {
    // polynomial; its input is one window of WINDOW (2000) characters from a line start
    re: /^[ \t>]*20\d\d-\d\d-\d\d \d\d?:\d\d GMT[+-]\d\d:\d\d [^\n]{0,100}(?:\n[^\n]{0,100})?>:\s*$/my,
    tail: /\s/,
    colonAlternative: false,
  },
  {
    // polynomial; its input is one window of WINDOW (2000) characters from a line start
    re: /^[^\n]{1,200}\bschrieb am\b[^\n]{0,200}(?:\n[^\n]{0,100})?:\s*$/imy,
    tail: /\s/,
    colonAlternative: false,
  },
];

function isTerminator(c: string | undefined): boolean {
  return c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029';
}

/** The first line start at or after `from` (where `^` matches in multiline mode), or -1. */
function lineStartFrom(text: string, from: number): number {
  if (from === 0 || isTerminator(text[from - 1])) return from < text.length ? from : -1;
  LINE_TERMINATOR.lastIndex = from;
  const t = LINE_TERMINATOR.exec(text);
  return t && t.index + 1 < text.length ? t.index + 1 : -1;
}

/**
 * Where the expression's match at `start` ends in the whole text, given the window's match
 * ended at `end`, or -1 if it would not match there. The expression ends with a greedy run
 * of `tail` characters then `$`: over the whole text that run may go on past the window, and
 * the match then ends before the run's last line end (or at the end of the text).
 */
function wholeTextEnd(text: string, start: number, end: number, marker: SpanningMarker): number {
  if (marker.colonAlternative && text[end - 1] === ':') {
    // its alternative that ends with a colon has no run: `$` must hold right there
    return end === text.length || isTerminator(text[end]) ? end : -1;
  }
  let runStart = end;
  while (runStart > start && marker.tail.test(text[runStart - 1]!)) runStart--;
  let lastTerminator = -1;
  let i = runStart;
  for (; i < text.length && marker.tail.test(text[i]!); i++) if (isTerminator(text[i])) lastTerminator = i;
  return i === text.length ? i : lastTerminator;
}

/** One expression over the whole text, in the order a global replace would match. */
function joinOne(text: string, marker: SpanningMarker): string {
  let out = '';
  let copied = 0;
  let start = lineStartFrom(text, 0);
  while (start >= 0) {
    marker.re.lastIndex = 0;
    const m = marker.re.exec(text.slice(start, start + WINDOW));
    const end = m ? wholeTextEnd(text, start, start + m[0].length, marker) : -1;
    if (end > start) {
      const joined = text.slice(start, end);
      if (joined.includes('\n')) {
        out += text.slice(copied, start) + joined.replace(/\n[\s>-]*/g, ' ');
        copied = end;
      }
      start = lineStartFrom(text, end);
    } else start = lineStartFrom(text, start + 1);
  }
  return out + text.slice(copied);
}

/** The text with each wrapped marker joined into one line (markers on one line stay as they are). */
export function joinSpanningMarkers(text: string): string {
  let out = text;
  for (const marker of SPANNING_MARKERS) out = joinOne(out, marker);
  return out;
}
