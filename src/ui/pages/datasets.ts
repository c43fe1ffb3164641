/** /ui/datasets: CSV loads into raw tables and the cleaned, split snapshots that runs and model versions point to. */
import { html } from '../html.js';
import type { DatasetsView } from '../queries/datasets.js';
import { badge, card, link, mono, table, when } from '../views/components.js';
import { formatNumber, shortId, truncate } from '../views/format.js';
import { page } from '../views/layout.js';
import { apiHref } from '../views/urls.js';

interface SplitCounts {
  train?: number;
  val?: number;
  test?: number;
  positives?: { train?: number; val?: number; test?: number };
}

function splitCell(counts: unknown) {
  const c = (counts ?? {}) as SplitCounts;
  const part = (split: 'train' | 'val' | 'test') =>
    `${formatNumber(c[split])}${c.positives?.[split] !== undefined ? ` (${formatNumber(c.positives[split])}+)` : ''}`;
  return `${part('train')} / ${part('val')} / ${part('test')}`;
}

function lengthOf(value: unknown): string {
  return Array.isArray(value) ? String(value.length) : '—';
}

export function datasetsPage(base: string, d: DatasetsView): string {
  const body = html`
  ${card(
    'Raw loads',
    table({
      headers: ['Dataset', 'Load', 'Table', 'Source', 'Status', 'Rows', 'Rejected', 'Columns', 'Loaded'],
      numeric: [5, 6, 7],
      empty: 'No CSV loaded yet.',
      rows: d.rawLoads.map((l) => [
        l.dataset,
        mono(shortId(l.id), l.id),
        mono(l.tableName),
        html`<span title="${l.source}">${truncate(l.source, 48)}</span>`,
        html`${badge(l.status)}${l.error ? html` <span class="error">${truncate(l.error, 80)}</span>` : ''}`,
        formatNumber(l.rowCount),
        formatNumber(l.rejectCount),
        lengthOf(l.columns),
        when(l.createdAt),
      ]),
    }),
    link(apiHref(base, ['datasets']), 'JSON'),
  )}
  ${card(
    'Snapshots',
    html`${table({
      headers: ['Dataset', 'Snapshot', 'Table', 'Target', 'Train / val / test rows (positives)', 'Features', 'Seed', 'Created'],
      numeric: [5, 6],
      empty: 'No snapshot yet: preprocess_data makes one from a raw load.',
      rows: d.snapshots.map((s) => [
        s.dataset,
        mono(shortId(s.id), s.id),
        mono(s.tableName),
        html`${s.target} = <code>${s.positiveLabel}</code>`,
        splitCell(s.counts),
        lengthOf(s.features),
        String(s.seed),
        when(s.createdAt),
      ]),
    })}`,
  )}`;
  return page({ base, section: 'datasets', title: 'Datasets', subtitle: 'Newest first', body });
}
