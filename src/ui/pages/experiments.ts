/** /ui/experiments, /ui/experiments/:id (runs and a metric across them) and /ui/runs/:id (one run in full). */
import { html, join, type SafeHtml } from '../html.js';
import type { Paged } from '../queries/common.js';
import type { ExperimentSummary } from '../queries/experiments.js';
import type { MetricAcrossRuns, MetricPoint, RunDetail, RunSummary } from '../queries/runs.js';
import type { RocLookup } from '../roc.js';
import { lineChart, thin, type LineSeries } from '../views/charts.js';
import { badge, card, chips, keyValues, link, mono, pager, table, when } from '../views/components.js';
import { formatDuration, formatNumber, formatTime, shortId } from '../views/format.js';
import { page } from '../views/layout.js';
import { apiHref, uiHref } from '../views/urls.js';

/** The metric an experiment page charts when none is chosen: the test ROC AUC the pipelines log. */
export function defaultMetric(keys: string[]): string | undefined {
  return ['test_roc_auc', 'roc_auc', 'val_roc_auc'].find((k) => keys.includes(k)) ?? keys.find((k) => k.includes('auc')) ?? keys[0];
}

/** Most series a chart gets before runs are drawn as one series. */
const MAX_SERIES = 6;

export function experimentsPage(base: string, experiments: Paged<ExperimentSummary>): string {
  const body = card(
    'Experiments',
    html`${table({
      headers: ['Experiment', 'Runs', 'Last run', 'Created'],
      numeric: [1],
      empty: 'No experiment yet: training runs create one per model name.',
      rows: experiments.items.map((e) => [
        link(uiHref(base, ['experiments', e.id]), e.name),
        String(e.runCount),
        when(e.lastRunAt),
        when(e.createdAt),
      ]),
    })}${pager({
      offset: experiments.offset,
      limit: experiments.limit,
      count: experiments.items.length,
      total: experiments.total,
      hrefFor: (offset) => uiHref(base, ['experiments'], { offset }),
    })}`,
    link(apiHref(base, ['experiments']), 'JSON'),
  );
  return page({ base, section: 'experiments', title: 'Experiments', body });
}

export interface ExperimentPageData {
  experiment: { id: string; name: string; createdAt: string };
  runs: Paged<RunSummary>;
  metricKeys: string[];
  metric: string | undefined;
  values: MetricAcrossRuns[];
}

/** Runs of one name (an estimator, or the parent 'train_model ...') form one series, in start order. */
export function metricOverRunsChart(metric: string, values: MetricAcrossRuns[]): SafeHtml {
  const names = [...new Set(values.map((v) => v.runName))];
  const grouped = names.length <= MAX_SERIES;
  const series: LineSeries[] = (grouped ? names : ['runs']).map((name) => ({
    name,
    markers: true,
    points: values.flatMap((v, i) =>
      grouped && v.runName !== name
        ? []
        : [{ x: i + 1, y: v.value, label: `${v.runName} (${formatTime(v.startTime)}): ${metric} = ${formatNumber(v.value)}` }],
    ),
  }));
  return lineChart({
    title: `${metric} per run`,
    width: 900,
    height: 280,
    xLabel: 'run, in start order',
    yLabel: metric,
    xDomain: [values.length > 1 ? 1 : 0, Math.max(values.length, 2)],
    xTicks: values.map((_, i) => ({ value: i + 1, label: String(i + 1) })),
    series,
  });
}

export function experimentPage(base: string, d: ExperimentPageData): string {
  const valueByRun = new Map(d.values.map((v) => [v.runId, v.value]));
  const metricChips = chips(
    d.metricKeys.map((k) => ({ label: k, href: uiHref(base, ['experiments', d.experiment.id], { metric: k }), active: k === d.metric })),
  );
  const body = html`
  ${card(
    d.metric ? html`${d.metric} across runs` : 'Metrics across runs',
    d.metric
      ? html`${metricChips}${metricOverRunsChart(d.metric, d.values)}<p class="muted">Last logged value per run, for the latest ${d.values.length} runs that logged it.</p>`
      : html`<p class="muted">No run of this experiment has logged a metric yet.</p>`,
  )}
  ${card(
    'Runs',
    html`${table({
      headers: ['Run', 'Status', 'Parent', 'Started', 'Duration', d.metric ?? 'metric'],
      numeric: [4, 5],
      empty: 'This experiment has no runs.',
      rows: d.runs.items.map((r) => [
        link(uiHref(base, ['runs', r.id]), r.name, r.id),
        badge(r.status),
        r.parentRunId ? link(uiHref(base, ['runs', r.parentRunId]), shortId(r.parentRunId), r.parentRunId) : '',
        when(r.startTime),
        formatDuration(r.durationMs),
        formatNumber(valueByRun.get(r.id)),
      ]),
    })}${pager({
      offset: d.runs.offset,
      limit: d.runs.limit,
      count: d.runs.items.length,
      total: d.runs.total,
      hrefFor: (offset) => uiHref(base, ['experiments', d.experiment.id], { metric: d.metric, offset }),
    })}`,
    html`${d.runs.total} runs · ${link(apiHref(base, ['runs'], { experiment: d.experiment.id }), 'JSON')}`,
  )}`;
  return page({
    base,
    section: 'experiments',
    title: d.experiment.name,
    subtitle: html`Experiment <code>${d.experiment.id}</code>, created ${formatTime(d.experiment.createdAt)}`,
    crumbs: [{ label: 'Experiments', href: uiHref(base, ['experiments']) }],
    body,
  });
}

