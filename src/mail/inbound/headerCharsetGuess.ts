/**
 * The charset of a message's raw 8-bit header lines when nothing declares one, guessed once
 * from all of them together (see headerCharset.ts). A From name of two Chinese characters
 * is 4 bytes: no statistics tell a charset from so little, and chardet gives every
 * multi-byte charset the same confidence (10) under 11 double-byte characters. So each
 * candidate that decodes every line cleanly is also judged by what it makes of them, as a
 * reader would:
 *
 * - oddities no writer produces (ODDITIES): a lower-case letter before an upper-case one
 *   inside a word (`ŔîÄČ`, Chinese bytes read as Latin-2), a symbol between two letters
 *   (`Ń÷¸ň`), three non-ASCII Latin letters in a row (`Čâŕí`, Cyrillic read as Latin-2),
 *   C1 controls, Latin letters inside a Cyrillic or Greek word, an ASCII letter between two
 *   letters of another script (Latin text read as Chinese), and a few more;
 * - characters a multi-byte charset holds but that are seldom written (second-level hanzi
 *   and kanji, hanja, half-width kana): Korean bytes read as Shift_JIS are half-width kana;
 *   and Japanese with no kana at all, so that a tie between Chinese and Japanese goes to
 *   Chinese, which never has them;
 * - for it: chardet's confidence, and the characters of chardet's own lists of each
 *   language's most common ones.
 *
 * When chardet has enough bytes for its statistics (TRUSTED_CONFIDENCE), its answer stands.
 * The work is bounded: chardet sees at most SAMPLE_BYTES, the judging at most JUDGE_BYTES.
 */
import chardet from 'chardet';
import type { Match } from 'chardet/lib/match';
import { big5, euc_jp, euc_kr, gb_18030, sjis } from 'chardet/lib/encoding/mbcs';
import { decode } from 'libmime/lib/charset';

/** The most header bytes chardet looks at. */
const SAMPLE_BYTES = 4096;

/** A chardet confidence that comes of statistics, not of a few valid bytes (it gives 10 for those). */
const TRUSTED_CONFIDENCE = 60;

/** The most header bytes each candidate's decoding is judged on. */
const JUDGE_BYTES = 1024;

/** Not candidates: 16 and 32-bit units (no header line is written in them), ISO-2022 (told by its escapes), ASCII and UTF-8 (the lines are neither). */
const NEVER = /^(utf-16|utf-32|iso-2022|ascii$|utf-8$)/i;

/** Weighed even when chardet does not name them (it names none of them on a few bytes of Cyrillic). */
const ALWAYS = ['GB18030', 'Big5', 'Shift_JIS', 'EUC-JP', 'EUC-KR', 'windows-1251', 'KOI8-R', 'windows-1252', 'windows-1250'];

/**
 * Oddities (see the top of this file), each linear: one character class, or a fixed
 * sequence of them, per match.
 */
const ODDITIES: RegExp[] = [
  /\p{Ll}(?=\P{ASCII})\p{Lu}/gu,
  /(?=\P{ASCII})\p{Ll}\p{Lu}/gu,
  /\p{L}(?=\P{ASCII})\p{S}(?=\p{L})/gu,
  // a superscript or fraction after two letters (`Micha³`, Polish read as Latin-1; `m²` is fine)
  /\p{L}\p{L}\p{No}/gu,
  // spacing accents, but not the acute and grave ones that stand for apostrophes ("Don´t")
  /(?!\p{ASCII}|\u00b4)\p{Sk}/gu,
  // C1 controls: windows-125x text read as ISO-8859
  /[\x80-\x9f]/g,
  /(?:(?=\P{ASCII})\p{Script=Latin}){3}/gu,
  /\p{Script=Latin}[\p{Script=Cyrillic}\p{Script=Greek}]|[\p{Script=Cyrillic}\p{Script=Greek}]\p{Script=Latin}/gu,
  // an ASCII letter between two letters of another script, or a letter of another script between two ASCII letters
  /(?!\p{ASCII}|\p{Script=Latin})\p{L}[A-Za-z](?=(?!\p{ASCII}|\p{Script=Latin})\p{L})/gu,
  /[A-Za-z](?!\p{ASCII}|\p{Script=Latin})\p{L}(?=[A-Za-z])/gu,
  // a combining mark with no letter to combine with (Cyrillic read as Thai)
  /(?<!\p{L}|\p{M})\p{M}/gu,
  // Greek: a final sigma inside a word, a medial one at its end, the rare ΐ and ΰ (Cyrillic read as Greek)
  /ς(?=\p{L})|σ(?!\p{L})|[ΐΰ]/gu,
];

