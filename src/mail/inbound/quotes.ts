/**
 * Cuts the quoted history and the device signature from a reply written in plain text,
 * so a ticket shows what the customer just wrote. Each line is classified (text, empty,
 * quote, separator, device signature, header of an embedded mail, "On ... wrote:" marker)
 * and the reply is what comes before the first quoted block. Works in linear time on
 * pathological input; the raw message stays available whatever this cuts.
 */
import { replyBelowTopQuote, textBeforeHeaders, textBeforeLastMarker, trailingQuoteStart, wrappedHeaderBlock } from './kindScans';
import { isAddressWroteLine } from './addressWrote';
import { gapMarker } from './gapMarker';
import { joinSpanningMarkers } from './spanningMarkers';

/** Our own "reply above this line" marker, in the text and HTML of every mail we send. */
export const REPLY_ABOVE_MARKER = '##- Please type your reply above this line -##';

export type LineKind = 'e' | 'd' | 's' | 'b' | 'h' | 'q' | 't';

/** A longer line is text: the per-line expressions below are polynomial, and see no more than this. */
const MAX_LINE = 2000;

/**
 * Lines that open an embedded mail: "On <date>, <someone> wrote:" and its translations.
 * Several are polynomial (bounded repetitions around alternatives); they only ever see one
 * line cut to MAX_LINE (2000) characters, see kindOf.
 */
const WROTE_MARKERS: { test(line: string): boolean }[] = [
  /^[\s>-]*(on|at)\s.{1,300}?\b(wrote|writes|said|says)[\s.:>-]*$/i,
  /^[\s>-]*in message\s.{1,300}?\bwrites[\s.:>-]*$/i,
  /^[\s>-]*le\s.{1,300}?\ba\s+[ée]crit[\s.:>-]*$/i,
  /^[\s>-]*am\s.{1,300}?\b(schrieb|geschrieben)\b.{0,200}:?\s*$/i,
  /^[\s>-]*op\s.{1,300}?\b(schreef|het volgende geschreven)\b.{0,200}:?\s*$/i,
  /^[\s>-]*el\s.{1,300}?\bescribi[óo][\s.:>-]*$/i,
  /^[\s>-]*em\s.{1,300}?\bescreveu[\s.:>-]*$/i,
  /^[\s>-]*il\s.{1,300}?\bha scritto[\s.:>-]*$/i,
  /^[\s>-]*(dnia|dňa)\s.{1,300}?\bnapisał(\(a\))?[\s.:>-]*$/i,
  /^[\s>-]*den\s.{1,300}?\bskrev\b.{0,200}:\s*$/i,
  /\d{4}.{1,80}\bnapisał\(a\):\s*$/i,
  gapMarker(/\bwrote\s+on\s/iy, /:\s*$/), // was /^.{1,200}\bwrote\s+on\s.{1,200}:\s*$/i
  gapMarker(/\bschrieb\s+am\s/iy, /:\s*$/), // was /^.{1,200}\bschrieb\s+am\s.{1,200}:\s*$/i
  gapMarker(/\svia\s/iy, /\s(wrote|schrieb):?\s*$/i), // was /^.{1,200}\svia\s.{1,200}\s(wrote|schrieb):?\s*$/i
  { test: isAddressWroteLine }, // was /^.{0,200}\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b.{0,200}\bwrote:?\s*$/i
  // the domain's first dot after its first character: one way to split it, not one per dot
  /\d{4}.{1,80}<[^@<>\s]+@[^@<>\s][^@<>\s.]*\.[^@<>\s]+>:\s*$/,
  // Gmail in East Asian locales: "2013/7/20 sam via Discourse <info@discourse.org>", no colon
  /^\s*\d{4}\/\d{1,2}\/\d{1,2}\s[^<>]{1,200}<[^@<>\s]+@[^@<>\s][^@<>\s.]*\.[^@<>\s]+>\s*$/,
  /^[\s>]*20\d\d-\d\d-\d\d \d\d?:\d\d GMT[+-]\d\d:\d\d .{0,200}$/,
  /\d{4}.{1,160}(написал|пише|napisał\(a\))\s*:\s*$/i,
  /^[\s>]*posted by .+ on \d{2}\/\d{2}\/\d{4}$/i,
  /^.{0,10}在.{1,200}写道[\s.:>-]*$/,
];

/** Lines that open a forwarded or "original" message. */
const FORWARD_MARKERS: RegExp[] = [
  /^[\s>]*begin forwarded message:/i,
  /^[\s>*]*-{2,}\s*(forwarded|original|reply) message\s*-{2,}/i,
  /^[\s>*]*-{2,}\s*(message transf[ée]r[ée]|urspr[üu]ngliche nachricht|mensaje original|原始邮件)\s*-{2,}/i,
  /^[\s>]*d[ée]but du message transf[ée]r[ée]\s*:/i,
];

/** Header lines of an embedded mail ("From: ...", "Sent: ...") in several languages. */
const HEADER_LINE =
  /^[\s*]*(от|отправлено|кому|копия|тема|дата|from|to|cc|bcc|reply-to|subject|sent|date|de|para|assunto|asunto|enviado|enviada em|fecha|von|an|betreff|gesendet|datum|van|aan|onderwerp|da|a|oggetto|data|fra|til|emne|sendt|fr[åa]n|till|[äa]mne|skickat|exp[ée]diteur|destinataire|objet|r[ée]pondre [àa]|envoy[ée]|发件人|收件人|主题|发送时间)[\s*]*:\s*\S/i;

/**
 * Device and app signatures ("Sent from my iPhone"), short lines only. Those with bounded
 * repetitions are polynomial; they only ever see one line cut to MAX_LINE (2000)
 * characters, see kindOf.
 */
