/** The two prediction-traffic charts (volume, and positive rate with mean probability) shared by two pages. */
import { html, type SafeHtml } from '../html.js';
import type { PredictionStats } from '../queries/prediction-stats.js';
import { barChart, lineChart } from '../views/charts.js';
import { formatPercent } from '../views/format.js';

/** '2025-03-01T00:00:00.000Z' -> '03-01' for days, '2025-03-01T14:00:00.000Z' -> '14:00' for hours. */
export function bucketLabel(start: string, bucket: PredictionStats['bucket']): string {
  return bucket === 'day' ? start.slice(5, 10) : `${start.slice(11, 13)}:00`;
}

export function trafficCharts(stats: PredictionStats, size: { width: number; height: number }): { volume: SafeHtml; rates: SafeHtml } {
  const unit = stats.bucket === 'day' ? 'day' : 'hour (UTC)';
  const volume = barChart({
    ...size,
    title: `Predictions per ${unit}`,
    xLabel: unit,
    yLabel: 'predictions',
    bars: stats.buckets.map((b) => ({
      label: bucketLabel(b.start, stats.bucket),
      value: b.count,
      title: `${b.start.slice(0, stats.bucket === 'day' ? 10 : 13).replace('T', ' ')}: ${b.count} predictions`,
    })),
  });
  const point = (value: number | null, i: number, label: string) =>
    value === null ? [] : [{ x: i, y: value, label: `${stats.buckets[i].start.slice(0, 13).replace('T', ' ')}: ${label} ${formatPercent(value)}` }];
  const ticks = stats.buckets.map((b, i) => ({ value: i, label: bucketLabel(b.start, stats.bucket) }));
  const rates = lineChart({
    ...size,
    title: `Positive rate and mean probability per ${unit}`,
    xLabel: unit,
    yLabel: 'share',
    yDomain: [0, 1],
    xDomain: [0, Math.max(stats.buckets.length - 1, 1)],
    xTicks: ticks,
    formatY: (v) => formatPercent(v, 0),
    series: [
      { name: 'positive rate', markers: true, points: stats.buckets.flatMap((b, i) => point(b.positiveRate, i, 'positive rate')) },
      { name: 'mean probability', dashed: true, points: stats.buckets.flatMap((b, i) => point(b.meanProbability, i, 'mean probability')) },
      { name: 'label agreement', markers: true, points: stats.buckets.flatMap((b, i) => point(b.labelAgreement, i, 'label agreement')) },
    ],
  });
  return { volume, rates: stats.totals.count === 0 ? html`<p class="muted">No predictions in this window.</p>` : rates };
}
