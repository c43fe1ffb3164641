/**
 * A DAG run's tasks as an inline SVG graph: one column per dependency depth, boxes coloured by state, arrows from
 * upstream to downstream. Dependencies come from the DAG's definition when the host app supplies it; otherwise the
 * tasks are drawn in start order without arrows (the database stores instances, not the DAG's edges).
 */
import { html, type SafeHtml } from '../html.js';
import { formatDuration, truncate } from './format.js';
import { TONES, toneOf } from './tones.js';

export interface GraphTask {
  id: string;
  state: string;
  durationMs: number | null;
  tryNumber: number;
  maxTries: number;
}

/** The shape of a DAG as defined in code: each task and the tasks it waits for. */
export type DagShape = ReadonlyArray<{ id: string; upstream?: readonly string[] }>;

export interface Placement {
  column: number;
  row: number;
}

/**
 * Column = longest chain of upstream tasks before it; rows fill each column in the given order. Without a shape,
 * each task gets its own column in the given order. Edges to tasks that are not in `taskIds` are ignored.
 */
export function layoutDag(taskIds: readonly string[], shape?: DagShape): { places: Map<string, Placement>; edges: Array<[string, string]> } {
  const known = new Set(taskIds);
  const upstream = new Map<string, string[]>();
  for (const def of shape ?? []) {
    if (known.has(def.id)) upstream.set(def.id, (def.upstream ?? []).filter((u) => known.has(u) && u !== def.id));
  }
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (id: string): number => {
    const seen = depth.get(id);
    if (seen !== undefined) return seen;
    if (visiting.has(id)) return 0; // a cycle cannot come from a valid DAG; do not loop on a corrupt one
    visiting.add(id);
    const d = Math.max(-1, ...(upstream.get(id) ?? []).map(depthOf)) + 1;
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  const places = new Map<string, Placement>();
  const rowsUsed = new Map<number, number>();
  taskIds.forEach((id, index) => {
    const column = shape ? depthOf(id) : index;
    const row = rowsUsed.get(column) ?? 0;
    rowsUsed.set(column, row + 1);
    places.set(id, { column, row });
  });
  const edges: Array<[string, string]> = [];
  for (const [id, ups] of upstream) for (const u of ups) edges.push([u, id]);
  return { places, edges };
}

const NODE = { width: 178, height: 54, gapX: 58, gapY: 18, pad: 12 };

export function dagGraph(tasks: readonly GraphTask[], shape?: DagShape, hrefFor?: (taskId: string) => string): SafeHtml {
  if (tasks.length === 0) return html`<p class="muted">This run has no task instances yet.</p>`;
  const { places, edges } = layoutDag(tasks.map((t) => t.id), shape);
  const columns = Math.max(...[...places.values()].map((p) => p.column)) + 1;
  const rows = Math.max(...[...places.values()].map((p) => p.row)) + 1;
  const width = NODE.pad * 2 + columns * NODE.width + (columns - 1) * NODE.gapX;
  const height = NODE.pad * 2 + rows * NODE.height + (rows - 1) * NODE.gapY;
  const left = (p: Placement) => NODE.pad + p.column * (NODE.width + NODE.gapX);
  const top = (p: Placement) => NODE.pad + p.row * (NODE.height + NODE.gapY);

  const arrows = edges.map(([from, to]) => {
    const a = places.get(from)!;
    const b = places.get(to)!;
    const x1 = left(a) + NODE.width;
    const y1 = top(a) + NODE.height / 2;
    const x2 = left(b) - 3;
    const y2 = top(b) + NODE.height / 2;
    const mid = (x1 + x2) / 2;
    return html`<path d="M${x1} ${y1} C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}" fill="none" stroke="#94a3b8" stroke-width="1.5" marker-end="url(#dag-arrow)"/>`;
  });

  const nodes = tasks.map((t) => {
    const p = places.get(t.id)!;
    const tone = TONES[toneOf(t.state)];
    const x = left(p);
    const y = top(p);
    const detail = `${t.state.replaceAll('_', ' ')} · ${formatDuration(t.durationMs)}${t.tryNumber > 1 ? ` · try ${t.tryNumber}/${t.maxTries}` : ''}`;
    const box = html`<g><title>${t.id}: ${detail}</title>
      <rect x="${x}" y="${y}" width="${NODE.width}" height="${NODE.height}" rx="7" fill="${tone.fill}" stroke="${tone.stroke}" stroke-width="1.5"/>
      <text class="task-name" x="${x + 10}" y="${y + 22}" fill="${tone.text}">${truncate(t.id, 22)}</text>
      <text x="${x + 10}" y="${y + 41}" fill="${tone.text}">${truncate(detail, 28)}</text></g>`;
    return hrefFor ? html`<a href="${hrefFor(t.id)}">${box}</a>` : box;
  });

  return html`<svg class="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="Task graph">
  <defs><marker id="dag-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#94a3b8"/></marker></defs>
  ${arrows}${nodes}</svg>`;
}
