import { donePrefixCounter, relationKeys, splitIntoLanes } from '../../../src/mail/imap/lanes';

const mail = (headers: Record<string, string>) =>
  Buffer.from(
    `${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n')}\r\n\r\nbody\r\n`,
  );

describe('lanes', () => {
  it('relates messages by Message-IDs, sender and ticket numbers (subject or signed address)', () => {
    expect(
      relationKeys(
        mail({
          'Message-ID': '<A@x>',
          'In-Reply-To': '<b@x>',
          References: '<c@x> <b@x>',
          From: 'Pat <Pat@Acme.test>',
          Subject: 'Re: [#abc234] x',
          To: 'support+kmn345-c12-0123456789abcdef0123@help.test',
        }),
      ).sort(),
    ).toEqual(['from:pat@acme.test', 'id:<a@x>', 'id:<b@x>', 'id:<b@x>', 'id:<c@x>', 'ticket:ABC234', 'ticket:KMN345'].sort());
  });

  it('keeps related messages in one lane, in UID order, and spreads the others', async () => {
    const sources = new Map<number, Buffer>([
      [1, mail({ 'Message-ID': '<1@x>', From: 'a@x.test' })],
      [2, mail({ 'Message-ID': '<2@x>', From: 'b@x.test' })],
      [3, mail({ 'Message-ID': '<3@x>', From: 'c@x.test', 'In-Reply-To': '<1@x>' })],
      [4, mail({ 'Message-ID': '<4@x>', From: 'd@x.test', Subject: '[#ABC234]' })],
      [5, mail({ 'Message-ID': '<5@x>', From: 'e@x.test', Subject: 'Re: [#ABC234]' })],
      [6, mail({ 'Message-ID': '<6@x>', From: 'b@x.test' })],
    ]);
    const lanes = await splitIntoLanes([1, 2, 3, 4, 5, 6], sources, 3);
    expect(lanes).toHaveLength(3);
    const laneOf = (uid: number) => lanes.findIndex((l) => l.includes(uid));
    expect(laneOf(1)).toBe(laneOf(3));
    expect(laneOf(4)).toBe(laneOf(5));
    expect(laneOf(2)).toBe(laneOf(6));
    for (const lane of lanes) expect(lane).toEqual([...lane].sort((a, b) => a - b));
    expect(lanes.flat().sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await splitIntoLanes([1, 2], sources, 1)).toEqual([[1, 2]]);
  });

  it('the cursor moves only over a prefix of the UIDs that is done, counted on from where it stopped', () => {
    const count = donePrefixCounter([1, 2, 3, 4, 7]);
    expect(count(new Set([2]))).toBe(0);
    expect(count(new Set([1, 2, 4]))).toBe(2);
    expect(count(new Set([1, 2, 3, 4]))).toBe(4);
    expect(count(new Set([1, 2, 3, 4, 7]))).toBe(5);
    expect(donePrefixCounter([])(new Set([1]))).toBe(0);
  });

  it('counts a million UIDs done batch by batch in one pass', () => {
    const uids = Array.from({ length: 1_000_000 }, (_, i) => 2 * i + 1);
    const count = donePrefixCounter(uids);
    const done = new Set<number>();
    const started = process.hrtime.bigint();
    for (let b = 0; b < uids.length; b += 400) {
      for (const uid of uids.slice(b, b + 400)) done.add(uid);
      expect(count(done)).toBe(Math.min(b + 400, uids.length));
    }
    // a sort per batch took minutes here; one pass takes well under a second (a generous bound, not a benchmark)
    expect(Number(process.hrtime.bigint() - started) / 1e9).toBeLessThan(20);
  });
});
