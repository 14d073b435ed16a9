/**
 * The one cleaning every string taken from mail (headers, display names, bodies, file
 * names) passes before it reaches the database. PostgreSQL refuses NUL in text and lone
 * surrogates in JSON, so one such character in a subject used to fail a whole batch, and
 * control characters have no business in a ticket. What is removed: NUL, lone surrogates,
 * and the C0 and C1 control characters other than tab, CR and LF (DEL included). Each
 * pattern is a single character class or a single surrogate with a one-character
 * look-around: linear on any input.
 */

// eslint-disable-next-line no-control-regex -- control characters are what this removes
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** Bidirectional embeddings, overrides and isolates: they make `gpj.exe` look like `exe.jpg`. */
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/g;

/** `text` without NUL, lone surrogates and control characters (tab, CR and LF kept). */
export function cleanText(text: string): string {
  // the common case is clean text: test first, so it is not copied
  CONTROL.lastIndex = 0;
  LONE_SURROGATE.lastIndex = 0;
  if (!CONTROL.test(text) && !LONE_SURROGATE.test(text)) return text;
  return text.replace(CONTROL, '').replace(LONE_SURROGATE, '');
}

/**
 * cleanText, cut to `max` UTF-16 units, which is at most `max` characters in PostgreSQL: a
 * column's limit is never passed, and a cut through a surrogate pair leaves no half behind.
 */
export function fitText(text: string, max: number): string {
  return cleanText(text.length > max ? text.slice(0, max) : text);
}

/** cleanText for an optional value. */
export function cleanOptional<T extends string | undefined | null>(text: T): T {
  return (typeof text === 'string' ? cleanText(text) : text) as T;
}

/** A file name: cleanText, and no bidirectional controls either. */
export function cleanFilename(name: string): string {
  return cleanText(name).replace(BIDI_CONTROL, '');
}

/** Whether `text` holds a NUL (the API answers 400 for those; see the route layer). */
export function hasNul(text: string): boolean {
  return text.includes('\u0000');
}
