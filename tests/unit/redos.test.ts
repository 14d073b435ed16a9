/**
 * Every regular expression under src/mail and src/services/html runs on text a stranger
 * sent, so none may backtrack super-linearly on unbounded input. Each literal (and each
 * `new RegExp` of a literal) is checked with recheck, a ReDoS analyzer:
 * - exponential: always a failure;
 * - polynomial (or undecided in recheck's time limit): allowed only when listed below with
 *   the bound on its input, and when a comment beside it in the code says it is polynomial
 *   and how its input is bounded;
 * - a listed expression that no longer exists is a failure too, so the list stays honest.
 *
 * recheck runs its native binary when the platform package is installed (optional
 * dependency), else its pure JavaScript build (RECHECK_BACKEND=pure forces it); both take
 * the same parameters. About a minute natively, a quarter of an hour in JavaScript.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');
const DIRS = ['src/mail', 'src/services/html'];

/** What one-line and one-window inputs are cut to, as the code beside each says. */
const LINE = 'one line, cut to MAX_LINE=2000 characters (kindOf)';
const WINDOW = 'one window of WINDOW=2000 characters from a line start (joinOne)';

/**
 * Polynomial expressions allowed because their input is bounded, with that bound. Those with
 * bounded repetitions next to parts that match the same text are listed whether or not one
 * run of recheck's fuzzer catches them: they are polynomial up to their bounds.
 */
const BOUNDED: { file: string; source: string; bound: string }[] = [
  { file: 'src/mail/inbound/quotes.ts', source: String.raw`^[\s>-]*(on|at)\s.{1,300}?\b(wrote|writes|said|says)[\s.:>-]*$`, bound: LINE },
  { file: 'src/mail/inbound/quotes.ts', source: String.raw`^[\s>-]*in message\s.{1,300}?\bwrites[\s.:>-]*$`, bound: LINE },
  { file: 'src/mail/inbound/quotes.ts', source: String.raw`^[\s>-]*le\s.{1,300}?\ba\s+[ée]crit[\s.:>-]*$`, bound: LINE },
  { file: 'src/mail/inbound/quotes.ts', source: String.raw`^[\s>-]*am\s.{1,300}?\b(schrieb|geschrieben)\b.{0,200}:?\s*$`, bound: LINE },
  { file: 'src/mail/inbound/quotes.ts', source: String.raw`^[\s>-]*op\s.{1,300}?\b(schreef|het volgende geschreven)\b.{0,200}:?\s*$`, bound: LINE },
  { file: 'src/mail/inbound/quotes.ts', source: String.raw`^[\s>-]*el\s.{1,300}?\bescribi[óo][\s.:>-]*$`, bound: LINE },
  { file: 'src/mail/inbound/quotes.ts', source: String.raw`^[\s>-]*em\s.{1,300}?\bescreveu[\s.:>-]*$`, bound: LINE },
  { file: 'src/mail/inbound/quotes.ts', source: String.raw`^[\s>-]*il\s.{1,300}?\bha scritto[\s.:>-]*$`, bound: LINE },
  { file: 'src/mail/inbound/quotes.ts', source: String.raw`^[\s>-]*(dnia|dňa)\s.{1,300}?\bnapisał(\(a\))?[\s.:>-]*$`, bound: LINE },
  { file: 'src/mail/inbound/quotes.ts', source: String.raw`^[\s>-]*den\s.{1,300}?\bskrev\b.{0,200}:\s*$`, bound: LINE },
  { file: 'src/mail/inbound/quotes.ts', source: String.raw`\d{4}.{1,80}\bnapisał\(a\):\s*$`, bound: LINE },
  { file: 'src/mail/inbound/quotes.ts', source: String.raw`\d{4}.{1,80}<[^@<>\s]+@[^@<>\s][^@<>\s.]*\.[^@<>\s]+>:\s*$`, bound: LINE },
  { file: 'src/mail/inbound/quotes.ts', source: String.raw`\d{4}.{1,160}(написал|пише|napisał\(a\))\s*:\s*$`, bound: LINE },
  { file: 'src/mail/inbound/quotes.ts', source: String.raw`^.{0,10}在.{1,200}写道[\s.:>-]*$`, bound: LINE },
  {
    file: 'src/mail/inbound/quotes.ts',
    source: String.raw`^\s*[(<]*sent (from|via|with|by) (my |a |the )?[^,.;!?\n]{1,60}([,.]\s*(please|pls|excuse|sorry|apolog|typos|brevity)[^\n]{0,80}|\s*[<(]?https?:\/\/\S+[>)]?)?[)>.\s]*$`,
    bound: LINE,
  },
  { file: 'src/mail/inbound/quotes.ts', source: String.raw`^\s*von meinem .{1,60} gesendet\s*$`, bound: LINE },
  { file: 'src/mail/inbound/quotes.ts', source: String.raw`^\s*diese nachricht wurde von .{1,80} gesendet\.?\s*$`, bound: LINE },
  { file: 'src/mail/inbound/quotes.ts', source: String.raw`\[([^\]]{1,200})\]\([^)]{1,500}\)`, bound: LINE },
  {
    file: 'src/mail/inbound/spanningMarkers.ts',
    source: String.raw`^[ \t>-]*(on|at|le|am|op|el|em|il|den|dnia|dňa)\s[^\n]{1,200}(?:\n[^\n]{0,200}){0,4}?\b(wrote|a\s+[ée]crit|schrieb|geschrieben|schreef|het\s+volgende\s+geschreven|escribi[óo]|escreveu|ha scritto|skrev|napisał(?:\(a\))?)(?:[^\n]{0,100}:|[\s.>-]*)$`,
    bound: WINDOW,
  },
  {
    file: 'src/mail/inbound/spanningMarkers.ts',
    source: String.raw`^[^\n]{0,120}\d{4}[^\n]{0,120}(?:\n[^\n]{0,120})?(написал|пише|napisał\(a\))\s*:\s*$`,
    bound: WINDOW,
  },
  {
    file: 'src/mail/inbound/spanningMarkers.ts',
    source: String.raw`^[ \t>]*20\d\d-\d\d-\d\d \d\d?:\d\d GMT[+-]\d\d:\d\d [^\n]{0,100}(?:\n[^\n]{0,100})?>:\s*$`,
    bound: WINDOW,
  },
  { file: 'src/mail/inbound/spanningMarkers.ts', source: String.raw`^[^\n]{1,200}\bschrieb am\b[^\n]{0,200}(?:\n[^\n]{0,100})?:\s*$`, bound: WINDOW },
  {
    file: 'src/mail/inbound/analyze.ts',
    source: String.raw`<[^>]*>|&nbsp;`,
    bound: "the HTML up to its last '>': every '<' reaches a '>' without backtracking (unsanitized)",
  },
];

