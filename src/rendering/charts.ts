/**
 * Bar charts as inline SVG, drawn here in TypeScript: the PDF page runs no JavaScript, so
 * no chart library can draw them there. Every text is escaped; the numbers are ours.
 */

/** One series of bars: a value per label. */
export interface BarSeries {
  name: string;
  /** A CSS colour of ours (never user input). */
  color: string;
  values: number[];
}

export interface BarChart {
  /** Read by screen readers and shown in the legend's place when there is nothing to draw. */
  title: string;
  /** One label per group of bars (e.g. the week's Monday). */
  labels: string[];
  series: BarSeries[];
  /** How a value is written on the axis (default: as is). */
  format?: (value: number) => string;
  /** Counts: the axis steps by whole numbers. */
  integer?: boolean;
  width?: number;
  height?: number;
}

const escapeXml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

/** A number short enough for an axis: at most two decimals, no trailing zeros. */
const round2 = (n: number) => String(Math.round(n * 100) / 100);

/** A round step (1, 2 or 5 times a power of ten) that covers `span` in at most `ticks` steps. */
export function niceStep(span: number, ticks = 5): number {
  if (!(span > 0)) return 1;
  const raw = span / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw - 1e-12)!;
  return step;
}

/** The axis: from a multiple of the step at or below the lowest value (0 at most) to one at or above the highest. */
export function axisRange(values: number[], ticks = 5, integer = false): { min: number; max: number; step: number } {
  const lo = Math.min(0, ...values);
  const hi = Math.max(0, ...values);
  const span = hi - lo || 1; // nothing to draw: an axis from 0 to 1
  const nice = niceStep(span, ticks);
  const step = integer ? Math.max(1, nice) : nice;
  const min = Math.floor(lo / step) * step;
  const max = Math.ceil(hi / step) * step;
  return { min, max: max > min ? max : min + Math.max(span, step), step };
}

/** Draws `chart` as a standalone `<svg>` element (grouped bars, axis, labels and legend). */
export function barChartSvg(chart: BarChart): string {
  const width = chart.width ?? 720;
  const height = chart.height ?? 220;
  const format = chart.format ?? round2;
  const left = 44;
  const right = 8;
  const top = 26;
  const bottom = 34;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const groups = chart.labels.length;
  const all = chart.series.flatMap((s) => s.values);
  const { min, max, step } = axisRange(all, 5, chart.integer);
  const y = (v: number) => top + plotH - ((v - min) / (max - min)) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(chart.title)}" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-size="9">`,
  );
  // horizontal grid and axis values
  for (let v = min; v <= max + step / 2; v += step) {
    const yy = y(v).toFixed(1);
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${yy}" y2="${yy}" stroke="${Math.abs(v) < step / 2 ? '#888' : '#e3e3e3'}" stroke-width="0.6"/>`);
    parts.push(`<text x="${left - 4}" y="${(y(v) + 3).toFixed(1)}" text-anchor="end" fill="#555">${escapeXml(format(Math.round(v * 1e6) / 1e6))}</text>`);
  }
  if (groups > 0) {
    const groupW = plotW / groups;
    const barW = Math.max(1, (groupW * 0.8) / Math.max(1, chart.series.length));
    const zero = y(0);
    // at most about 16 labels under the axis, evenly spaced
    const every = Math.max(1, Math.ceil(groups / 16));
    chart.labels.forEach((label, g) => {
      const x0 = left + g * groupW + groupW * 0.1;
      chart.series.forEach((s, i) => {
        const v = s.values[g] ?? 0;
        if (v === 0) return;
        const yv = y(v);
        const yTop = Math.min(yv, zero);
        const h = Math.max(0.5, Math.abs(zero - yv));
        parts.push(
          `<rect x="${(x0 + i * barW).toFixed(1)}" y="${yTop.toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${escapeXml(s.color)}"><title>${escapeXml(`${s.name}, ${label}: ${format(v)}`)}</title></rect>`,
        );
      });
      if (g % every === 0) {
        parts.push(
          `<text x="${(left + (g + 0.5) * groupW).toFixed(1)}" y="${height - bottom + 13}" text-anchor="middle" fill="#555">${escapeXml(label)}</text>`,
        );
      }
    });
  }
  // legend
  let lx = left;
  for (const s of chart.series) {
    parts.push(`<rect x="${lx}" y="8" width="10" height="10" fill="${escapeXml(s.color)}"/>`);
    parts.push(`<text x="${lx + 14}" y="17" fill="#222">${escapeXml(s.name)}</text>`);
    lx += 22 + s.name.length * 6;
  }
  parts.push('</svg>');
  return parts.join('');
}
