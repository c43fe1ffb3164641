/**
 * Small SVG charts (line and bar) with axes, ticks and labels, rendered on the server: no script, no dependency.
 * Values reach the markup through the escaping `html` template, so series names and labels are safe.
 */
import { html, join, type SafeHtml } from '../html.js';

export interface Point {
  x: number;
  y: number;
  /** Hover text for the point's marker. */
  label?: string;
}

export interface LineSeries {
  name: string;
  points: Point[];
  color?: string;
  dashed?: boolean;
  /** Draw a dot at each point (with its label as hover text). */
  markers?: boolean;
}

export interface Tick {
  value: number;
  label: string;
}

interface Frame {
  width?: number;
  height?: number;
  /** Accessible name of the chart. */
  title: string;
  xLabel: string;
  yLabel: string;
  formatY?: (value: number) => string;
}

export interface LineChartOptions extends Frame {
  series: LineSeries[];
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** Explicit x ticks (dates, run numbers); otherwise evenly spaced numbers. */
  xTicks?: Tick[];
  formatX?: (value: number) => string;
}

export interface Bar {
  label: string;
  value: number;
  /** Hover text; defaults to "label: value". */
  title?: string;
}

export interface BarChartOptions extends Frame {
  bars: Bar[];
  color?: string;
}

export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2'];

const MARGIN = { left: 58, right: 16, top: 14, bottom: 46 };
const LEGEND_ROW = 18;

/** Rounds coordinates to keep the markup short. */
function r(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Tick values at 1, 2 or 5 times a power of ten covering [min, max]. */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!(max > min)) return [min];
  const rough = (max - min) / target;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) {
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  return ticks;
}

/** A tick label with as many decimals as the spacing needs. */
export function formatTick(value: number, ticks: number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : Math.abs(value) || 1;
  const decimals = Math.min(6, Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
  return value.toFixed(decimals);
}

/** Data range widened to nice tick bounds; a flat range gets some room around it. */
function domainOf(values: number[], fixed?: [number, number]): [number, number] {
  if (fixed) return fixed;
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 0.5;
    min -= pad;
    max += pad;
  }
  const ticks = niceTicks(min, max);
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
  return [Math.min(min, Math.floor(min / step) * step), Math.max(max, Math.ceil(max / step) * step)];
}

