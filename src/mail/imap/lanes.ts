/**
 * Splits a batch of messages into lanes that can be ingested at the same time, each lane
 * in its own transaction, so the database works on one message while this process parses
 * the next. Messages that may touch the same ticket or contact stay in one lane, in UID
 * order: two messages are related when they share a Message-ID (their own or one they
 * reference), a sender, or a ticket number (in the subject or in a signed reply address).
 * Unrelated messages rarely meet in the database; when they do anyway (a deadlock, a
 * unique clash), the lane that failed is redone on its own afterwards.
 */
import { addressOf, messageIds, splitMessage } from '../inbound/headers';

const TICKET_IN_SUBJECT = /\[#([A-Za-z0-9]{6})\]/g;
const TICKET_IN_ADDRESS = /\+([a-hj-km-np-z2-9]{6})-[cu]\d+-[0-9a-f]{20}@/gi;

/** What relates a message to others: its ids, sender and ticket numbers. */
export function relationKeys(raw: Buffer): string[] {
  // the headers that relate messages come first; a header block longer than this relates by what it has
  const { headers } = splitMessage(raw, 0, HEADER_BYTES);
  const keys = ['message-id', 'in-reply-to', 'references'].flatMap((h) => messageIds(headers.get(h)).map((id) => `id:${id.toLowerCase()}`));
  const from = addressOf(headers.get('from'));
  if (from) keys.push(`from:${from}`);
  for (const m of (headers.get('subject') ?? '').matchAll(TICKET_IN_SUBJECT)) keys.push(`ticket:${m[1]!.toUpperCase()}`);
  const recipients = ['to', 'cc', 'delivered-to', 'x-original-to'].flatMap((h) => headers.all(h)).join(' ');
  for (const m of recipients.matchAll(TICKET_IN_ADDRESS)) keys.push(`ticket:${m[1]!.toUpperCase()}`);
  return keys;
}

/** How much of a message is searched for its header block. */
const HEADER_BYTES = 64 * 1024;
/** Header bytes read (about 1 ms of work) before the event loop gets a turn. */
const BYTES_PER_TURN = 256 * 1024;

/**
 * Groups `uids` (in order) into at most `maxLanes` lanes of unrelated messages. Reading
 * the header blocks of a whole batch (up to 400 messages, some with 100 KB headers) would
 * hold the event loop, so it gives the loop a turn every BYTES_PER_TURN of header bytes read.
 */
export async function splitIntoLanes(uids: number[], sources: Map<number, Buffer>, maxLanes: number): Promise<number[][]> {
  if (maxLanes <= 1 || uids.length <= 1) return [uids];
  // union-find over messages, joined through shared keys
  const parent = uids.map((_, i) => i);
  const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i]!)));
  const owner = new Map<string, number>();
  let bytes = 0;
  for (const [i, uid] of uids.entries()) {
    const raw = sources.get(uid);
    bytes += Math.min(raw?.length ?? 0, HEADER_BYTES);
    if (bytes > BYTES_PER_TURN) {
      bytes = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
    // a message without a source (expunged) or without relations is its own group
    for (const key of raw ? relationKeys(raw) : []) {
      const j = owner.get(key);
      if (j === undefined) owner.set(key, i);
      else parent[root(i)] = root(j);
    }
  }
  const groups = new Map<number, number[]>();
  uids.forEach((uid, i) => groups.set(root(i), [...(groups.get(root(i)) ?? []), uid]));
  // largest groups first, each into the lightest lane
  const lanes: number[][] = Array.from({ length: Math.min(maxLanes, groups.size) }, () => []);
  for (const group of [...groups.values()].sort((a, b) => b.length - a.length)) {
    lanes.reduce((light, lane) => (lane.length < light.length ? lane : light)).push(...group);
  }
  return lanes.map((lane) => lane.sort((a, b) => a - b));
}

/**
 * How many of `sorted` (UIDs in ascending order) are done from the start, asked again after
 * each batch: it goes on from where it stopped (a message once done stays done), so a
 * backlog of a million UIDs costs one pass in all, not a pass (or a sort) per batch.
 */
export function donePrefixCounter(sorted: readonly number[]): (done: Set<number>) => number {
  let next = 0;
  return (done) => {
    while (next < sorted.length && done.has(sorted[next]!)) next++;
    return next;
  };
}
