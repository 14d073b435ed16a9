/**
 * The "<name> <address> ... wrote:" line, as the expression
 * `/^.{0,200}\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b.{0,200}\bwrote:?\s*$/i` would test it, in one pass.
 * That expression tried each way to end the address against each way to reach "wrote", so a
 * 2,000-character line of "a-a-…@b.c-c-c…" took 0.2 s; this reads each character a few times.
 * tests/unit/mail/addressWrote.test.ts checks it against the expression.
 */

const isWord = (c: string | undefined): boolean => c !== undefined && /^\w$/.test(c);
const isTerminator = (c: string | undefined): boolean => c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029';
const isLocal = (c: string | undefined): boolean => c !== undefined && /^[\w.+-]$/.test(c);
const isLabel = (c: string | undefined): boolean => c !== undefined && /^[\w-]$/.test(c);
/** `\b` between line[i - 1] and line[i] (ASCII word characters, as without the `u` flag). */
const boundary = (line: string, i: number): boolean => isWord(line[i - 1]) !== isWord(line[i]);

/** Where "wrote" starts when the line ends with "wrote", an optional colon and white space, or -1. */
function wroteAtEnd(line: string): number {
  let end = line.trimEnd().length; // trimEnd removes exactly what \s matches
  if (line[end - 1] === ':') end--;
  const w = end - 5;
  return w >= 0 && line.slice(w, end).toLowerCase() === 'wrote' && boundary(line, w) ? w : -1;
}

/** Whether an address that starts within the first 200 characters ends within 200 before `w`. */
function addressBefore(line: string, w: number): boolean {
  let firstTerminator = line.length; // `.` stops at a line terminator
  let lastTerminator = -1;
  for (let i = 0; i < w; i++) {
    if (isTerminator(line[i])) {
      firstTerminator = Math.min(firstTerminator, i);
      lastTerminator = i;
    }
  }
  const startLimit = Math.min(200, firstTerminator);
  for (let a = line.indexOf('@'); a >= 0 && a < w; a = line.indexOf('@', a + 1)) {
    // the local part: some \b position s <= startLimit in the run of [\w.+-] before the @
    let localOk = false;
    for (let s = a - 1; s >= 0 && isLocal(line[s]); s--) {
      if (s <= startLimit && boundary(line, s)) {
        localOk = true;
        break;
      }
    }
    if (!localOk) continue;
    // the domain: labels of [\w-]+ joined by single dots; it may end inside any label after
    // the first, where \b holds, within 200 characters of "wrote" and on its line
    let i = a + 1;
    let label = 0;
    while (isLabel(line[i])) {
      const labelStart = i;
      while (isLabel(line[i])) {
        i++;
        if (label > 0 && i <= w && i >= w - 200 && i > lastTerminator && boundary(line, i)) return true;
      }
      if (i === labelStart || line[i] !== '.' || !isLabel(line[i + 1])) break;
      i++;
      label++;
    }
  }
  return false;
}

/** Whether the line is an attribution line that names an address and ends with "wrote". */
export function isAddressWroteLine(line: string): boolean {
  const w = wroteAtEnd(line);
  return w >= 0 && addressBefore(line, w);
}
