import { formatDateTime, formatDayMonthYear, parseDate, parseDateTime, parseDayMonthYear, startOfLocalDay, startOfLocalWeek } from '../../src/datetime';

describe('datetime', () => {
  it('formats and parses Y-m-d H:i:s in UTC', () => {
    const d = new Date(Date.UTC(2026, 10, 27, 9, 5, 7));
    expect(formatDateTime(d)).toBe('2026-11-27 09:05:07');
    expect(parseDateTime('2026-11-27 09:05:07')?.getTime()).toBe(d.getTime());
  });

  it.each(['2026-02-30 00:00:00', '2026-11-27T09:05:07', '2026-11-27 24:00:00', 'yesterday', '2026-11-27'])('rejects %s', (s) =>
    expect(parseDateTime(s)).toBeUndefined(),
  );

  it('handles the seed date formats', () => {
    expect(formatDayMonthYear(new Date(Date.UTC(2026, 0, 5)))).toBe('05/01/2026');
    expect(parseDayMonthYear('05/01/2026')?.toISOString()).toBe('2026-01-05T00:00:00.000Z');
    expect(parseDayMonthYear('31/02/2026')).toBeUndefined();
    expect(parseDate('2026-01-05')?.toISOString()).toBe('2026-01-05T00:00:00.000Z');
  });

  it('finds local midnight and the Monday of the week in a zone', () => {
    const at = new Date('2026-11-27T23:30:00Z'); // Saturday 00:30 in Paris, Friday in UTC
    expect(startOfLocalDay(at, 'UTC').toISOString()).toBe('2026-11-27T00:00:00.000Z');
    expect(startOfLocalDay(at, 'Europe/Paris').toISOString()).toBe('2026-11-27T23:00:00.000Z');
    expect(startOfLocalWeek(at, 'UTC').toISOString()).toBe('2026-11-23T00:00:00.000Z');
    expect(startOfLocalWeek(at, 'Europe/Paris').toISOString()).toBe('2026-11-22T23:00:00.000Z');
  });

  it('is right across a DST change', () => {
    const at = new Date('2026-03-29T12:00:00Z'); // Paris switched to CEST at 01:00 UTC
    expect(startOfLocalDay(at, 'Europe/Paris').toISOString()).toBe('2026-03-28T23:00:00.000Z');
  });
});
