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

/** Splits a raw message into its header block and body (as latin1 text). */
export function splitMessage(raw: Buffer, maxBodyChars = 2_000_000): { headers: RawHeaders; body: string } {
  const text = raw.subarray(0, Math.min(raw.length, maxBodyChars + 256 * 1024)).toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  const end = m ? m.index : text.length;
  return { headers: new RawHeaders(text.slice(0, end)), body: m ? text.slice(end + m[0].length, end + m[0].length + maxBodyChars) : '' };
}

/** Every `<id>` in a Message-ID, In-Reply-To or References value. */
export function messageIds(value: string | undefined): string[] {
  return value ? (value.match(/<[^<>\s]+>/g) ?? []) : [];
}

/** The bare address of a From-like value ("Name <a@b>" -> "a@b"), lower-cased. */
export function addressOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const angled = /<([^<>\s]*)>/.exec(value);
  const candidate = angled ? angled[1] : value.trim().split(/\s+/)[0];
  return candidate ? candidate.toLowerCase() : undefined;
}
