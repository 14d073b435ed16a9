/**
 * The customer report's HTML, from `templates/customer_report.html.hbs`: the figures are
 * formatted here, the weekly charts drawn here as SVG (charts.ts), and everything else
 * goes through Handlebars' escaping (subjects and names are user text). Only our own SVG
 * is inserted unescaped.
 */
import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { localDate, startOfLocalDay, startOfLocalWeek } from '../datetime';
import { CONTRACT_TYPES } from '../services/contracts/contracts';
import type { CustomerReportData, ReportContract } from '../services/reports/customerReportData';
import { barChartSvg } from './charts';

const TEMPLATE_FILE = 'customer_report.html.hbs';
const TEMPLATES_DIR = [path.resolve(__dirname, '../../templates'), path.resolve(__dirname, '../../../templates')].find((dir) =>
  fs.existsSync(path.join(dir, TEMPLATE_FILE)),
);

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const COLORS = { opened: '#3b6fb6', closed: '#5aa469', points: '#d08c2f' };

// an environment of its own: no helper or partial registered elsewhere reaches this template
const handlebars = Handlebars.create();
let compiled: HandlebarsTemplateDelegate | undefined;

function template(): HandlebarsTemplateDelegate {
  if (!TEMPLATES_DIR) throw new Error(`templates/${TEMPLATE_FILE} was not found beside the program`);
  compiled ??= handlebars.compile(fs.readFileSync(path.join(TEMPLATES_DIR, TEMPLATE_FILE), 'utf8'), { strict: true });
  return compiled;
}

/** `90` -> `1:30`, `-15` -> `-0:15`. */
export function formatMinutes(minutes: number): string {
  const sign = minutes < 0 ? '-' : '';
  const m = Math.abs(Math.round(minutes));
  return `${sign}${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}`;
}

/** Points with two decimals. */
export const formatPoints = (points: number) => (Math.round(points * 100) / 100).toFixed(2);

/** `2026-11-02` -> `2 Nov` (with the year's last two digits when the chart spans several years). */
function dayLabel(ymd: string, withYear: boolean): string {
  const [y, m, d] = ymd.split('-');
  return `${Number(d)} ${MONTHS[Number(m) - 1]}${withYear ? ` ${y!.slice(2)}` : ''}`;
}

/** The weeks (Monday to Sunday, local) the period touches: opened, closed and points per week. */
export function weeklyFigures(data: CustomerReportData) {
  const { start, end, timezone } = data.period;
  const bounds: Date[] = [];
  for (let w = startOfLocalWeek(start, timezone); w < end; w = startOfLocalDay(w, timezone, 7)) bounds.push(w);
  const weekOf = (at: Date) => {
    let i = bounds.length - 1;
    while (i > 0 && bounds[i]! > at) i--;
    return i;
  };
  const opened = bounds.map(() => 0);
  const closed = bounds.map(() => 0);
  const points = bounds.map(() => 0);
  for (const at of data.openedAt) opened[weekOf(at)]!++;
  for (const at of data.closedAt) closed[weekOf(at)]!++;
  for (const s of data.segments) points[weekOf(s.at)]! += s.points;
  const withYear = data.period.from.slice(0, 4) !== data.period.to.slice(0, 4);
  const labels = bounds.map((w) => dayLabel(localDate(w < start ? start : w, timezone), withYear));
  return { labels, opened, closed, points: points.map((p) => Math.round(p * 100) / 100) };
}

function contractView(c: ReportContract, tz: string) {
  const day = (d: Date | null) => (d ? localDate(new Date(d), tz) : null);
  const added = c.opening && c.closing ? c.closing.points_total - c.opening.points_total : null;
  return {
    id: c.id,
    type: CONTRACT_TYPES[c.type] ?? `type ${c.type}`,
    owner: c.own ? null : c.owner_name,
    starts: day(c.started_at) ?? 'no start',
    ends: day(c.expires_at) ?? 'no end',
    expired: day(c.expired_at),
    opening: c.opening ? formatPoints(c.opening.points_current) : null,
    added: added !== null && added !== 0 ? formatPoints(added) : null,
    consumed: formatPoints(c.consumed),
    closing: c.closing ? formatPoints(c.closing.points_current) : null,
    balance: formatPoints(c.points_current),
    total: formatPoints(c.points_total),
  };
}

/** The template's input: every value formatted, the charts drawn. */
export function customerReportView(data: CustomerReportData, generatedAt: Date) {
  const tz = data.period.timezone;
  const weeks = weeklyFigures(data);
  const minutes = data.segments.reduce((sum, s) => sum + s.minutes, 0);
  const points = data.segments.reduce((sum, s) => sum + s.points, 0);
  const at = new Date(generatedAt);
  return {
    customer: data.customer,
    period: { from: data.period.from, to: data.period.to, timezone: tz },
    generated: `${localDate(at, tz)} ${new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at)}`,
    figures: { opened: data.opened, closed: data.closed, time: formatMinutes(minutes), points: formatPoints(points) },
    contracts: data.contracts.map((c) => contractView(c, tz)),
    charts: {
      tickets: barChartSvg({
        title: 'Tickets opened and closed per week',
        labels: weeks.labels,
        integer: true,
        series: [
          { name: 'Opened', color: COLORS.opened, values: weeks.opened },
          { name: 'Closed', color: COLORS.closed, values: weeks.closed },
        ],
      }),
      points: barChartSvg({
        title: 'Points consumed per week',
        labels: weeks.labels,
        series: [{ name: 'Points consumed', color: COLORS.points, values: weeks.points }],
        height: 180,
      }),
    },
    tickets: data.tickets.map((t) => ({
      number: t.number,
      subject: t.subject,
      opened: localDate(t.opened_at, tz),
      closed: t.closed_at ? localDate(t.closed_at, tz) : null,
      open: t.open,
      replies: t.replies,
      time: formatMinutes(t.minutes),
      points: formatPoints(t.points),
    })),
    unlisted: data.unlisted,
  };
}

/** The report's whole HTML page. */
export function customerReportHtml(data: CustomerReportData, generatedAt: Date): string {
  return template()(customerReportView(data, generatedAt));
}
