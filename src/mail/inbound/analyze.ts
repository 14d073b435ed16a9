/**
 * The CPU-heavy reading of one raw message, done off the event loop in the CPU pool (see
 * cpuPool.ts): the structure check, mailparser, classification, quote stripping and
 * sanitizing. Pure: no database, no clock, no config (what it needs comes in the task),
 * so a worker thread can run it and be killed when it takes too long.
 *
 * Its result is plain data that crosses the thread boundary: the message's facts, its
 * kind, and its two sanitized bodies, the whole one for a new ticket and the visible reply
 * for a reply. Inline `cid:` images in those bodies point at placeholders `cid:hd-N`
 * (N: the index of the attachment), which finalBody() turns into content paths once the
 * attachments have ids (signed when a body is served: see contentUrl.ts).
 */
import type { Authenticity } from '../../models/InboundEmail';
import { sha256Of } from '../../services/blobs/blobStore';
import { sanitizeBody, textToHtml } from '../../services/html/sanitize';
import { type Classification, classify } from './classify';
import { visibleReplyHtml } from './htmlQuotes';
import { type ParsedMessage, parseMessage, structureProblem } from './parse';
import { visibleReplyText } from './quotes';
import { tokenOf } from '../replyToken';
import { subjectNumber } from './thread';

/** One attachment as the pipeline stores it. */
export interface MailPart {
  /** Of the content, computed here, off the event loop. */
  sha256: string;
  filename?: string;
  contentType: string;
  contentId?: string;
  inline: boolean;
  content: Buffer;
}

/** A message read by the pool: what every later step of the pipeline uses (the facts of ParsedMessage, and more). */
export interface ReadMessage extends Pick<ParsedMessage, 'messageId' | 'from' | 'to' | 'cc' | 'deliveredTo' | 'subject' | 'date' | 'inReplyTo' | 'references'> {
  attachments: MailPart[];
  classification: Classification;
  /** Sanitized HTML, `cid:hd-N` for inline images: the whole body, and the reply above its quoted history. */
  bodies: { full: string; reply: string };
}

/**
 * A message read, or why it is held; `sha256` of the raw bytes either way (when the reading
 * got that far). The pool thread adds the message's authenticity verdict when its mailbox
 * asks for one (authenticity.ts): `authError` says what made the check fail, for the log.
 */
export type Analysis =
  { ok: true; message: ReadMessage; sha256: string; auth?: Authenticity; authError?: string } | { ok: false; reason: string; sha256?: string };

export interface AnalyzeOptions {
  maxBytes: number;
  /** The right-hand side of our Message-IDs (loop detection). */
  mailDomain: string;
}

const PLACEHOLDER = 'hd-';

/**
 * The most of a body a ticket or reply keeps; the rest stays in the raw message. Bodies
 * this long are no one's reading, and each further megabyte costs the event loop in
 * copying, JSON and the driver.
 */
export const MAX_TEXT_CHARS = 1_000_000;
export const MAX_HTML_CHARS = 2_000_000;
const CUT_NOTE = '\n\n[… cut here: the whole message is kept as the original]';

/** The body before sanitizing; `reply` cuts the quoted history. */
function unsanitized(parsed: ParsedMessage, reply: boolean): string {
  if (parsed.html && parsed.html.trim()) {
    const html = parsed.html.length > MAX_HTML_CHARS ? `${parsed.html.slice(0, MAX_HTML_CHARS)}<p>${CUT_NOTE.trim()}</p>` : parsed.html;
    if (!reply) return html;
    const cut = visibleReplyHtml(html);
    // polynomial tag expression, bounded in use: up to the last '>' every '<' reaches a '>'
    // without backtracking (on "<<<<…" it scanned to the end once per '<'); after it, no tag
    const closed = cut.lastIndexOf('>') + 1;
    const visible = cut.slice(0, closed).replace(/<[^>]*>|&nbsp;/g, '') + cut.slice(closed).replace(/&nbsp;/g, '');
    return /[^\s<>]/.test(visible) ? cut : html;
  }
  const whole = parsed.text ?? '';
  const text = whole.length > MAX_TEXT_CHARS ? `${whole.slice(0, MAX_TEXT_CHARS)}${CUT_NOTE}` : whole;
  if (!reply) return textToHtml(text);
  return textToHtml(visibleReplyText(text) || text);
}

/** Whether anything could thread the message to a ticket (ids it answers, a `+token` address, `[#NUMBER]`). */
function mayBeReply(parsed: ParsedMessage): boolean {
  return (
    parsed.inReplyTo.length > 0 ||
    parsed.references.length > 0 ||
    parsed.deliveredTo.some((a) => tokenOf(a) !== undefined) ||
    subjectNumber(parsed.subject) !== undefined
  );
}

/**
 * Both bodies, sanitized, with inline images pointing at `cid:hd-N` placeholders. The
 * reply body is sanitized on its own only when it differs: a message nothing can thread
 * is never a reply, and most mail has no quoted history to cut.
 */
function bodiesOf(parsed: ParsedMessage): ReadMessage['bodies'] {
  const byContentId = new Map<string, number>();
  parsed.attachments.forEach((a, i) => {
    const id = a.contentId?.replace(/^<|>$/g, '');
    if (id && !byContentId.has(id)) byContentId.set(id, i);
  });
  const resolveCid = (cid: string) => {
    const index = byContentId.get(cid);
    return index === undefined ? undefined : `cid:${PLACEHOLDER}${index}`;
  };
  const whole = unsanitized(parsed, false);
  const full = sanitizeBody(whole, { resolveCid });
  const cut = mayBeReply(parsed) ? unsanitized(parsed, true) : whole;
  return { full, reply: cut === whole ? full : sanitizeBody(cut, { resolveCid }) };
}

/** Reads a raw message; a message too big, too deep or unparseable is a reason to hold it. */
export async function analyzeMessage(raw: Buffer, opts: AnalyzeOptions): Promise<Analysis> {
  const sha256 = sha256Of(raw);
  const problem = structureProblem(raw, opts.maxBytes);
  if (problem) return { ok: false, reason: problem, sha256 };
  let parsed: ParsedMessage;
  try {
    parsed = await parseMessage(raw);
  } catch (e) {
    return { ok: false, reason: `unparseable: ${(e as Error).message}`.slice(0, 500), sha256 };
  }
  const classification = classify(parsed.headers, parsed.rawBody(), opts.mailDomain);
  const { headers: _headers, rawBody: _rawBody, html: _html, text: _text, attachments, ...facts } = parsed;
  return {
    ok: true,
    sha256,
    message: {
      ...facts,
      attachments: attachments.map((a) => ({
        sha256: sha256Of(a.content as Buffer),
        filename: a.filename,
        contentType: a.contentType,
        contentId: a.contentId ? a.contentId.replace(/^<|>$/g, '') : undefined,
        inline: a.contentDisposition === 'inline' || a.related === true,
        content: a.content as Buffer,
      })),
      classification,
      bodies: bodiesOf(parsed),
    },
  };
}

const PLACEHOLDER_SRC = /src="cid:hd-(\d{1,4})"/g;

/**
 * A body from analyzeMessage with its placeholders pointing at the stored attachments
 * (`urls[N]` for attachment N); an image whose attachment is missing is dropped.
 */
export function finalBody(sanitized: string, urls: (string | undefined)[]): string {
  const body = sanitized
    .replace(PLACEHOLDER_SRC, (_m, i: string) => {
      const url = urls[Number(i)];
      return url ? `src="${url.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"` : 'src=""';
    })
    .replace(/<img src="" \/>/g, '')
    .trim();
  return body || '<p>(no text)</p>';
}
