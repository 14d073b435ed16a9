import { LOOP_HEADER, classify } from '../../../src/mail/inbound/classify';
import { RawHeaders, splitMessage } from '../../../src/mail/inbound/headers';
import { corpusEntries, corpusFile, reportScore, required } from '../../helpers/corpus';

const headers = (block: string) => new RawHeaders(block);

describe('classify on the corpus', () => {
  it('finds bounces, auto-replies and machine mail (at least 90% per source)', () => {
    const bySource = new Map<string, { passed: number; total: number; failures: string[] }>();
    for (const entry of corpusEntries().filter((e) => e.kind === 'rfc822')) {
      const e = entry.expected ?? {};
      let want: 'bounce' | 'auto' | 'not_bounce' | undefined;
      if (e.is_bounce === true) want = 'bounce';
      else if (e.is_auto_reply === true || e.is_auto_generated === true) want = 'auto';
      else if (e.is_bounce === false && e.is_feedback_report !== true) want = 'not_bounce';
      if (!want) continue;
      const { headers: h, body } = splitMessage(corpusFile(entry.file));
      const kind = classify(h, body, 'helpdesk.test').kind;
      const ok = want === 'bounce' ? kind === 'bounce' : want === 'auto' ? kind === 'auto_reply' || kind === 'machine' : kind !== 'bounce';
      const s = bySource.get(entry.source) ?? { passed: 0, total: 0, failures: [] };
      s.total++;
      if (ok) s.passed++;
      else s.failures.push(`${entry.file}: wanted ${want}, got ${kind}`);
      bySource.set(entry.source, s);
    }
    expect(bySource.size).toBeGreaterThanOrEqual(3);
    for (const [source, s] of bySource) {
      const detail = reportScore(`classify/${source}`, s.passed, s.total, s.failures);
      if (s.passed < required(s.total)) throw new Error(`${source}: ${s.passed}/${s.total} below 90%\n${detail}`);
    }
  });

  it('marks complaints and links bounces to the Message-IDs they quote', () => {
    const arf = splitMessage(corpusFile('sisimai/maildir/bsd/arf-02.eml'));
    expect(classify(arf.headers, arf.body, 'helpdesk.test').kind).toBe('complaint');
    const zed = splitMessage(corpusFile('flanker/bounce/zed.eml'));
    const c = classify(zed.headers, zed.body, 'helpdesk.test');
    expect(c.kind).toBe('bounce');
    expect(c.bounce?.status).toBe('5.1.1');
    expect(c.bounce?.hard).toBe(true);
    expect(c.bounce?.referencedIds.length).toBeGreaterThan(0);
  });
});

describe('classify rules', () => {
  const person = 'From: Bob <bob@acme.test>\nSubject: Printer\nMessage-ID: <1@acme.test>';
  it('a person', () => expect(classify(headers(person), 'hi', 'helpdesk.test').kind).toBe('person'));
  it('our own mail with the loop header', () => {
    expect(classify(headers(`From: x@helpdesk.test\nMessage-ID: <a@helpdesk.test>\n${LOOP_HEADER}: helpdesk.test`), '', 'helpdesk.test').kind).toBe('loop');
    expect(classify(headers(`From: x@other.test\nMessage-ID: <a@other.test>\n${LOOP_HEADER}: other`), '', 'helpdesk.test').kind).not.toBe('loop');
  });
  it.each([
    ['Auto-Submitted: auto-replied', 'auto_reply'],
    ['X-Autoreply: yes', 'auto_reply'],
    ['X-Autorespond: x', 'auto_reply'],
    ['Precedence: auto_reply', 'auto_reply'],
    ['X-Auto-Response-Suppress: All\nX-MS-Exchange-Inbox-Rules-Loop: bob@acme.test', 'auto_reply'],
    ['Return-Path: <>', 'auto_reply'],
    ['Auto-Submitted: auto-generated', 'machine'],
    ['Precedence: bulk', 'machine'],
    ['X-Precedence: list', 'machine'],
    ['List-Unsubscribe: <mailto:u@list.test>', 'machine'],
    ['Auto-Submitted: no', 'person'],
    ['X-Failed-Recipients: gone@acme.test', 'bounce'],
  ])('%s -> %s', (extra, kind) => {
    expect(classify(headers(`${person}\n${extra}`), 'body', 'helpdesk.test').kind).toBe(kind);
  });
  it('a mailer-daemon sender is a bounce', () => {
    expect(classify(headers('From: MAILER-DAEMON@mx.acme.test\nSubject: x'), '', 'helpdesk.test').kind).toBe('bounce');
  });
});
