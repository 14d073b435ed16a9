/**
 * Attribution lines of the shape `^.{1,200}MIDDLE.{1,200}END$` ("… via … wrote:"), tested
 * without the backtracking of that expression: its two gaps against every place MIDDLE
 * and END could match made recheck see exponential growth up to the bounds. END can only
 * match in one place (it ends the line), so this finds it once and tries MIDDLE at each of
 * the 200 places it may start. tests/unit/mail/gapMarker.test.ts checks it against the
 * expression.
 */

const isTerminator = (c: string | undefined): boolean => c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029';

/**
 * `middle` must be sticky (`y`), `end` must end with `$` and match in at most one place;
 * both linear. The returned test is what `^.{1,200}(?:middle).{1,200}(?:end)$` would say.
 */
export function gapMarker(middle: RegExp, end: RegExp): { test(line: string): boolean } {
  return {
    test(line: string): boolean {
      const e = end.exec(line);
      if (!e) return false;
      const w = e.index;
      let firstTerminator = line.length; // `.` stops at a line terminator
      let lastTerminator = -1;
      for (let i = 0; i < w; i++) {
        if (!isTerminator(line[i])) continue;
        firstTerminator = Math.min(firstTerminator, i);
        lastTerminator = i;
      }
      for (let p = 1; p <= Math.min(200, firstTerminator, w); p++) {
        middle.lastIndex = p;
        const m = middle.exec(line);
        if (!m) continue;
        const q = p + m[0].length;
        if (w - q >= 1 && w - q <= 200 && lastTerminator < q) return true;
      }
      return false;
    },
  };
}
