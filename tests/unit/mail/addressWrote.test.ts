/** The one-pass test of the "<address> ... wrote:" line says what the expression it replaces says. */
import { isAddressWroteLine } from '../../../src/mail/inbound/addressWrote';
import { random } from '../../helpers/random';

const EXPRESSION = /^.{0,200}\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b.{0,200}\bwrote:?\s*$/i;
const PIECES = [
  'a',
  'B',
  '-',
  '.',
  '..',
  '@',
  'b.c',
  '_',
  '+',
  ' ',
  '  ',
  'wrote',
  'WROTE',
  'Wrote:',
  ':',
  '\u2028',
  '\t',
  '<',
  '>',
  'é',
  'x'.repeat(97),
  ' '.repeat(60),
  'Bob <bob@example.com>',
];

describe('isAddressWroteLine', () => {
  it('recognises the usual attribution lines and nothing else', () => {
    expect(isAddressWroteLine('2024-01-05 10:00 GMT+01:00 Bob <bob@example.com> wrote:')).toBe(true);
    expect(isAddressWroteLine('bob@mail.example.org wrote')).toBe(true);
    expect(isAddressWroteLine('Bob <bob@localhost> wrote:')).toBe(false);
    expect(isAddressWroteLine('I wrote to bob@example.com yesterday')).toBe(false);
  });

  it('agrees with the expression on random lines', () => {
    const seed = 424242;
    const next = random(seed);
    let matched = 0;
    for (let n = 0; n < 30000; n++) {
      const pieces = PIECES.filter(() => next() < 0.4);
      if (!pieces.length) continue;
      let line = Array.from({ length: 1 + Math.floor(next() * 14) }, () => pieces[Math.floor(next() * pieces.length)]!).join('');
      if (next() < 0.6) line += ['wrote', ' wrote:', 'wrote: ', ' wrote ', 'rote'][Math.floor(next() * 5)];
      const want = EXPRESSION.test(line);
      if (want) matched++;
      if (isAddressWroteLine(line) !== want) expect({ seed, line, got: !want }).toEqual({ seed, line, got: want });
    }
    expect(matched).toBeGreaterThan(500); // the generator reaches the interesting shapes
  });

  it('reads a 2,000-character hostile line in one pass', () => {
    expect(isAddressWroteLine(`${'a-'.repeat(100)}@b${'.c-c-c'.repeat(300)}x`)).toBe(false);
    expect(isAddressWroteLine(`${'a-'.repeat(100)}@b${'.c-c-c'.repeat(300)} wrote:`)).toBe(true);
    expect(isAddressWroteLine(`${'a'.repeat(150)}@b${'.c-c-c'.repeat(300)}${' '.repeat(150)}wrote:`)).toBe(true);
    expect(isAddressWroteLine(`${'a'.repeat(150)}@b${'.c-c-c'.repeat(300)}${' '.repeat(250)}wrote:`)).toBe(false);
  });
});
