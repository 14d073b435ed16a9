/**
 * Joining wrapped markers line start by line start, on a bounded window, gives what the
 * global replace over the whole body gave. That replace is kept here as the specification.
 */
import { joinSpanningMarkers } from '../../../src/mail/inbound/spanningMarkers';
import { random } from '../../helpers/random';

const GLOBAL: RegExp[] = [
  /^[ \t>-]*(on|at|le|am|op|el|em|il|den|dnia|dňa)\s[^\n]{1,200}(?:\n[^\n]{0,200}){0,4}?\b(wrote|a\s+[ée]crit|schrieb|geschrieben|schreef|het\s+volgende\s+geschreven|escribi[óo]|escreveu|ha scritto|skrev|napisał(?:\(a\))?)(?:[^\n]{0,100}:|[\s.>-]*)$/gim,
  /^[^\n]{0,120}\d{4}[^\n]{0,120}(?:\n[^\n]{0,120})?(написал|пише|napisał\(a\))\s*:\s*$/gim,
  /^[ \t>]*20\d\d-\d\d-\d\d \d\d?:\d\d GMT[+-]\d\d:\d\d [^\n]{0,100}(?:\n[^\n]{0,100})?>:\s*$/gm,
  /^[^\n]{1,200}\bschrieb am\b[^\n]{0,200}(?:\n[^\n]{0,100})?:\s*$/gim,
];

function joinedByGlobalReplace(text: string): string {
  let out = text;
  for (const re of GLOBAL) out = out.replace(re, (m) => (m.includes('\n') ? m.replace(/\n[\s>-]*/g, ' ') : m));
  return out;
}

const PIECES = [
  'On Mon, 1 Jan 2024',
  'on',
  'at',
  'Le',
  'Am',
  'den',
  ' ',
  '  ',
  '\t',
  '\n',
  '\n',
  '\n',
  '\n',
  '> ',
  '>',
  '-',
  '.',
  ':',
  'Bob <b@c.d>',
  'wrote',
  'wrote:',
  'a',
  ' a ',
  'écrit',
  'schrieb',
  'het',
  'volgende',
  'geschreven',
  'napisał(a)',
  '1234',
  '2024',
  'написал',
  ' :',
  '2024-01-01 10:00 GMT+01:00 Bob',
  '<b@c.d>',
  '>:',
  'schrieb am',
  'Montag',
  'x',
  'hello world',
  '\u2028',
  '\u00a0',
  'ha scritto',
  'skrev',
];

describe('joinSpanningMarkers', () => {
  it('joins a wrapped attribution line into one', () => {
    expect(joinSpanningMarkers('Thanks\n\nOn Mon, 1 Jan 2024 at 10:00, Bob <b@c.d>\nwrote:\n> old')).toBe(
      'Thanks\n\nOn Mon, 1 Jan 2024 at 10:00, Bob <b@c.d> wrote:\n> old',
    );
    expect(joinSpanningMarkers('Am 01.01.2024 um 10:00\nschrieb Bob:\n> alt')).toBe('Am 01.01.2024 um 10:00 schrieb Bob:\n> alt');
    expect(joinSpanningMarkers('On Monday I wrote the code.\nIt works.')).toBe('On Monday I wrote the code.\nIt works.');
  });

  it('agrees with the global replace on random bodies, blank runs longer than its window included', () => {
    const seed = 977;
    const next = random(seed);
    let changed = 0;
    for (let n = 0; n < 6000; n++) {
      const pieces = PIECES.filter(() => next() < 0.35);
      if (!pieces.length) continue;
      let text = Array.from({ length: 1 + Math.floor(next() * 40) }, () => pieces[Math.floor(next() * pieces.length)]!).join(next() < 0.5 ? '' : ' ');
      if (next() < 0.2) {
        const at = Math.floor(next() * text.length);
        const blank = [' ', '\n', ' \n', '>\n', '.'][Math.floor(next() * 5)]!;
        text = text.slice(0, at) + blank.repeat(Math.floor(next() * 3000)) + text.slice(at);
      }
      const want = joinedByGlobalReplace(text);
      if (want !== text) changed++;
      const got = joinSpanningMarkers(text);
      if (got !== want) expect({ seed, text, got }).toEqual({ seed, text, got: want });
    }
    expect(changed).toBeGreaterThan(200); // the generator reaches the shapes that get joined
  });

  it('reads a megabyte of marker-like lines in linear time', () => {
    const lines = `${'1'.repeat(120)} написал${' '.repeat(1800)}x\n`.repeat(500);
    expect(joinSpanningMarkers(lines)).toBe(lines);
    const wrapped = `On Mon, Bob\n${' \n'.repeat(100_000)}wrote\n\n\n> x`;
    expect(joinSpanningMarkers(wrapped)).toBe(wrapped); // the blank run is longer than any window
  });
});
