/** /ui/predictions: the latest predictions, and traffic charts (volume, positive rate, label agreement). */
import { html } from '../html.js';
import type { PredictionStats } from '../queries/prediction-stats.js';
import type { PredictionPage } from '../queries/predictions.js';
import { card, chips, link, pager, stat, table, when } from '../views/components.js';
import { formatInputs, formatNumber, formatPercent, formatTime } from '../views/format.js';
import { page } from '../views/layout.js';
import { apiHref, uiHref } from '../views/urls.js';
import { trafficCharts } from './traffic.js';

export interface PredictionsPageData {
  models: string[];
  model: string | undefined;
  stats: PredictionStats;
  predictions: PredictionPage;
}

function labelCell(label: number | null, prediction: number) {
  if (label === null) return html`<span class="muted">—</span>`;
  return label === prediction
    ? html`<span class="nowrap">${label} <span class="tone-good badge" title="prediction matches the label">match</span></span>`
    : html`<span class="nowrap">${label} <span class="tone-bad badge" title="prediction differs from the label">miss</span></span>`;
}

export function predictionsPage(base: string, d: PredictionsPageData): string {
  const { stats, predictions } = d;
  const window = stats.bucket === 'day' ? `since ${stats.since.slice(0, 10)}` : `since ${formatTime(stats.since)} UTC`;
  const modelChips = chips([
    { label: 'All models', href: uiHref(base, ['predictions'], { bucket: stats.bucket }), active: !d.model },
    ...d.models.map((m) => ({ label: m, href: uiHref(base, ['predictions'], { model: m, bucket: stats.bucket }), active: m === d.model })),
  ]);
  const bucketChips = chips([
    { label: 'Per day, 30 days', href: uiHref(base, ['predictions'], { model: d.model, bucket: 'day' }), active: stats.bucket === 'day' },
    { label: 'Per hour, 48 hours', href: uiHref(base, ['predictions'], { model: d.model, bucket: 'hour' }), active: stats.bucket === 'hour' },
  ]);
  const charts = trafficCharts(stats, { width: 560, height: 230 });
  const t = stats.totals;
  const body = html`${modelChips}${bucketChips}
  <div class="stats">
    ${stat('predictions', formatNumber(t.count), window)}
    ${stat('positive rate', formatPercent(t.positiveRate), 'share predicted positive')}
    ${stat('mean probability', formatNumber(t.meanProbability, 3))}
    ${stat('label agreement', formatPercent(t.labelAgreement), `${formatNumber(t.labelled)} with feedback`)}
  </div>
  <div class="grid2">${card('Volume', charts.volume, link(apiHref(base, ['predictions', 'stats'], { model: d.model, bucket: stats.bucket }), 'JSON'))}
  ${card('Positive rate, mean probability, label agreement', charts.rates)}</div>
  ${card(
    'Latest predictions',
    html`${table({
      headers: ['Time', 'Model', 'Row id', 'Probability', 'Prediction', 'Threshold', 'Label', 'Inputs'],
      numeric: [3, 4, 5],
      empty: 'No predictions served yet.',
      rows: predictions.items.map((p) => {
        const inputs = JSON.stringify(p.inputs) ?? '';
        return [
          when(p.createdAt),
          html`<span class="nowrap">${link(uiHref(base, ['models', p.modelName]), `${p.modelName} v${p.modelVersion}`)}</span>`,
          p.rowId ?? '',
          formatNumber(p.probability),
          String(p.prediction),
          formatNumber(p.threshold, 3),
          labelCell(p.label, p.prediction),
          html`<span class="muted" title="${inputs}">${formatInputs(p.inputs, 90)}</span>`,
        ];
      }),
    })}${pager({
      offset: predictions.offset,
      limit: predictions.limit,
      count: predictions.items.length,
      hasMore: predictions.hasMore,
      hrefFor: (offset) => uiHref(base, ['predictions'], { model: d.model, bucket: stats.bucket, offset }),
    })}`,
    link(apiHref(base, ['predictions'], { model: d.model }), 'JSON'),
  )}`;
  return page({ base, section: 'predictions', title: 'Predictions', subtitle: d.model ? html`Model ${d.model}` : 'All models', body });
}