function scale(domain: [number, number], range: [number, number]): (v: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

function legend(series: Array<{ name: string; color: string; dashed?: boolean }>, x: number, y: number): SafeHtml {
  let offset = 0;
  const items = series.map((s) => {
    const item = html`<g transform="translate(${r(x + offset)},${r(y)})">
      <line x1="0" y1="-4" x2="18" y2="-4" stroke="${s.color}" stroke-width="2"${s.dashed ? html` stroke-dasharray="4 3"` : ''}/>
      <text x="23" y="0" class="legend">${s.name}</text></g>`;
    offset += 36 + s.name.length * 6.5;
    return item;
  });
  return join(items);
}

interface Axes {
  width: number;
  height: number;
  plot: { x0: number; x1: number; y0: number; y1: number };
}

function axesFrame(o: Frame, top: number): Axes {
  const width = o.width ?? 560;
  const height = o.height ?? 260;
  return {
    width,
    height,
    plot: { x0: MARGIN.left, x1: width - MARGIN.right, y0: height - MARGIN.bottom, y1: top },
  };
}

function yAxis(a: Axes, domain: [number, number], format: ((v: number) => string) | undefined, label: string): SafeHtml {
  const ticks = niceTicks(domain[0], domain[1]).filter((t) => t >= domain[0] - 1e-12 && t <= domain[1] + 1e-12);
  const y = scale(domain, [a.plot.y0, a.plot.y1]);
  const midY = (a.plot.y0 + a.plot.y1) / 2;
  return html`${ticks.map(
    (t) => html`<line class="grid" x1="${a.plot.x0}" x2="${a.plot.x1}" y1="${r(y(t))}" y2="${r(y(t))}"/>
    <text class="tick" x="${a.plot.x0 - 6}" y="${r(y(t) + 4)}" text-anchor="end">${format ? format(t) : formatTick(t, ticks)}</text>`,
  )}
  <line class="axis" x1="${a.plot.x0}" x2="${a.plot.x0}" y1="${a.plot.y0}" y2="${a.plot.y1}"/>
  <text class="axis-label" transform="translate(14,${r(midY)}) rotate(-90)" text-anchor="middle">${label}</text>`;
}

function xAxisLine(a: Axes, label: string): SafeHtml {
  return html`<line class="axis" x1="${a.plot.x0}" x2="${a.plot.x1}" y1="${a.plot.y0}" y2="${a.plot.y0}"/>
  <text class="axis-label" x="${r((a.plot.x0 + a.plot.x1) / 2)}" y="${a.height - 8}" text-anchor="middle">${label}</text>`;
}

/** At most `max` evenly spread items, first and last included, so tick labels do not overlap. */
export function thin<T>(items: T[], max: number): T[] {
  if (items.length <= max) return items;
  const picked = new Set<number>();
  for (let i = 0; i < max; i++) picked.add(Math.round((i * (items.length - 1)) / (max - 1)));
  return [...picked].map((i) => items[i]);
}

function svgRoot(a: Axes, title: string, body: SafeHtml): SafeHtml {
  return html`<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${a.width} ${a.height}" width="${a.width}" height="${a.height}" role="img" aria-label="${title}"><title>${title}</title>${body}</svg>`;
}

export function lineChart(o: LineChartOptions): SafeHtml {
  const series = o.series
    .map((s, i) => ({ ...s, color: s.color ?? PALETTE[i % PALETTE.length], points: s.points.filter(finitePoint) }))
    .filter((s) => s.points.length > 0);
  if (series.length === 0) return html`<p class="muted">No data to plot.</p>`;
  const showLegend = series.length > 1;
  const a = axesFrame(o, MARGIN.top + (showLegend ? LEGEND_ROW : 0));
  const all = series.flatMap((s) => s.points);
  const xDomain = domainOf(all.map((p) => p.x), o.xDomain);
  const yDomain = domainOf(all.map((p) => p.y), o.yDomain);
  const x = scale(xDomain, [a.plot.x0, a.plot.x1]);
  const y = scale(yDomain, [a.plot.y0, a.plot.y1]);
  const formatY = o.formatY ?? ((v: number) => String(v));

  // Explicit ticks are thinned to fit; numeric ones are chosen with a spacing that fits in the first place.
  const maxXTicks = Math.max(2, Math.floor((a.plot.x1 - a.plot.x0) / 60));
  const numericTicks = niceTicks(xDomain[0], xDomain[1], maxXTicks).filter(
    (t) => t >= xDomain[0] - 1e-12 && t <= xDomain[1] + 1e-12,
  );
  const xTicks = o.xTicks
    ? thin(o.xTicks, maxXTicks)
    : numericTicks.map((t) => ({ value: t, label: o.formatX ? o.formatX(t) : formatTick(t, numericTicks) }));
  const xTickMarks = xTicks.map(
    (t) => html`<line class="axis" x1="${r(x(t.value))}" x2="${r(x(t.value))}" y1="${a.plot.y0}" y2="${a.plot.y0 + 4}"/>
    <text class="tick" x="${r(x(t.value))}" y="${a.plot.y0 + 17}" text-anchor="middle">${t.label}</text>`,
  );

  const lines = series.map((s) => {
    const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${r(x(p.x))} ${r(y(p.y))}`).join(' ');
    const markers = s.markers
      ? s.points.map(
          (p) => html`<circle cx="${r(x(p.x))}" cy="${r(y(p.y))}" r="3.5" fill="${s.color}"><title>${p.label ?? `${s.name}: ${formatY(p.y)}`}</title></circle>`,
        )
      : '';
    return html`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? html` stroke-dasharray="5 4"` : ''}/>${markers}`;
  });

  return svgRoot(
    a,
    o.title,
    html`${showLegend ? legend(series, a.plot.x0, MARGIN.top + 8) : ''}
    ${yAxis(a, yDomain, o.formatY, o.yLabel)}${xTickMarks}${xAxisLine(a, o.xLabel)}${lines}`,
  );
}

export function barChart(o: BarChartOptions): SafeHtml {
  const bars = o.bars.filter((b) => Number.isFinite(b.value));
  if (bars.length === 0) return html`<p class="muted">No data to plot.</p>`;
  const a = axesFrame(o, MARGIN.top);
  const maxValue = Math.max(0, ...bars.map((b) => b.value));
  const yDomain = domainOf([0, maxValue || 1]);
  const y = scale(yDomain, [a.plot.y0, a.plot.y1]);
  const band = (a.plot.x1 - a.plot.x0) / bars.length;
  const barWidth = Math.max(1, band * 0.72);
  const formatY = o.formatY ?? ((v: number) => String(v));
  const color = o.color ?? PALETTE[0];
  const maxLabels = Math.max(2, Math.floor((a.plot.x1 - a.plot.x0) / 70));
  const labelled = new Set(thin(bars.map((_, i) => i), maxLabels));

  const rects = bars.map((b, i) => {
    const left = a.plot.x0 + i * band + (band - barWidth) / 2;
    const top = y(Math.max(b.value, 0));
    const centre = a.plot.x0 + i * band + band / 2;
    return html`<rect x="${r(left)}" y="${r(top)}" width="${r(barWidth)}" height="${r(Math.max(a.plot.y0 - top, 0))}" fill="${color}"><title>${b.title ?? `${b.label}: ${formatY(b.value)}`}</title></rect>${
      labelled.has(i)
        ? html`<text class="tick" x="${r(centre)}" y="${a.plot.y0 + 17}" text-anchor="middle">${b.label}</text>`
        : ''
    }`;
  });
  return svgRoot(a, o.title, html`${yAxis(a, yDomain, o.formatY, o.yLabel)}${rects}${xAxisLine(a, o.xLabel)}`);
}

function finitePoint(p: Point): boolean {
  return Number.isFinite(p.x) && Number.isFinite(p.y);
}