const JAPANESE = new Set(['shift_jis', 'euc-jp']);
const KANA = /[\p{Script=Hiragana}\p{Script=Katakana}]/u;

/**
 * Whether a character of a multi-byte charset, given its first two bytes (or one, for
 * half-width kana), is of the kind seldom written in its language.
 */
type Rarity = (lead: number, trail: number) => boolean;

/** Character length at `i` in each multi-byte charset, and which characters are rare. */
const MULTI_BYTE: Record<string, { length: (b: Buffer, i: number) => number; rare: Rarity }> = {
  // GB2312 punctuation (A1-A3) and first-level hanzi (B0-D7) are common; GBK's and GB18030's additions are not
  gb18030: { length: (b, i) => (b[i + 1]! >= 0x30 && b[i + 1]! <= 0x39 ? 4 : 2), rare: (l, t) => t < 0xa1 || !(l <= 0xa3 || (l >= 0xb0 && l <= 0xd7)) },
  // frequent characters end at C67E
  big5: { length: () => 2, rare: (l, t) => l > 0xc6 || (l === 0xc6 && t > 0x7e) },
  // symbols (A1-A3) and Hangul (B0-C8) are common; hanja and the extended Hangul of CP949 are not
  'euc-kr': { length: () => 2, rare: (l, t) => t < 0xa1 || !(l <= 0xa3 || (l >= 0xb0 && l <= 0xc8)) },
  // half-width kana (A1-DF) are one byte; symbols, kana and first-level kanji (889F-9872) are common
  shift_jis: {
    length: (b, i) => (b[i]! >= 0xa1 && b[i]! <= 0xdf ? 1 : 2),
    rare: (l, t) => (l >= 0xa1 && l <= 0xdf) || (l >= 0x84 && l <= 0x87) || l > 0x98 || (l === 0x98 && t > 0x72),
  },
  // half-width kana (8E) and JIS X 0212 (8F) are rare, as is second-level kanji (D0-F4)
  'euc-jp': { length: (b, i) => (b[i] === 0x8f ? 3 : 2), rare: (l) => l < 0xa1 || (l >= 0xa6 && l <= 0xaf) || l >= 0xd0 },
};

function rareCount(bytes: Buffer, charset: string): number {
  const shape = MULTI_BYTE[charset.toLowerCase()];
  if (!shape) return 0;
  let rare = 0;
  for (let i = 0; i < bytes.length;) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    if (shape.rare(lead, bytes[i + 1] ?? 0)) rare++;
    i += shape.length(bytes, i);
  }
  return rare;
}

let commonSets: Map<string, Set<string>> | undefined;

/** chardet's lists of each CJK language's most common characters, as text. */
function commonCharacters(charset: string): Set<string> | undefined {
  if (!commonSets) {
    commonSets = new Map();
    for (const Recognizer of [sjis, big5, euc_jp, euc_kr, gb_18030]) {
      const r = new Recognizer();
      const set = new Set<string>();
      for (const code of r.commonChars) set.add(decode(Buffer.from([code >> 8, code & 0xff]), r.name()));
      commonSets.set(r.name().toLowerCase(), set);
    }
  }
  return commonSets.get(charset.toLowerCase());
}

/** A piece of a header line; `cut` when the line went on past it (a character may be cut in two at its end). */
interface Piece {
  bytes: Buffer;
  cut: boolean;
}

