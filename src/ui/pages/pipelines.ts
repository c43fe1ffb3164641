/** /ui/pipelines (runs, filtered by DAG) and /ui/pipelines/:id (task graph, task table, attempts with logs). */
import { html, join, type SafeHtml } from '../html.js';
import type { Paged } from '../queries/common.js';
import type { DagRunDetail, DagRunSummary, TaskAttemptView, TaskInstanceView } from '../queries/dag-runs.js';
import { badge, card, chips, jsonBlock, keyValues, link, pager, table, when } from '../views/components.js';
import { dagGraph, type DagShape } from '../views/dag-graph.js';
import { formatDuration, formatTime, shortId, truncate } from '../views/format.js';
import { page } from '../views/layout.js';
import { apiHref, uiHref } from '../views/urls.js';

/** Logs longer than this show their end only (the end is where a failure is); the API has them whole. */
export const LOG_TAIL_CHARS = 100_000;

const STATE_ORDER = ['failed', 'upstream_failed', 'up_for_retry', 'running', 'queued', 'pending', 'success'];

/** "2 success · 1 failed" as badges, problems first. */
export function taskCountsCell(counts: Record<string, number>): SafeHtml {
  const states = Object.keys(counts).sort((a, b) => rank(a) - rank(b));
  if (states.length === 0) return html`<span class="muted">—</span>`;
  return join(states.map((s) => badge(s, `${counts[s]} ${s}`)), ' ');
}

function rank(state: string): number {
  const i = STATE_ORDER.indexOf(state);
  return i < 0 ? STATE_ORDER.length : i;
}

export function pipelinesPage(base: string, runs: Paged<DagRunSummary>, dagIds: string[], dag: string | undefined): string {
  const filter = chips([
    { label: 'All DAGs', href: uiHref(base, ['pipelines']), active: !dag },
    ...dagIds.map((id) => ({ label: id, href: uiHref(base, ['pipelines'], { dag: id }), active: id === dag })),
  ]);
  const body = html`${filter}${card(
    dag ? html`Runs of ${dag}` : 'All runs',
    html`${table({
      headers: ['Run', 'DAG', 'Status', 'Trigger', 'Tasks', 'Created', 'Duration', 'Error'],
      numeric: [6],
      empty: dag ? `DAG ${dag} has no runs.` : 'No pipeline has run yet.',
      rows: runs.items.map((r) => [
        link(uiHref(base, ['pipelines', r.id]), shortId(r.id), r.id),
        link(uiHref(base, ['pipelines'], { dag: r.dagId }), r.dagId),
        badge(r.status),
        r.trigger,
        taskCountsCell(r.taskCounts),
        when(r.createdAt),
        formatDuration(r.durationMs),
        r.error ? html`<span class="error" title="${r.error}">${truncate(r.error, 80)}</span>` : '',
      ]),
    })}${pager({
      offset: runs.offset,
      limit: runs.limit,
      count: runs.items.length,
      total: runs.total,
      hrefFor: (offset) => uiHref(base, ['pipelines'], { dag, offset }),
    })}`,
    html`${runs.total} runs · ${link(apiHref(base, ['dag-runs'], { dag }), 'JSON')}`,
  )}`;
  return page({ base, section: 'pipelines', title: 'Pipelines', subtitle: 'DAG runs, newest first', body });
}

function taskAnchor(taskId: string): string {
  return `task-${taskId}`;
}

function logBlock(log: string): SafeHtml {
  if (log === '') return html`<p class="muted">No log output.</p>`;
  if (log.length <= LOG_TAIL_CHARS) return html`<pre>${log}</pre>`;
  return html`<p class="muted">Showing the last ${LOG_TAIL_CHARS.toLocaleString('en-US')} of ${log.length.toLocaleString('en-US')} characters; the API returns the whole log.</p><pre>${log.slice(-LOG_TAIL_CHARS)}</pre>`;
}

function attemptBlock(a: TaskAttemptView, isLast: boolean): SafeHtml {
  const open = a.state === 'failed' || isLast;
  return html`<details${open ? html` open` : ''}><summary>Attempt ${a.tryNumber} ${badge(a.state)} · started ${formatTime(a.startedAt)} · ${formatDuration(a.durationMs)}</summary>
    ${a.error ? html`<p class="error">${a.error}</p>` : ''}${logBlock(a.log)}</details>`;
}

function taskSection(t: TaskInstanceView): SafeHtml {
  return html`<div class="task" id="${taskAnchor(t.taskId)}"><h3>${t.taskId} ${badge(t.state)}</h3>
    ${t.error ? html`<p class="error">${t.error}</p>` : ''}
    ${t.attempts.length === 0 ? html`<p class="muted">Not attempted.</p>` : t.attempts.map((a, i) => attemptBlock(a, i === t.attempts.length - 1))}
    ${t.output !== null ? html`<details><summary>Output</summary>${jsonBlock(t.output)}</details>` : ''}</div>`;
}

export function dagRunPage(base: string, run: DagRunDetail, shape: DagShape | undefined): string {
  const graph = dagGraph(
    run.tasks.map((t) => ({ id: t.taskId, state: t.state, durationMs: t.durationMs, tryNumber: t.tryNumber, maxTries: t.maxTries })),
    shape,
    (taskId) => `#${taskAnchor(taskId)}`,
  );
  const body = html`
  ${card(
    'Run',
    html`${keyValues([
      ['Run id', html`<code>${run.id}</code>`],
      ['DAG', link(uiHref(base, ['pipelines'], { dag: run.dagId }), run.dagId)],
      ['Trigger', run.trigger],
      ['Created', formatTime(run.createdAt)],
      ['Started', formatTime(run.startedAt)],
      ['Ended', formatTime(run.endedAt)],
      ['Duration', formatDuration(run.durationMs)],
      ['Error', run.error ? html`<span class="error">${run.error}</span>` : null],
    ])}<details><summary>Configuration</summary>${jsonBlock(run.conf)}</details>`,
    link(apiHref(base, ['dag-runs', run.id]), 'JSON'),
  )}
  ${card(
    'Task graph',
    html`${graph}${shape ? '' : html`<p class="muted">Tasks in start order; dependencies are not known to this server.</p>`}`,
  )}
  ${card(
    'Tasks',
    html`${table({
      headers: ['Task', 'State', 'Try', 'Started', 'Ended', 'Duration', 'Error'],
      numeric: [2, 5],
      empty: 'This run has no task instances yet.',
      rows: run.tasks.map((t) => [
        link(`#${taskAnchor(t.taskId)}`, t.taskId),
        badge(t.state),
        `${t.tryNumber} / ${t.maxTries}`,
        when(t.startedAt),
        when(t.endedAt),
        formatDuration(t.durationMs),
        t.error ? html`<span class="error" title="${t.error}">${truncate(t.error, 90)}</span>` : '',
      ]),
    })}`,
  )}
  ${card('Attempts and logs', run.tasks.map(taskSection))}`;
  return page({
    base,
    section: 'pipelines',
    title: `${run.dagId} run`,
    titleAside: html` ${badge(run.status)}`,
    crumbs: [
      { label: 'Pipelines', href: uiHref(base, ['pipelines']) },
      { label: run.dagId, href: uiHref(base, ['pipelines'], { dag: run.dagId }) },
    ],
    body,
  });
}
