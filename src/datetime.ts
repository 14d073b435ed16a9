/**
 * Datetimes travel as `Y-m-d H:i:s` in UTC, dates as the seed says; "today" and "this
 * week" are taken in the configured time zone, weeks starting on Monday.
 */
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `2026-11-27 14:03:00` in UTC. */
export function formatDateTime(d: Date): string {
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` + `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/** `27/11/2026`, the seed's format for `signed_at`. */
export function formatDayMonthYear(d: Date): string {
  return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()}`;
}

/** `2026-11-27`. */
export function formatDate(d: Date): string {
  return formatDateTime(d).slice(0, 10);
}

export const DATETIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
export const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
export const DMY_PATTERN = /^(\d{2})\/(\d{2})\/(\d{4})$/;

function fromParts(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): Date | undefined {
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  const ok =
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d &&
    date.getUTCHours() === h &&
    date.getUTCMinutes() === mi &&
    date.getUTCSeconds() === s;
  return ok ? date : undefined;
}

/** Parses `Y-m-d H:i:s` (UTC); undefined when it is not a real moment in that form. */
export function parseDateTime(text: string): Date | undefined {
  const m = DATETIME_PATTERN.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return fromParts(y, mo, d, h, mi, s);
}

/** Parses `Y-m-d` as midnight UTC. */
export function parseDate(text: string): Date | undefined {
  const m = DATE_PATTERN.exec(text);
  if (!m) return undefined;
  const [y, mo, d] = m.slice(1).map(Number) as [number, number, number];
  return fromParts(y, mo, d);
}

/** Parses `d/m/Y` as midnight UTC. */
export function parseDayMonthYear(text: string): Date | undefined {
  const m = DMY_PATTERN.exec(text);
  if (!m) return undefined;
  const [d, mo, y] = m.slice(1).map(Number) as [number, number, number];
  return fromParts(y, mo, d);
}

/** True when `tz` is an IANA zone this Node knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function zonedParts(at: Date, tz: string) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    weekday: 'short',
  }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(get('weekday'));
  return {
    y: Number(get('year')),
    mo: Number(get('month')),
    d: Number(get('day')),
    h: Number(get('hour')),
    mi: Number(get('minute')),
    s: Number(get('second')),
    weekday,
  };
}

/** How far the wall clock in `tz` is ahead of UTC at `at`, in milliseconds. */
export function offsetMs(at: Date, tz: string): number {
  const p = zonedParts(at, tz);
  return Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s) - Math.floor(at.getTime() / 1000) * 1000;
}

/** The instant of local midnight, in `tz`, of the local day `daysFromToday` away from `at`. */
export function startOfLocalDay(at: Date, tz: string, daysFromToday = 0): Date {
  const p = zonedParts(at, tz);
  const localMidnight = Date.UTC(p.y, p.mo - 1, p.d + daysFromToday);
  let guess = localMidnight - offsetMs(at, tz);
  guess = localMidnight - offsetMs(new Date(guess), tz);
  return new Date(guess);
}

/** The instant the local week (Monday 00:00 in `tz`) containing `at` began. */
export function startOfLocalWeek(at: Date, tz: string): Date {
  return startOfLocalDay(at, tz, -zonedParts(at, tz).weekday);
}

/** The local calendar day of `at` in `tz`, as `Y-m-d`. */
export function localDate(at: Date, tz: string): string {
  const p = zonedParts(at, tz);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}`;
}