/** `new RegExp` built from more than a literal: allowed only here, with what goes in. */
const BUILT: { file: string; text: string; why: string }[] = [
  { file: 'src/services/html/sanitize.ts', text: "new RegExp(`</${name}`, 'gi')", why: 'a literal "</" and a tag name from the fixed NON_TEXT list' },
];

interface Found {
  file: string;
  line: number;
  source: string;
  flags: string;
  /** The comments beside it: leading comments of it and its enclosing nodes, and those on the lines just above. */
  comments: string;
}

function tsFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((d) => {
    const rel = path.posix.join(dir, d.name);
    if (d.isDirectory()) return tsFiles(rel);
    return d.name.endsWith('.ts') ? [rel] : [];
  });
}

function collect(file: string, built: string[]): Found[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line;
  const allComments = new Map<number, { line: number; text: string }>();
  const leading = (node: ts.Node) => (ts.getLeadingCommentRanges(text, node.pos) ?? []).map((r) => text.slice(r.pos, r.end));
  const gather = (node: ts.Node) => {
    for (const r of [...(ts.getLeadingCommentRanges(text, node.pos) ?? []), ...(ts.getTrailingCommentRanges(text, node.end) ?? [])]) {
      allComments.set(r.pos, { line: lineOf(r.end), text: text.slice(r.pos, r.end) });
    }
    ts.forEachChild(node, gather);
  };
  gather(sf);

  const found: Found[] = [];
  const add = (node: ts.Node, source: string, flags: string) => {
    const first = lineOf(node.getStart(sf));
    const last = lineOf(node.end);
    const near = [...allComments.values()].filter((c) => c.line >= first - 3 && c.line <= last).map((c) => c.text);
    const enclosing: string[] = [];
    for (let n: ts.Node | undefined = node; n && n.kind !== ts.SyntaxKind.SourceFile; n = n.parent) enclosing.push(...leading(n));
    found.push({ file, line: first + 1, source, flags, comments: [...enclosing, ...near].join('\n') });
  };
  const visit = (node: ts.Node) => {
    if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
      const literal = node.getText(sf);
      const slash = literal.lastIndexOf('/');
      add(node, literal.slice(1, slash), literal.slice(slash + 1));
    } else if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression) && node.expression.text === 'RegExp') {
      const [source, flags] = node.arguments ?? [];
      const literal = (n: ts.Node | undefined) => n && (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n));
      if (literal(source) && (!flags || literal(flags))) {
        add(node, (source as ts.StringLiteral).text, flags ? (flags as ts.StringLiteral).text : '');
      } else built.push(`${file}: ${node.getText(sf)}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The native binary when its package is installed for this platform, else pure JavaScript. */
function backend(): string {
  const os = ({ linux: 'linux', darwin: 'macos', win32: 'windows' } as Record<string, string>)[process.platform];
  try {
    require.resolve(`recheck-${os}-${process.arch}/package.json`);
    return 'native';
  } catch {
    return 'pure';
  }
}

interface Verdict {
  status: 'safe' | 'vulnerable' | 'unknown';
  complexity?: { type: string; degree?: number };
  error?: { kind: string };
}

const built: string[] = [];
const found = DIRS.flatMap(tsFiles).flatMap((file) => collect(file, built));
const verdicts = new Map<Found, Verdict>();
const label = (f: Found) => `${f.file}:${f.line} /${f.source}/${f.flags}`;
const listed = (f: Found) => BOUNDED.find((b) => b.file === f.file && b.source === f.source);

jest.setTimeout(20 * 60_000);

beforeAll(async () => {
  process.env.RECHECK_BACKEND ??= backend();
  const { check } = await import('recheck');
  // one at a time: the machine is small, and recheck's own time limit is per expression;
  // a generous one, so a busy machine does not turn a slow answer into 'unknown'
  const timeout = process.env.RECHECK_BACKEND === 'native' ? 60_000 : 180_000;
  for (const f of found) verdicts.set(f, (await check(f.source, f.flags, { timeout, randomSeed: 0 })) as Verdict);
});

describe('regular expressions on untrusted text (recheck)', () => {
  it('finds the expressions of every file, literals and new RegExp alike', () => {
    expect(found.length).toBeGreaterThan(100);
    expect(found.some((f) => f.file === 'src/mail/inbound/quotes.ts' && f.source === String.raw`^\s*>`)).toBe(true);
    expect(new Set(found.map((f) => f.file.split('/')[1])).size).toBe(2); // mail and services
  });

  it('has no exponential expression', () => {
    const exponential = found.filter((f) => verdicts.get(f)?.complexity?.type === 'exponential').map(label);
    expect(exponential).toEqual([]);
  });

  it('allows a polynomial or undecided expression only where its input is bounded, as listed', () => {
    const unlisted = found
      .filter((f) => verdicts.get(f)?.status !== 'safe' && !listed(f))
      .map((f) => `${label(f)}: ${verdicts.get(f)?.complexity?.type ?? verdicts.get(f)?.error?.kind}`);
    expect(unlisted).toEqual([]);
  });

  it('still has each listed expression in the code', () => {
    const stale = BOUNDED.filter((b) => !found.some((f) => f.file === b.file && f.source === b.source)).map((b) => `${b.file}: /${b.source}/`);
    expect(stale).toEqual([]);
  });

  it('has a comment beside each listed expression saying it is polynomial and how its input is bounded', () => {
    const uncommented = found.filter((f) => listed(f) && !/polynomial/i.test(f.comments)).map(label);
    expect(uncommented).toEqual([]);
  });

  it('builds no expression from anything but literals, except those listed', () => {
    const unlisted = built.filter((b) => !BUILT.some((a) => b === `${a.file}: ${a.text}`));
    const stale = BUILT.filter((a) => !built.includes(`${a.file}: ${a.text}`)).map((a) => a.text);
    expect({ unlisted, stale }).toEqual({ unlisted: [], stale: [] });
  });
});
