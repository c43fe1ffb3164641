/** Building blocks the pages share: badges, cards, tables, key/value lists, filters and pagers. */
import { html, type HtmlValue, type SafeHtml } from '../html.js';
import { formatTime } from './format.js';
import { toneOf } from './tones.js';

export function badge(state: string, label: string = state): SafeHtml {
  return html`<span class="badge tone-${toneOf(state)}">${label.replaceAll('_', ' ')}</span>`;
}

export function link(href: string, text: HtmlValue, title?: string): SafeHtml {
  return html`<a href="${href}"${title ? html` title="${title}"` : ''}>${text}</a>`;
}

export function card(title: HtmlValue, body: HtmlValue, aside?: HtmlValue): SafeHtml {
  return html`<section class="card"><div class="card-head"><h2>${title}</h2>${aside ? html`<div class="aside">${aside}</div>` : ''}</div>${body}</section>`;
}

export interface TableOptions {
  headers: HtmlValue[];
  rows: HtmlValue[][];
  /** Shown instead of an empty table. */
  empty: string;
  /** Indices of columns to right-align (numbers). */
  numeric?: number[];
  /** Optional id per row, for in-page links. */
  rowIds?: Array<string | undefined>;
}

export function table(o: TableOptions): SafeHtml {
  if (o.rows.length === 0) return html`<p class="muted">${o.empty}</p>`;
  const numeric = new Set(o.numeric ?? []);
  const cls = (i: number) => (numeric.has(i) ? html` class="num"` : '');
  return html`<div class="table-wrap"><table><thead><tr>${o.headers.map((h, i) => html`<th${cls(i)}>${h}</th>`)}</tr></thead><tbody>${o.rows.map(
    (row, r) => html`<tr${o.rowIds?.[r] ? html` id="${o.rowIds[r]}"` : ''}>${row.map((cell, i) => html`<td${cls(i)}>${cell}</td>`)}</tr>`,
  )}</tbody></table></div>`;
}

export function keyValues(pairs: Array<[string, HtmlValue]>): SafeHtml {
  return html`<dl class="kv">${pairs.map(([k, v]) => html`<dt>${k}</dt><dd>${v === null || v === undefined || v === '' ? '—' : v}</dd>`)}</dl>`;
}

/** A figure tile for the overview: a big number and what it counts. */
export function stat(label: string, value: HtmlValue, note?: HtmlValue): SafeHtml {
  return html`<div class="stat"><div class="stat-value">${value}</div><div class="stat-label">${label}</div>${note ? html`<div class="stat-note">${note}</div>` : ''}</div>`;
}

export interface Chip {
  label: string;
  href: string;
  active: boolean;
}

/** Filter links (no script needed): the active one is highlighted. */
export function chips(items: Chip[]): SafeHtml {
  return html`<nav class="chips">${items.map((c) => html`<a class="chip${c.active ? ' active' : ''}" href="${c.href}">${c.label}</a>`)}</nav>`;
}

export interface PagerOptions {
  offset: number;
  limit: number;
  /** Rows on this page. */
  count: number;
  /** Known total, or leave it out and say whether there is more. */
  total?: number;
  hasMore?: boolean;
  hrefFor: (offset: number) => string;
}

export function pager(o: PagerOptions): SafeHtml {
  const hasMore = o.total !== undefined ? o.offset + o.limit < o.total : Boolean(o.hasMore);
  if (o.offset === 0 && !hasMore) return html``;
  const shown = o.total !== undefined ? html` of ${o.total}` : '';
  return html`<div class="pager">${o.offset > 0 ? html`<a href="${o.hrefFor(Math.max(0, o.offset - o.limit))}">← Newer</a>` : html`<span></span>`}
    <span class="muted">rows ${o.offset + 1}–${o.offset + o.count}${shown}</span>
    ${hasMore ? html`<a href="${o.hrefFor(o.offset + o.limit)}">Older →</a>` : html`<span></span>`}</div>`;
}

/** Any JSON value, pretty-printed. */
export function jsonBlock(value: unknown): SafeHtml {
  return html`<pre class="json">${JSON.stringify(value, null, 2) ?? 'null'}</pre>`;
}

export function mono(text: string, title?: string): SafeHtml {
  return html`<code${title ? html` title="${title}"` : ''}>${text}</code>`;
}

/** A stored UTC time for a table cell: kept on one line, machine-readable in `datetime`. */
export function when(iso: string | null | undefined): SafeHtml {
  return iso ? html`<time class="nowrap" datetime="${iso}">${formatTime(iso)}</time>` : html`<span class="muted">—</span>`;
}
