/**
 * The linear scans over line kinds give what the regular expressions they replaced gave.
 * The expressions are kept here as the specification: on short sequences they are fast.
 */
import { random } from '../../helpers/random';
import {
  type Kinds,
  headersAfterText,
  markerAfterText,
  markerRightAfterText,
  replyBelowTopQuote,
  textBeforeHeaders,
  textBeforeLastMarker,
  trailingQuoteAfterText,
  trailingQuoteStart,
  wrappedHeaderBlock,
} from '../../../src/mail/inbound/kindScans';

const ALPHABET = ['e', 'd', 's', 'b', 'h', 'q', 't'];

/** Each scan beside what its expression said on the same sequence. */
const CASES: [string, (k: Kinds) => unknown, (p: string) => unknown][] = [
  [
    'replyBelowTopQuote',
    replyBelowTopQuote,
    (p) => {
      const m = /^e*b[eb]*q[eqbh]*t/.exec(p);
      return m ? m[0].length - 1 : -1;
    },
  ],
  ['textBeforeLastMarker not q', (k) => textBeforeLastMarker(k, (x) => x !== 'q'), (p) => /te*b[^q]*$/.exec(p)?.index ?? -1],
  ['textBeforeLastMarker eqbh', (k) => textBeforeLastMarker(k, (x) => 'eqbh'.includes(x)), (p) => /te*b[eqbh]*$/.exec(p)?.index ?? -1],
  [
    'wrappedHeaderBlock',
    wrappedHeaderBlock,
    (p) => {
      const m = /h+[hte]+h+e/.exec(p);
      return m ? [m.index, m.index + m[0].length - 1] : undefined;
    },
  ],
  ['textBeforeHeaders', textBeforeHeaders, (p) => /t[eq]*h{3,}/.exec(p)?.index ?? -1],
  ['trailingQuoteStart', trailingQuoteStart, (p) => /[eq]+$/.exec(p)?.index ?? -1],
  [
    'markerRightAfterText',
    markerRightAfterText,
    (p) => {
      const m = /t[eds]*(b)/.exec(p);
      return m ? m.index + m[0].length - 1 : -1;
    },
  ],
  [
    'markerAfterText',
    markerAfterText,
    (p) => {
      const m = /t[^b]*(b)/.exec(p);
      return m ? m.index + m[0].length - 1 : -1;
    },
  ],
  [
    'headersAfterText',
    headersAfterText,
    (p) => {
      const m = /t[eq]*(h)[eh]*h[eh]*h/.exec(p);
      return m ? m.index + m[0].indexOf('h') : -1;
    },
  ],
  [
    'trailingQuoteAfterText',
    trailingQuoteAfterText,
    (p) => {
      const m = /t[^q]*?(q[eq]*)$/.exec(p);
      return m ? p.length - m[1]!.length : -1;
    },
  ],
];

function* allSequences(maxLength: number, alphabet: string[]): Generator<string[]> {
  yield [];
  let level: string[][] = [[]];
  for (let n = 1; n <= maxLength; n++) {
    const nextLevel: string[][] = [];
    for (const s of level) for (const c of alphabet) nextLevel.push([...s, c]);
    yield* nextLevel;
    level = nextLevel;
  }
}

/** A small seeded generator (mulberry32), so a failure can be replayed. */

describe.each(CASES)('%s', (_name, scan, regex) => {
  it('agrees with its expression on every sequence of up to 6 lines', () => {
    for (const kinds of allSequences(6, ALPHABET)) {
      const got = scan(kinds);
      const want = regex(kinds.join(''));
      if (JSON.stringify(got) !== JSON.stringify(want)) expect({ kinds: kinds.join(''), got }).toEqual({ kinds: kinds.join(''), got: want });
    }
  });

  it('agrees with its expression on random longer sequences', () => {
    const seed = 20240611;
    const next = random(seed);
    for (let n = 0; n < 20000; n++) {
      // few letters per sequence, so long runs and the interesting shapes come up often
      const letters = ALPHABET.filter(() => next() < 0.5);
      if (!letters.length) continue;
      const kinds = Array.from({ length: 1 + Math.floor(next() * 40) }, () => letters[Math.floor(next() * letters.length)]!);
      const got = scan(kinds);
      const want = regex(kinds.join(''));
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        expect({ seed, kinds: kinds.join(''), got }).toEqual({ seed, kinds: kinds.join(''), got: want });
      }
    }
  });

  it('takes a long run of one kind in one pass', () => {
    for (const kind of ALPHABET) {
      const kinds = [...Array(100_000).fill(kind), 't', ...Array(100_000).fill(kind), 'e'];
      scan(kinds); // the expression took minutes on some of these; the test timeout is the guard
    }
  });
});
