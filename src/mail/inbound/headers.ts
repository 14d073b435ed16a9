import { cleanText } from '../../text/cleanText';

/**
 * Raw header access over a message's header block: the first value of a header,
 * unfolded, as written (no decoding), and every value of a repeated header.
 */
export class RawHeaders {
  private readonly map = new Map<string, string[]>();

  constructor(block: string) {
    const unfolded = block.replace(/\r?\n[ \t]+/g, ' ');
    for (const line of unfolded.split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      const key = line.slice(0, i).trim().toLowerCase();
      const list = this.map.get(key) ?? [];
      list.push(line.slice(i + 1).trim());
      this.map.set(key, list);
    }
  }

  get(name: string): string | undefined {
    return this.map.get(name.toLowerCase())?.[0];
  }

  all(name: string): string[] {
    return this.map.get(name.toLowerCase()) ?? [];
  }

  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }
}

/** Where the header block ends (the first empty line) within the first `limit` bytes. */
function headerEnd(raw: Buffer, limit: number): { end: number; bodyStart: number } | undefined {
  for (let j = raw.indexOf(10); j !== -1 && j < limit; j = raw.indexOf(10, j + 1)) {
    const bodyStart = raw[j + 1] === 10 ? j + 2 : raw[j + 1] === 13 && raw[j + 2] === 10 ? j + 3 : -1;
    if (bodyStart !== -1 && bodyStart <= limit) return { end: raw[j - 1] === 13 ? j - 1 : j, bodyStart };
  }
  return undefined;
}

/**
 * Splits a raw message into its header block (looked for in the first `searchBytes`) and
 * at most `maxBodyChars` of its body (as latin1 text); only what is asked for is turned
 * into text.
 */
export function splitMessage(raw: Buffer, maxBodyChars = 2_000_000, searchBytes = maxBodyChars + 256 * 1024): { headers: RawHeaders; body: string } {
  const limit = Math.min(raw.length, searchBytes);
  const split = headerEnd(raw, limit);
  if (!split) return { headers: new RawHeaders(raw.toString('latin1', 0, limit)), body: '' };
  const body = maxBodyChars > 0 ? raw.toString('latin1', split.bodyStart, Math.min(raw.length, split.bodyStart + maxBodyChars)) : '';
  return { headers: new RawHeaders(raw.toString('latin1', 0, split.end)), body };
}

/** Every `<id>` in a Message-ID, In-Reply-To or References value, cleaned (see cleanText). */
export function messageIds(value: string | undefined): string[] {
  if (!value) return [];
  return (value.match(/<[^<>\s]+>/g) ?? []).map(cleanText).filter((id) => id.length > 2);
}

/** The bare address of a From-like value ("Name <a@b>" -> "a@b"), lower-cased. */
export function addressOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const angled = /<([^<>\s]*)>/.exec(value);
  const candidate = angled ? angled[1] : value.trim().split(/\s+/)[0];
  const address = candidate ? cleanText(candidate).toLowerCase() : '';
  return address || undefined;
}
