/**
 * The pure parts of the customer report: the SVG bar charts, the weekly buckets, the
 * period's instants in a time zone, the formats.
 */
import { axisRange, barChartSvg, niceStep } from '../../../src/rendering/charts';
import { formatMinutes, formatPoints, weeklyFigures } from '../../../src/rendering/customerReportHtml';
import { requestAllowed } from '../../../src/rendering/pdf';
import { type CustomerReportData, localMidnight, reportPeriod } from '../../../src/services/reports/customerReportData';

describe('charts', () => {
  it('steps the axis by 1, 2 or 5 times a power of ten, whole numbers for counts', () => {
    expect(niceStep(7)).toBe(2);
    expect(niceStep(40)).toBe(10);
    expect(niceStep(1.5)).toBe(0.5);
    expect(niceStep(0)).toBe(1);
    expect(axisRange([0, 1], 5, true)).toEqual({ min: 0, max: 1, step: 1 });
    expect(axisRange([0, 1])).toEqual({ min: 0, max: 1, step: 0.2 });
    expect(axisRange([-0.5, 2])).toEqual({ min: -0.5, max: 2, step: 0.5 });
    expect(axisRange([])).toEqual({ min: 0, max: 1, step: 0.2 });
  });

  it('draws a bar per non-zero value, and escapes every text', () => {
    const svg = barChartSvg({
      title: 'T "<x>"',
      labels: ['<b>&', 'w2', 'w3'],
      series: [
        { name: 'A<script>', color: '#123456', values: [1, 0, 3] },
        { name: 'B', color: '#654321', values: [0, -2, 0] },
      ],
    });
    expect(svg.startsWith('<svg ')).toBe(true);
    expect(svg).not.toMatch(/<(b|script|x)>/);
    expect(svg).toContain('&lt;b&gt;&amp;');
    expect(svg).toContain('A&lt;script&gt;');
    // 3 bars (each with a <title>) and 2 legend squares
    expect(svg.match(/<rect /g)).toHaveLength(5);
    expect(svg.match(/<title>/g)).toHaveLength(3);
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it('draws an empty period without dividing by zero', () => {
    const svg = barChartSvg({ title: 'empty', labels: ['w1'], series: [{ name: 'A', color: '#000', values: [0] }] });
    expect(svg).not.toMatch(/NaN|Infinity/);
  });
});

describe('periods', () => {
  it('starts at local midnight, whatever the zone', () => {
    expect(localMidnight('2026-11-10', 'UTC').toISOString()).toBe('2026-11-10T00:00:00.000Z');
    expect(localMidnight('2026-03-29', 'Europe/Paris').toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(localMidnight('2026-11-10', 'Pacific/Kiritimati').toISOString()).toBe('2026-11-09T10:00:00.000Z');
    expect(localMidnight('2026-11-10', 'Pacific/Pago_Pago').toISOString()).toBe('2026-11-10T11:00:00.000Z');
  });

  it('ends at the midnight after its last day (a 25-hour day included)', () => {
    const p = reportPeriod('2026-10-25', '2026-10-25', 'Europe/Paris');
    expect(p.start.toISOString()).toBe('2026-10-24T22:00:00.000Z');
    expect(p.end.toISOString()).toBe('2026-10-25T23:00:00.000Z');
  });

  it('buckets by local week, Monday first; the first label is the period start', () => {
    const data = {
      period: reportPeriod('2026-11-01', '2026-11-30', 'UTC'),
      openedAt: [new Date('2026-11-01T10:00:00Z'), new Date('2026-11-03T10:00:00Z'), new Date('2026-11-30T23:59:00Z')],
      closedAt: [new Date('2026-11-09T00:00:00Z')],
      segments: [
        { ticket_id: 1, at: new Date('2026-11-15T23:00:00Z'), minutes: 30, points: 0.255 },
        { ticket_id: 1, at: new Date('2026-11-10T08:00:00Z'), minutes: 30, points: 0.25 },
      ],
    } as unknown as CustomerReportData;
    expect(weeklyFigures(data)).toEqual({
      labels: ['1 Nov', '2 Nov', '9 Nov', '16 Nov', '23 Nov', '30 Nov'],
      opened: [1, 1, 0, 0, 0, 1],
      closed: [0, 0, 1, 0, 0, 0],
      points: [0, 0, 0.51, 0, 0, 0],
    });
  });
});

describe('formats and the renderer rule', () => {
  it('writes minutes as h:mm and points with two decimals', () => {
    expect(formatMinutes(90)).toBe('1:30');
    expect(formatMinutes(-15)).toBe('-0:15');
    expect(formatMinutes(0)).toBe('0:00');
    expect(formatPoints(1.5)).toBe('1.50');
    expect(formatPoints(-0.333)).toBe('-0.33');
  });

  it('lets only data: and about: through', () => {
    expect(requestAllowed('data:image/png;base64,AAAA')).toBe(true);
    expect(requestAllowed('about:blank')).toBe(true);
    expect(requestAllowed('DATA:text/html,x')).toBe(true);
    for (const url of ['http://127.0.0.1/', 'https://example.com/', 'file:///etc/passwd', 'ws://127.0.0.1/', 'blob:null/1', 'chrome://version', 'dat:x']) {
      expect([url, requestAllowed(url)]).toEqual([url, false]);
    }
  });
});