function cleanly(piece: Piece, charset: string): string | undefined {
  try {
    let text = decode(piece.bytes, charset);
    // the last character of a cut line decodes as U+FFFD when the cut split it: not the charset's fault
    if (piece.cut && text.endsWith('\ufffd')) text = text.slice(0, -1);
    return text.includes('\ufffd') ? undefined : text;
  } catch {
    return undefined;
  }
}

/** What a candidate charset makes of the sample: its cost (the lower, the likelier) and what the cost is made of. */
export interface Verdict {
  charset: string;
  cost: number;
  oddities: number;
  rare: number;
  hits: number;
}

/** The candidate's verdict; undefined when it cannot decode the sample. */
function judge(pieces: Piece[], charset: string, confidence: number): Verdict | undefined {
  const texts: string[] = [];
  for (const piece of pieces) {
    const text = cleanly(piece, charset);
    if (text === undefined) return undefined;
    texts.push(text);
  }
  const text = texts.join('\n');
  let oddities = 0;
  for (const oddity of ODDITIES) for (const _ of text.matchAll(oddity)) oddities++;
  const common = commonCharacters(charset);
  let hits = 0;
  if (common) for (const c of text) if (common.has(c)) hits++;
  let rare = pieces.reduce((n, piece) => n + rareCount(piece.bytes, charset), 0);
  // Japanese is seldom written without kana, Chinese never with them: a tie goes to Chinese
  if (JAPANESE.has(charset.toLowerCase()) && !KANA.test(text)) rare++;
  return { charset, cost: 3 * oddities + rare - hits - confidence / 20, oddities, rare, hits };
}

/** Every candidate charset of these header lines that decodes them cleanly, likeliest first (see the top of this file). */
export function judgeHeaderCharsets(lines: Buffer[], found?: Match[]): Verdict[] {
  const sample = upTo(lines, SAMPLE_BYTES);
  if (!sample.length) return [];
  found ??= chardet.analyse(Buffer.concat(sample.map((p) => p.bytes))).filter((m) => !NEVER.test(m.name));
  const candidates = new Map<string, number>(found.map((m) => [m.name, m.confidence]));
  for (const name of ALWAYS) if (!candidates.has(name)) candidates.set(name, 0);
  const judged = upTo(lines, JUDGE_BYTES);
  const verdicts = [...candidates].map(([charset, confidence]) => judge(judged, charset, confidence));
  return verdicts.filter((v) => v !== undefined).sort((a, b) => a.cost - b.cost);
}

/**
 * The likeliest charset of these header lines (raw 8-bit, not UTF-8), or undefined when
 * none decodes them all cleanly. Reads at most SAMPLE_BYTES of them.
 */
export function guessHeaderCharset(lines: Buffer[]): string | undefined {
  const sample = upTo(lines, SAMPLE_BYTES);
  if (!sample.length) return undefined;
  const found = chardet.analyse(Buffer.concat(sample.map((p) => p.bytes))).filter((m) => !NEVER.test(m.name));
  // enough text for chardet's statistics (a multi-byte charset's common characters, a language's trigrams): its answer
  // stands, unless another is as sure (Big5 and EUC-JP both 100 on Japanese kana, which Big5 reads as rare hanzi)
  const [top, second] = found;
  const sure = top && top.confidence >= TRUSTED_CONFIDENCE && (second?.confidence ?? 0) < top.confidence;
  if (sure && sample.every((p) => cleanly(p, top.name) !== undefined)) return top.name;
  return judgeHeaderCharsets(lines, found)[0]?.charset;
}

/** The lines up to `limit` bytes in all. */
function upTo(lines: Buffer[], limit: number): Piece[] {
  const out: Piece[] = [];
  let left = limit;
  for (const line of lines) {
    if (left <= 0) break;
    out.push({ bytes: line.subarray(0, left), cut: line.length > left });
    left -= line.length;
  }
  return out;
}
