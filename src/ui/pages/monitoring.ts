/**
 * /ui/models/:name/monitoring: training vs live distribution of every feature and of the predicted probability,
 * drift per feature and dataset drift, drift and quality (realised and estimated ROC AUC) over time.
 */
import type { FeatureDistribution, MonitoringTimelinePoint } from '../../monitor/report.js';
import type { MonitoringReport } from '../../monitor/types.js';
import { html, type SafeHtml } from '../html.js';
import { lineChart, PALETTE, thin, type LineSeries } from '../views/charts.js';
import { badge, card, keyValues, link, stat, table } from '../views/components.js';
import { formatNumber, formatPercent, formatTime } from '../views/format.js';
import { page } from '../views/layout.js';
import { uiHref } from '../views/urls.js';

export interface MonitoringPageData {
  report: MonitoringReport;
  distributions: FeatureDistribution[];
  timeline: MonitoringTimelinePoint[];
}

const score = (value: number | null) => (value === null ? '—' : value < 0.001 && value > 0 ? value.toExponential(2) : value.toFixed(4));

function distributionChart(d: FeatureDistribution): SafeHtml {
  const xTicks = thin(
    d.labels.map((label, k) => ({ value: k, label: label.length > 12 ? `${label.slice(0, 11)}…` : label })),
    6,
  );
  const series: LineSeries[] = [
    { name: 'training', color: PALETTE[0], markers: true, points: d.reference.map((y, k) => ({ x: k, y, label: `${d.labels[k]}: ${formatPercent(y)} in training` })) },
    { name: 'live', color: PALETTE[1], dashed: true, markers: true, points: d.live.map((y, k) => ({ x: k, y, label: `${d.labels[k]}: ${formatPercent(y)} live` })) },
  ];
  return lineChart({
    title: `${d.name}: training vs live`,
    width: 580,
    height: 230,
    xLabel: d.kind === 'categorical' ? `${d.name} (levels)` : d.edges ? `${d.name} (training quantile bins)` : `${d.name} (values)`,
    yLabel: 'share',
    xTicks,
    series,
    formatY: (v) => `${Math.round(v * 100)}%`,
  });
}

function timelineCharts(report: MonitoringReport, timeline: MonitoringTimelinePoint[]): SafeHtml {
  if (timeline.length < 2) {
    return card('Over time', html`<p class="muted">Drift and quality over time appear once the log holds two windows of predictions.</p>`);
  }
  const xTicks = thin(timeline.map((p, k) => ({ value: k, label: formatTime(p.to).slice(5, 16) })), 6);
  const features = report.features.map((f) => f.name);
  const driftSeries: LineSeries[] = features.map((name, j) => ({
    name,
    color: PALETTE[j % PALETTE.length],
    markers: true,
    points: timeline.flatMap((p, k) => {
      const s = p.features[name]?.statistic;
      return s === null || s === undefined ? [] : [{ x: k, y: s, label: `${name} ${score(s)} (${p.features[name].drifted ? 'drift' : 'no drift'}) up to ${formatTime(p.to)}` }];
    }),
  }));
  const share: LineSeries = {
    name: 'share of features drifted',
    markers: true,
    points: timeline.map((p, k) => ({ x: k, y: p.drift_share, label: `${formatPercent(p.drift_share)} drifted up to ${formatTime(p.to)}` })),
  };
  const quality: LineSeries[] = [
    {
      name: 'realised ROC AUC',
      color: PALETTE[0],
      markers: true,
      points: timeline.flatMap((p, k) => (p.live_roc_auc === null ? [] : [{ x: k, y: p.live_roc_auc, label: `realised ${score(p.live_roc_auc)} from ${p.labels} labels` }])),
    },
    {
      name: 'estimated ROC AUC (CBPE)',
      color: PALETTE[3],
      dashed: true,
      markers: true,
      points: timeline.flatMap((p, k) => (p.estimated_roc_auc === null ? [] : [{ x: k, y: p.estimated_roc_auc, label: `estimated ${score(p.estimated_roc_auc)}` }])),
    },
  ];
  if (report.test.roc_auc !== null) {
    quality.push({ name: 'test ROC AUC', color: PALETTE[2], points: [{ x: 0, y: report.test.roc_auc }, { x: timeline.length - 1, y: report.test.roc_auc }] });
  }
  const chunk = timeline[0].rows;
  return html`${card(
    'Drift over time',
    html`${lineChart({ title: 'Share of features drifted', width: 1160, height: 200, xLabel: `windows of ${chunk} predictions`, yLabel: 'share drifted', xTicks, series: [share], yDomain: [0, 1] })}
    ${lineChart({ title: 'Drift score per feature', width: 1160, height: 260, xLabel: `windows of ${chunk} predictions`, yLabel: 'p-value or distance', xTicks, series: driftSeries })}`,
    'p-values (KS, chi-squared, z) drift below 0.05; distances (Wasserstein, Jensen-Shannon) at 0.1 and above',
  )}
  ${card(
    'Quality over time',
    lineChart({ title: 'Realised and estimated ROC AUC', width: 1160, height: 240, xLabel: `windows of ${chunk} predictions`, yLabel: 'ROC AUC', xTicks, series: quality }),
    'realised from /feedback labels; estimated from calibrated probabilities, before labels arrive',
  )}`;
}

