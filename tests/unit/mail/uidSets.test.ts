/**
 * UIDs as IMAP sequence sets (uidSets.ts): runs written as ranges, sets cut to a length,
 * and nothing lost, doubled or reordered whatever the UIDs.
 */
import { MAX_SET_CHARS, uidSets } from '../../../src/mail/imap/uidSets';

/** The UIDs a sequence set names. */
function expand(set: string): number[] {
  return set.split(',').flatMap((part) => {
    const [first, last] = part.split(':').map(Number);
    return last === undefined ? [first!] : Array.from({ length: last - first! + 1 }, (_, i) => first! + i);
  });
}

describe('uidSets', () => {
  it('writes runs of consecutive UIDs as ranges, in UID order, each UID once', () => {
    expect(uidSets([7, 1, 2, 3, 5, 3, 9, 10])).toEqual(['1:3,5,7,9:10']);
    expect(uidSets([42])).toEqual(['42']);
    expect(uidSets([])).toEqual([]);
  });

  it('names 30,000 consecutive UIDs in one short set (written one by one they made a 169 KB command)', () => {
    const uids = Array.from({ length: 30_000 }, (_, i) => 1_000_001 + i);
    expect(uidSets(uids)).toEqual(['1000001:1030000']);
  });

  it('cuts UIDs that make no ranges into sets no longer than the bound, losing none', () => {
    // every other UID of a long-lived mailbox: ten digits each, nothing to join
    const uids = Array.from({ length: 20_000 }, (_, i) => 4_000_000_000 + 2 * i);
    const sets = uidSets(uids);
    expect(sets.length).toBeGreaterThan(1);
    for (const set of sets) expect(set.length).toBeLessThanOrEqual(MAX_SET_CHARS);
    expect(sets.flatMap(expand)).toEqual(uids);
  });

  it('keeps random UIDs whole under any bound', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let round = 0; round < 50; round++) {
      const uids = Array.from({ length: 1 + (random() % 3000) }, () => 1 + (random() % 5000));
      const bound = 20 + (random() % 400);
      const sets = uidSets(uids, bound);
      for (const set of sets) expect(set.length).toBeLessThanOrEqual(bound);
      expect(sets.flatMap(expand)).toEqual([...new Set(uids)].sort((a, b) => a - b));
    }
  });
});
