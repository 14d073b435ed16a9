/** The gap-marker tests say what the expressions they replaced say. */
import { gapMarker } from '../../../src/mail/inbound/gapMarker';
import { random } from '../../helpers/random';

const CASES: [string, { test(line: string): boolean }, RegExp][] = [
  ['wrote on', gapMarker(/\bwrote\s+on\s/iy, /:\s*$/), /^.{1,200}\bwrote\s+on\s.{1,200}:\s*$/i],
  ['schrieb am', gapMarker(/\bschrieb\s+am\s/iy, /:\s*$/), /^.{1,200}\bschrieb\s+am\s.{1,200}:\s*$/i],
  ['via', gapMarker(/\svia\s/iy, /\s(wrote|schrieb):?\s*$/i), /^.{1,200}\svia\s.{1,200}\s(wrote|schrieb):?\s*$/i],
];
const PIECES = [
  'Bob',
  ' ',
  '  ',
  'via',
  ' via ',
  'wrote',
  ' wrote',
  'schrieb',
  ' schrieb am ',
  'Wrote on ',
  'am',
  'on',
  ':',
  ': ',
  '\u2028',
  '\t',
  'x'.repeat(90),
  'é',
];

describe.each(CASES)('%s', (_name, marker, expression) => {
  it('agrees with the expression on random lines', () => {
    const seed = 31337;
    const next = random(seed);
    let matched = 0;
    for (let n = 0; n < 20000; n++) {
      const pieces = PIECES.filter(() => next() < 0.45);
      if (!pieces.length) continue;
      const line = Array.from({ length: 1 + Math.floor(next() * 12) }, () => pieces[Math.floor(next() * pieces.length)]!).join('');
      const want = expression.test(line);
      if (want) matched++;
      if (marker.test(line) !== want) expect({ seed, line, got: !want }).toEqual({ seed, line, got: want });
    }
    expect(matched).toBeGreaterThan(100);
  });
});

it('reads the usual lines', () => {
  expect(CASES[2]![1].test('Bob Smith via Helpdesk wrote:')).toBe(true);
  expect(CASES[1]![1].test('Bob schrieb am 1. Januar 2024:')).toBe(true);
  expect(CASES[0]![1].test('Bob wrote on Monday, 1 January:')).toBe(true);
  expect(CASES[0]![1].test('Bob wrote on Monday')).toBe(false);
});