export interface RunPageData {
  run: RunDetail;
  artifacts: string[] | null;
  roc: RocLookup;
  /** Metrics logged at more than one step, with every step. */
  histories: Array<{ key: string; points: MetricPoint[] }>;
  /** The run's test ROC AUC metric, if logged, to set beside the curve's own area. */
  loggedAuc: number | undefined;
}

/** Most points drawn for a ROC curve; a long curve is thinned evenly (it is monotone, so the shape holds). */
const MAX_ROC_POINTS = 600;

export function rocChart(roc: Extract<RocLookup, { kind: 'ok' }>['curve']): SafeHtml {
  const points = thin(
    roc.fpr.map((x, i) => ({ x, y: roc.tpr[i], label: `FPR ${formatNumber(x, 3)}, TPR ${formatNumber(roc.tpr[i], 3)}` })),
    MAX_ROC_POINTS,
  );
  return lineChart({
    title: 'ROC curve',
    width: 440,
    height: 400,
    xLabel: 'false positive rate',
    yLabel: 'true positive rate',
    xDomain: [0, 1],
    yDomain: [0, 1],
    series: [
      { name: `ROC (area ${formatNumber(roc.auc)})`, points },
      { name: 'chance', color: '#94a3b8', dashed: true, points: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
    ],
  });
}

function rocCard(d: RunPageData): SafeHtml | undefined {
  if (d.roc.kind === 'absent') return undefined;
  if (d.roc.kind === 'problem') return card('ROC curve', html`<p class="error">${d.roc.reason}</p>`);
  const note =
    d.loggedAuc !== undefined
      ? html`<p class="muted">Area under the stored curve ${formatNumber(d.roc.curve.auc)}; logged test_roc_auc ${formatNumber(d.loggedAuc)}.</p>`
      : '';
  return card('ROC curve (test split)', html`${rocChart(d.roc.curve)}${note}`);
}

function historyCard(h: RunPageData['histories'][number]): SafeHtml {
  return card(
    html`${h.key} by step`,
    lineChart({
      title: `${h.key} by step`,
      width: 520,
      height: 300,
      xLabel: 'step',
      yLabel: h.key,
      series: [{ name: h.key, points: h.points.map((p) => ({ x: p.step, y: p.value })) }],
    }),
  );
}

/** The ROC curve and step-wise metrics, two to a row. */
function chartCards(d: RunPageData): SafeHtml {
  const cards = [rocCard(d), ...d.histories.map(historyCard)].filter((c): c is SafeHtml => c !== undefined);
  return cards.length ? html`<div class="grid2">${cards}</div>` : html``;
}

export function runPage(base: string, d: RunPageData): string {
  const r = d.run;
  const tags = Object.entries(r.tags);
  const body = html`
  ${card(
    'Run',
    keyValues([
      ['Run id', html`<code>${r.id}</code>`],
      ['Experiment', link(uiHref(base, ['experiments', r.experimentId]), r.experimentName)],
      ['Parent run', r.parentRunId ? link(uiHref(base, ['runs', r.parentRunId]), r.parentRunId) : null],
      ['Pipeline run', r.dagRunId ? link(uiHref(base, ['pipelines', r.dagRunId]), r.dagRunId) : null],
      ['Dataset snapshot', r.datasetSnapshotId ? mono(r.datasetSnapshotId) : null],
      ['Started', formatTime(r.startTime)],
      ['Ended', formatTime(r.endTime)],
      ['Duration', formatDuration(r.durationMs)],
      [
        'Registered as',
        r.modelVersions.length
          ? join(r.modelVersions.map((v) => link(uiHref(base, ['models', v.name]), `${v.name} v${v.version}`)), ', ')
          : null,
      ],
    ]),
    link(apiHref(base, ['runs', r.id]), 'JSON'),
  )}
  <div class="grid2">
  ${card(
    'Metrics',
    table({
      headers: ['Metric', 'Value', 'Step', 'Steps'],
      numeric: [1, 2, 3],
      empty: 'No metrics logged.',
      rows: r.metrics.map((m) => [m.key, formatNumber(m.value), String(m.step), String(m.steps)]),
    }),
  )}
  ${card(
    'Parameters',
    table({
      headers: ['Parameter', 'Value'],
      empty: 'No parameters logged.',
      rows: Object.entries(r.params).map(([k, v]) => [k, mono(v)]),
    }),
  )}
  </div>
  ${chartCards(d)}
  ${r.children.length
    ? card(
        'Child runs',
        table({
          headers: ['Run', 'Status', 'Started', 'Duration'],
          numeric: [3],
          empty: '',
          rows: r.children.map((c) => [link(uiHref(base, ['runs', c.id]), c.name, c.id), badge(c.status), when(c.startTime), formatDuration(c.durationMs)]),
        }),
      )
    : ''}
  ${tags.length ? card('Tags', keyValues(tags.map(([k, v]) => [k, v]))) : ''}
  ${d.artifacts !== null
    ? card('Artifacts', d.artifacts.length ? html`<ul>${d.artifacts.map((k) => html`<li><code>${k}</code></li>`)}</ul>` : html`<p class="muted">No artifacts.</p>`)
    : ''}`;
  return page({
    base,
    section: 'experiments',
    title: r.name,
    titleAside: html` ${badge(r.status)}`,
    crumbs: [
      { label: 'Experiments', href: uiHref(base, ['experiments']) },
      { label: r.experimentName, href: uiHref(base, ['experiments', r.experimentId]) },
    ],
    body,
  });
}
