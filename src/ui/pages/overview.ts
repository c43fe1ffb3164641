/** /ui: what is in production, what the pipelines did lately, and how much the models are predicting. */
import { html } from '../html.js';
import type { DagRunSummary } from '../queries/dag-runs.js';
import type { ModelSummary } from '../queries/models.js';
import type { PredictionStats } from '../queries/prediction-stats.js';
import { badge, card, link, stat, table, when } from '../views/components.js';
import { formatDuration, formatNumber, formatPercent, shortId } from '../views/format.js';
import { page } from '../views/layout.js';
import { uiHref } from '../views/urls.js';
import { trafficCharts } from './traffic.js';

export interface OverviewData {
  models: ModelSummary[];
  dagRuns: DagRunSummary[];
  /** Day buckets over the last two weeks. */
  traffic: PredictionStats;
  /** Totals over the last 24 hours. */
  lastDay: PredictionStats;
}

export function overviewPage(base: string, d: OverviewData): string {
  const inProduction = d.models.filter((m) => m.production).length;
  const failedRuns = d.dagRuns.filter((r) => r.status === 'failed').length;
  const charts = trafficCharts(d.traffic, { width: 560, height: 230 });
  const body = html`
  <div class="stats">
    ${stat('models in production', html`${inProduction} <span class="muted">/ ${d.models.length}</span>`, 'registered models with a production version')}
    ${stat('predictions, last 24 h', formatNumber(d.lastDay.totals.count), html`positive rate ${formatPercent(d.lastDay.totals.positiveRate)}`)}
    ${stat('predictions, last 14 days', formatNumber(d.traffic.totals.count), html`mean probability ${formatNumber(d.traffic.totals.meanProbability, 3)}`)}
    ${stat('label agreement, 14 days', formatPercent(d.traffic.totals.labelAgreement), `${formatNumber(d.traffic.totals.labelled)} predictions with feedback`)}
    ${stat('failed pipeline runs', String(failedRuns), `of the last ${d.dagRuns.length}`)}
  </div>
  <div class="grid2">
  ${card(
    'Production models',
    table({
      headers: ['Model', 'Production', 'Test AUC', 'Versions', 'Promoted'],
      numeric: [2, 3],
      empty: 'No model registered yet. Run the training pipeline: mldeploy run training --data FILE --target COLUMN',
      rows: d.models.map((m) => [
        link(uiHref(base, ['models', m.name]), m.name),
        m.production ? html`${badge('production', `v${m.production.version}`)}` : html`<span class="muted">none</span>`,
        formatNumber(m.production?.testAuc),
        String(m.versionCount),
        when(m.production?.promotedAt),
      ]),
    }),
    link(uiHref(base, ['models']), 'All models →'),
  )}
  ${card(
    'Latest pipeline runs',
    table({
      headers: ['Run', 'DAG', 'Status', 'Created', 'Duration'],
      numeric: [4],
      empty: 'No pipeline has run yet.',
      rows: d.dagRuns.map((r) => [
        link(uiHref(base, ['pipelines', r.id]), shortId(r.id), r.id),
        r.dagId,
        badge(r.status),
        when(r.createdAt),
        formatDuration(r.durationMs),
      ]),
    }),
    link(uiHref(base, ['pipelines']), 'All runs →'),
  )}
  </div>
  <div class="grid2">
  ${card('Prediction volume, last 14 days', charts.volume, link(uiHref(base, ['predictions']), 'Predictions →'))}
  ${card('Positive rate, mean probability and label agreement', charts.rates)}
  </div>`;
  return page({ base, section: 'overview', title: 'Overview', body });
}
