/** /ui/models and /ui/models/:name: versions with metrics, which one serves, and every registry decision with its reason. */
import { html, join, type SafeHtml } from '../html.js';
import { PRODUCTION_ALIAS, flattenMetrics, type ModelDetail, type ModelSummary } from '../queries/models.js';
import { lineChart } from '../views/charts.js';
import { badge, card, keyValues, link, table, when } from '../views/components.js';
import { formatNumber, formatTime } from '../views/format.js';
import { page } from '../views/layout.js';
import { apiHref, uiHref } from '../views/urls.js';

const EVENT_LABELS: Record<string, string> = {
  register: 'registered',
  promote: 'promoted',
  refuse: 'refused',
  force_promote: 'forced promotion',
  rollback: 'rolled back',
};

/** Most metric columns in the versions table; the JSON has all of them. */
const MAX_METRIC_COLUMNS = 5;
const PREFERRED = ['test.roc_auc', 'val.roc_auc', 'test.accuracy', 'test.f1', 'test.precision', 'test.recall', 'test.log_loss'];

/** The headline numbers first (test and validation ROC AUC), then other test metrics; capped to stay readable. */
export function metricColumns(flat: Array<Record<string, number>>): string[] {
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))];
  const rank = (k: string) => {
    const i = PREFERRED.indexOf(k);
    if (i >= 0) return i;
    return k.startsWith('test.') ? 100 : k.includes('.') ? 300 : 200;
  };
  return keys.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1)).slice(0, MAX_METRIC_COLUMNS);
}

function aliasBadges(aliases: string[]): SafeHtml {
  return join(aliases.map((a) => (a === PRODUCTION_ALIAS ? badge('production') : html`<span class="tag">${a}</span>`)), ' ');
}

export function modelsPage(base: string, models: ModelSummary[]): string {
  const body = card(
    'Registered models',
    table({
      headers: ['Model', 'Production', 'Test ROC AUC', 'Versions', 'Latest', 'Aliases', 'Description', 'Registered'],
      numeric: [2, 3, 4],
      empty: 'No model registered yet.',
      rows: models.map((m) => [
        link(uiHref(base, ['models', m.name]), m.name),
        m.production ? badge('production', `v${m.production.version}`) : html`<span class="muted">none</span>`,
        formatNumber(m.production?.testAuc),
        String(m.versionCount),
        m.latestVersion === null ? '—' : `v${m.latestVersion}`,
        join(Object.entries(m.aliases).map(([a, v]) => html`<span class="tag">${a} → v${v}</span>`)),
        m.description ?? '',
        when(m.createdAt),
      ]),
    }),
    link(apiHref(base, ['models']), 'JSON'),
  );
  return page({ base, section: 'models', title: 'Models', body });
}

function aucChart(model: ModelDetail): SafeHtml {
  const points = [...model.versions]
    .reverse()
    .flatMap((v) => (v.testAuc === null ? [] : [{ x: v.version, y: v.testAuc, label: `v${v.version}: test ROC AUC ${formatNumber(v.testAuc)}` }]));
  if (points.length < 2) return html``;
  const production = model.aliases.find((a) => a.alias === PRODUCTION_ALIAS);
  const prodPoint = points.filter((p) => p.x === production?.version);
  return card(
    'Test ROC AUC by version',
    lineChart({
      title: 'Test ROC AUC by version',
      width: 900,
      height: 240,
      xLabel: 'version',
      yLabel: 'test ROC AUC',
      xTicks: points.map((p) => ({ value: p.x, label: `v${p.x}` })),
      series: [
        { name: 'test ROC AUC', markers: true, points },
        ...(prodPoint.length ? [{ name: 'production', markers: true, color: '#16a34a', points: prodPoint }] : []),
      ],
    }),
  );
}

export function modelPage(base: string, model: ModelDetail): string {
  const flat = model.versions.map((v) => flattenMetrics(v.metrics));
  const columns = metricColumns(flat);
  const versions = table({
    headers: ['Version', 'Aliases', 'Estimator', ...columns, 'Run', 'Registered'],
    numeric: columns.map((_, i) => i + 3),
    empty: 'No version registered.',
    rowIds: model.versions.map((v) => `v${v.version}`),
    rows: model.versions.map((v, i) => [
      `v${v.version}`,
      aliasBadges(v.aliases),
      typeof v.metrics.estimator === 'string' ? v.metrics.estimator : '',
      ...columns.map((c) => formatNumber(flat[i][c])),
      v.runId ? link(uiHref(base, ['runs', v.runId]), v.runId.slice(0, 8), v.runId) : '',
      when(v.createdAt),
    ]),
  });
  const events = table({
    headers: ['Time', 'Event', 'Version', 'Alias', 'Reason'],
    numeric: [2],
    empty: 'No registry events.',
    rows: model.events.map((e) => [
      when(e.createdAt),
      badge(e.action, EVENT_LABELS[e.action] ?? e.action),
      link(`#v${e.version}`, `v${e.version}`),
      e.alias ?? '',
      e.reason,
    ]),
  });
  const production = model.aliases.find((a) => a.alias === PRODUCTION_ALIAS);
  const body = html`
  ${card(
    'Model',
    keyValues([
      ['Description', model.description],
      ['Production', production ? html`${badge('production', `v${production.version}`)} since ${formatTime(production.updatedAt)}` : 'no production version'],
      ['Aliases', model.aliases.length ? join(model.aliases.map((a) => html`<span class="tag">${a.alias} → v${a.version}</span>`)) : null],
      ['Registered', formatTime(model.createdAt)],
      ['Monitoring', link(uiHref(base, ['models', model.name, 'monitoring']), 'drift and live quality')],
    ]),
    link(apiHref(base, ['models', model.name]), 'JSON'),
  )}
  ${card('Versions', html`${versions}<p class="muted">Metrics recorded at registration (test split unless marked val.). Artifact keys are in the JSON.</p>`)}
  ${aucChart(model)}
  ${card('Registry history', events, 'promotions, refusals, forced promotions and rollbacks, newest first')}`;
  return page({
    base,
    section: 'models',
    title: model.name,
    titleAside: production ? html` ${badge('production', `production v${production.version}`)}` : '',
    crumbs: [{ label: 'Models', href: uiHref(base, ['models']) }],
    body,
  });
}