const DEVICE_SIGNATURE: RegExp[] = [
  /^\s*[(<]*sent (from|via|with|by) (my |a |the )?[^,.;!?\n]{1,60}([,.]\s*(please|pls|excuse|sorry|apolog|typos|brevity)[^\n]{0,80}|\s*[<(]?https?:\/\/\S+[>)]?)?[)>.\s]*$/i,
  /^\s*(from my|sent using) [\w.\s-]{1,25}$/i,
  /^\s*\w+ from mobile\s*$/i,
  /^\s*get outlook for \w+/i,
  /^\s*envoy[ée] (depuis|de) (mon|ma|yahoo)\b/i,
  /^\s*von meinem .{1,60} gesendet\s*$/i,
  /^\s*diese nachricht wurde von .{1,80} gesendet\.?\s*$/i,
  /^\s*(inviato da|sendt fra min|enviado do meu|enviado desde mi|verzonden met|verstuurd vanaf mijn|fr[åa]n min) /i,
  /^\s*從我的 iphone 傳送/i,
];

const SEPARATOR = /^\s*[-_,=+~#*ᐧ—]+\s*$/;

/** The kind of one line: empty, separator, device signature, marker, header, quote or text. */
export function kindOf(raw: string): LineKind {
  // every expression below is linear or polynomial on a line of at most MAX_LINE characters
  if (raw.length > MAX_LINE) return 't';
  // markdown links read as their text (polynomial, on this one line of at most MAX_LINE)
  const line = raw.replace(/\[([^\]]{1,200})\]\([^)]{1,500}\)/g, '$1');
  if (/^\s*$/.test(line)) return 'e';
  if (SEPARATOR.test(line)) return 'd';
  if (DEVICE_SIGNATURE.some((r) => r.test(line))) return 's';
  if (FORWARD_MARKERS.some((r) => r.test(line)) || WROTE_MARKERS.some((r) => r.test(line))) return 'b';
  if (HEADER_LINE.test(line)) return 'h';
  if (/^\s*>/.test(line)) return 'q';
  return 't';
}

/** Line kinds, with fenced code blocks (```) always text. */
function classifyLines(lines: string[]): LineKind[] {
  let fenced = false;
  return lines.map((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return 't';
    }
    return fenced ? 't' : kindOf(line);
  });
}

/** A working copy of the lines and their kinds, cut and filtered together. */
class Lines {
  constructor(
    public lines: string[],
    public kinds: LineKind[],
  ) {}

  /** Keeps lines [0, end). */
  keepBefore(end: number): void {
    this.lines = this.lines.slice(0, end);
    this.kinds = this.kinds.slice(0, end);
  }

  /** Drops lines [0, start). */
  dropBefore(start: number): void {
    this.lines = this.lines.slice(start);
    this.kinds = this.kinds.slice(start);
  }

  drop(kinds: LineKind[]): void {
    const keep = this.kinds.map((k) => !kinds.includes(k));
    this.lines = this.lines.filter((_, i) => keep[i]);
    this.kinds = this.kinds.filter((_, i) => keep[i]);
  }

  /** Cuts after the text line at `index` (a scan's answer; -1 is no cut). */
  cutAfterText(index: number): boolean {
    if (index < 0) return false;
    this.keepBefore(index + 1);
    return true;
  }
}

/** The part of a plain-text reply above its quoted history, without device signatures. */
export function visibleReplyText(text: string): string {
  if (!text || /^\s*$/.test(text)) return '';
  let body = text.replace(/\r\n?/g, '\n');
  const marker = body.indexOf(REPLY_ABOVE_MARKER);
  if (marker >= 0) body = body.slice(0, marker);
  const rawLines = joinSpanningMarkers(body).split('\n');
  const l = new Lines(rawLines, classifyLines(rawLines));

  // a signature dash ("-- ") after some text: the rest is signature and history
  const firstText = l.kinds.indexOf('t');
  const sigDash = firstText < 0 ? -1 : l.lines.findIndex((line, i) => i > firstText && /^--\s?$/.test(line));
  if (sigDash > 0) l.keepBefore(sigDash);
  l.drop(['d', 's']);

  // a quoted block that opens with a marker and has the reply below it (bottom-posting)
  const top = replyBelowTopQuote(l.kinds);
  if (top >= 0) l.dropBefore(top);

  // an embedded mail after the reply: the reply ends there
  if (!l.cutAfterText(textBeforeLastMarker(l.kinds, (k) => k !== 'q'))) {
    l.cutAfterText(textBeforeLastMarker(l.kinds, (k) => k === 'e' || k === 'q' || k === 'b' || k === 'h'));
  }
  // a marker left inside the reply (quoted text answered in between) is dropped, not blanked
  const quotesMail = l.kinds.includes('b');
  l.drop(['b']);

  // headers of an embedded mail (three or more, possibly wrapped) after the reply
  const wrapped = wrappedHeaderBlock(l.kinds);
  if (wrapped) for (let i = wrapped[0]; i <= wrapped[1]; i++) l.kinds[i] = 'h';
  l.cutAfterText(textBeforeHeaders(l.kinds));
  l.drop(['h']);

  // trailing quotes after the reply; nothing but quoted mail is no reply at all, but a
  // message of nothing but quoted lines (no "... wrote:") is shown as it is
  if (!l.kinds.includes('t')) return l.kinds.includes('q') && !quotesMail ? l.lines.join('\n').trim() : '';
  const trailing = trailingQuoteStart(l.kinds);
  if (trailing >= 0) l.keepBefore(trailing);
  return l.lines.join('\n').trim();
}
