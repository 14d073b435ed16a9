/**
 * UIDs written as IMAP sequence sets (RFC 3501 §9), for the commands that name messages
 * (FETCH, STORE, MOVE, EXPUNGE): runs of consecutive UIDs as `first:last`, the sets cut so
 * that none is longer than MAX_SET_CHARS.
 *
 * Servers limit the length of a command line: Dovecot's `imap_max_line_length` is 64 KB by
 * default, and RFC 7162 §4 asks clients to keep to about 8,192 octets, which some servers
 * enforce. The UIDs of a backlog written one by one outgrew that (30,000 of them made a
 * 169 KB FETCH), the server refused the command, and the session retried it after each
 * back-off, for ever: the mailbox imported nothing more.
 */

/** The longest set: with the command around it, a line stays under RFC 7162's 8,192 octets. */
export const MAX_SET_CHARS = 6000;

/** `uids` (any order; repeats ignored) as sequence sets of at most `maxChars` characters each, in UID order. */
export function uidSets(uids: Iterable<number>, maxChars = MAX_SET_CHARS): string[] {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const sets: string[] = [];
  let current = '';
  for (let i = 0; i < sorted.length;) {
    let last = i;
    while (last + 1 < sorted.length && sorted[last + 1] === sorted[last]! + 1) last++;
    const run = last > i ? `${sorted[i]}:${sorted[last]}` : `${sorted[i]}`;
    if (current && current.length + 1 + run.length > maxChars) {
      sets.push(current);
      current = run;
    } else current = current ? `${current},${run}` : run;
    i = last + 1;
  }
  if (current) sets.push(current);
  return sets;
}