export function monitoringPage(base: string, data: MonitoringPageData): string {
  const { report } = data;
  const name = report.model.name;
  const crumbs = [
    { label: 'Models', href: uiHref(base, ['models']) },
    { label: name, href: uiHref(base, ['models', name]) },
  ];
  const title = `${name} v${report.model.version}: monitoring`;
  if (report.message) {
    return page({ base, section: 'models', title, crumbs, body: card('Monitoring', html`<p>${report.message}.</p>`) });
  }
  const { live, estimated, test, window } = report;
  const summary = html`<div class="stats">
    ${stat('dataset drift', report.dataset_drift ? badge('failed', 'drift') : badge('success', 'no drift'), `${report.drift.drifted} of ${report.drift.tested} features drifted`)}
    ${stat('prediction drift', report.prediction ? (report.prediction.drifted ? badge('failed', 'drift') : badge('success', 'no drift')) : '—', report.prediction ? `${report.prediction.test} ${score(report.prediction.statistic)}` : '')}
    ${stat('realised ROC AUC', formatNumber(live.roc_auc), live.roc_auc_ci ? `95% CI ${formatNumber(live.roc_auc_ci.lower, 3)}–${formatNumber(live.roc_auc_ci.upper, 3)}, ${live.labels} labels` : `${live.labels} labels`)}
    ${stat('estimated ROC AUC', formatNumber(estimated.roc_auc), 'CBPE, without labels')}
    ${stat('test ROC AUC', formatNumber(test.roc_auc), 'at training')}
  </div>`;
  const features = table({
    headers: ['Feature', 'Kind', 'Test', 'Score', 'Threshold', 'Drift', 'PSI', 'Missing (live / training)', 'Unseen levels'],
    numeric: [3, 4, 6],
    empty: 'No features.',
    rows: report.features.map((f) => [
      f.name,
      f.kind,
      f.test ?? ('reason' in f ? f.reason : ''),
      score(f.statistic),
      f.threshold === null ? '—' : String(f.threshold),
      f.test === null ? '—' : f.drifted ? badge('failed', 'drift') : badge('success', 'ok'),
      'psi' in f ? formatNumber(f.psi) : '—',
      `${formatPercent(f.missing.live)} / ${formatPercent(f.missing.reference)}`,
      f.unseen === null ? '—' : formatPercent(f.unseen),
    ]),
  });
  const charts = data.distributions.map((d) => html`<div><h3>${d.name}</h3>${distributionChart(d)}</div>`);
  const body = html`
  ${card(
    'Window',
    html`${summary}${keyValues([
      ['Predictions', `${window.rows}${window.size ? ` (the newest, up to ${window.size})` : ''}`],
      ['From', formatTime(window.from)],
      ['To', formatTime(window.to)],
      ['Reference', report.reference ? `${report.reference.rows} training rows, profiled ${formatTime(report.reference.created_at)}` : '—'],
    ])}`,
    link(`${base}/monitoring/${encodeURIComponent(name)}`, 'JSON'),
  )}
  ${card('Drift per feature', features, "Evidently's defaults: tests for references up to 1,000 rows, distances above")}
  ${card('Training vs live distributions', html`<div class="grid2">${charts}</div>`)}
  ${timelineCharts(report, data.timeline)}`;
  return page({ base, section: 'models', title, crumbs, body });
}
