/**
 * The live profile: the newest N predictions of one served model version, read from the prediction log and kept in
 * memory as columns. A refresh reads only the rows logged since the previous one (a cursor on `created_at`, served by
 * the (model_name, created_at) index on every backend) and labels sent since then for rows still in the window, so
 * its cost follows the new rows, not the table. Rows are stamped when the request arrives and committed up to a few
 * seconds later, so each refresh looks back a little and skips the ids it already holds.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.js';
import type { ColumnKind } from './drift.js';

/** How far back a refresh re-reads: longer than a prediction may take from its timestamp to its commit. */
const LATE_COMMIT_MS = 10_000;
/** Distinct categorical values counted per feature; rarer unseen values beyond it are pooled. */
const MAX_LEVELS = 1000;
export const OTHER_LEVEL = '(other)';

export interface LiveFeature {
  name: string;
  kind: ColumnKind;
}

export type LiveColumn =
  | { name: string; kind: 'numeric'; values: Float64Array; missing: number }
  | { name: string; kind: 'categorical'; counts: Map<string, number>; missing: number };

/**
 * The model output a window keeps beside the features: the positive class's probability (binary), the predicted
 * value (regression, the log's `value` column) or the predicted class (multi-class: its code mapped to `classes`).
 */
export interface LiveOutput {
  name: 'probability' | 'value' | 'class';
  classes?: string[];
}

/** What the drift and quality code reads from a window. */
export interface LiveColumns {
  rows: number;
  from: string | null;
  to: string | null;
  /** Per feature: numeric values without the missing ones, or categorical counts; and the missing count. */
  features: LiveColumn[];
  /** The model's output per row as the reference profile describes it (a probability, a value or a class). */
  output: LiveColumn | null;
  probabilities: Float64Array;
  /** The labelled rows: their labels, probabilities and the logged 0/1 predictions. */
  labels: Uint8Array;
  labelledProbabilities: Float64Array;
  labelledPredictions: Uint8Array;
}

interface LogRow {
  id: string;
  created_at: string;
  inputs_json: string;
  probability: number;
  prediction: number | string | bigint;
  label: number | string | bigint | null;
  label_at: string | null;
  /** A regression model's prediction, on logs that have the column. */
  value?: number | null;
}

/** A fixed-capacity window of rows, oldest first, as columns. */
export class LiveWindow {
  private readonly ids: (string | null)[];
  private readonly times: string[];
  private readonly numeric: Float64Array[];
  private readonly categorical: (string | null)[][];
  private readonly probability: Float64Array;
  private readonly prediction: Uint8Array;
  private readonly label: Int8Array;
  private readonly slotOf = new Map<string, number>();
  private start = 0;
  private size = 0;

  /** The features, then the output as one more column when there is one. */
  private readonly columnsHeld: readonly LiveFeature[];

  constructor(
    readonly features: readonly LiveFeature[],
    readonly capacity: number,
    readonly output: LiveOutput | null = null,
  ) {
    this.columnsHeld = output ? [...features, { name: output.name, kind: output.name === 'class' ? 'categorical' : 'numeric' }] : features;
    this.ids = new Array<string | null>(capacity).fill(null);
    this.times = new Array<string>(capacity);
    this.numeric = this.columnsHeld.map((f) => (f.kind === 'numeric' ? new Float64Array(capacity) : new Float64Array(0)));
    this.categorical = this.columnsHeld.map((f) => (f.kind === 'categorical' ? new Array<string | null>(capacity).fill(null) : []));
    this.probability = new Float64Array(capacity);
    this.prediction = new Uint8Array(capacity);
    this.label = new Int8Array(capacity).fill(-1);
  }

  get rows(): number {
    return this.size;
  }

  has(id: string): boolean {
    return this.slotOf.has(id);
  }

  /** The time of the oldest row held, or null when empty. */
  get oldest(): string | null {
    return this.size === 0 ? null : this.times[this.start];
  }

  /** Appends a row, dropping the oldest when full. */
  push(row: LogRow): void {
    let inputs: Record<string, unknown>;
    try {
      inputs = JSON.parse(row.inputs_json) as Record<string, unknown>;
    } catch {
      inputs = {};
    }
    const slot = (this.start + this.size) % this.capacity;
    if (this.size === this.capacity) {
      this.slotOf.delete(this.ids[slot]!);
      this.start = (this.start + 1) % this.capacity;
    } else {
      this.size++;
    }
    this.ids[slot] = row.id;
    this.slotOf.set(row.id, slot);
    this.times[slot] = row.created_at;
    this.features.forEach((f, j) => {
      const value = inputs[f.name];
      if (f.kind === 'numeric') this.numeric[j][slot] = numericValue(value);
      else this.categorical[j][slot] = categoricalValue(value);
    });
    if (this.output) {
      const j = this.features.length;
      if (this.output.name === 'class') {
        const code = Number(row.prediction);
        this.categorical[j][slot] = this.output.classes?.[code] ?? String(row.prediction);
      } else {
        this.numeric[j][slot] = numericValue(this.output.name === 'value' ? row.value : Number(row.probability));
      }
    }
    this.probability[slot] = Number(row.probability);
    this.prediction[slot] = Number(row.prediction) === 1 ? 1 : 0;
    this.label[slot] = labelValue(row.label);
  }

  setLabel(id: string, label: LogRow['label']): void {
    const slot = this.slotOf.get(id);
    if (slot !== undefined) this.label[slot] = labelValue(label);
  }

  /** The rows from position `begin` to `end` (oldest first, default all) as columns. */
  columns(begin = 0, end = this.size): LiveColumns {
    const first = Math.max(0, begin);
    const n = Math.max(0, Math.min(end, this.size) - first);
    const slots = new Int32Array(n);
    for (let k = 0; k < n; k++) slots[k] = (this.start + first + k) % this.capacity;
    const held = this.columnsHeld.map((f, j): LiveColumn => {
      if (f.kind === 'numeric') {
        const column = this.numeric[j];
        const values: number[] = [];
        for (const s of slots) if (!Number.isNaN(column[s])) values.push(column[s]);
        return { name: f.name, kind: 'numeric', values: Float64Array.from(values), missing: n - values.length };
      }
      const column = this.categorical[j];
      const counts = new Map<string, number>();
      let missing = 0;
      for (const s of slots) {
        const v = column[s];
        if (v === null) missing++;
        else counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      return { name: f.name, kind: 'categorical', counts: capLevels(counts), missing };
    });
    const features = held.slice(0, this.features.length);
    const output = this.output ? held[this.features.length] : null;
    const probabilities = new Float64Array(n);
    const labels: number[] = [];
    const labelled: number[] = [];
    const predictions: number[] = [];
    slots.forEach((s, k) => {
      probabilities[k] = this.probability[s];
      if (this.label[s] >= 0) {
        labels.push(this.label[s]);
        labelled.push(this.probability[s]);
        predictions.push(this.prediction[s]);
      }
    });
    return {
      rows: n,
      from: n ? this.times[slots[0]] : null,
      to: n ? this.times[slots[n - 1]] : null,
      features,
      output,
      probabilities,
      labels: Uint8Array.from(labels),
      labelledProbabilities: Float64Array.from(labelled),
      labelledPredictions: Uint8Array.from(predictions),
    };
  }
}

function numericValue(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return NaN;
}

function categoricalValue(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : String(value);
}

function labelValue(label: LogRow['label']): number {
  if (label === null || label === undefined) return -1;
  const n = Number(label);
  return n === 0 || n === 1 ? n : -1;
}

/** Keeps the most frequent levels; the rest are pooled so a flood of junk values stays bounded. */
function capLevels(counts: Map<string, number>): Map<string, number> {
  if (counts.size <= MAX_LEVELS) return counts;
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  const kept = new Map(sorted.slice(0, MAX_LEVELS - 1));
  let other = 0;
  for (const [, n] of sorted.slice(MAX_LEVELS - 1)) other += n;
  kept.set(OTHER_LEVEL, (kept.get(OTHER_LEVEL) ?? 0) + other);
  return kept;
}


/**
 * Keeps a window of the newest `capacity` predictions of one model version up to date. The first refresh reads the
 * newest rows; later ones read rows since the newest one held (minus the late-commit margin) and the labels given
 * since the last refresh.
 */
export class LivePredictionWindow {
  readonly window: LiveWindow;
  private newest: string | null = null;
  private labelCursor: string | null = null;
  /** Ids read within the late-commit margin, to skip them when they are read again. */
  private recent = new Map<string, string>();

  constructor(
    private readonly db: Kysely<Database>,
    readonly modelName: string,
    readonly version: number,
    features: readonly LiveFeature[],
    capacity: number,
    output: LiveOutput | null = null,
  ) {
    this.window = new LiveWindow(features, capacity, output);
  }

  /** Reads what is new in the log; returns the number of new rows. Concurrent calls run one after the other. */
  refresh(): Promise<number> {
    const next = this.running.then(() => this.readNew());
    this.running = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  private running: Promise<void> = Promise.resolve();

  private async readNew(): Promise<number> {
    const refreshedAt = new Date().toISOString();
    let query = this.db
      .selectFrom('predictions')
      .selectAll()
      .where('model_name', '=', this.modelName)
      .where('model_version', '=', this.version);
    const since = this.newest === null ? null : new Date(Date.parse(this.newest) - LATE_COMMIT_MS).toISOString();
    if (since !== null) query = query.where('created_at', '>=', since);
    const rows = (await query.orderBy('created_at', 'desc').limit(this.window.capacity).execute()) as LogRow[];
    if (rows.length > 0 && (this.newest === null || rows[0].created_at > this.newest)) this.newest = rows[0].created_at;
    // Rows this close to the newest may be read again by the next refresh: their ids are remembered to skip them.
    const margin = this.newest === null ? null : new Date(Date.parse(this.newest) - LATE_COMMIT_MS).toISOString();
    let added = 0;
    for (let k = rows.length - 1; k >= 0; k--) {
      const row = rows[k];
      if (since !== null && this.recent.has(row.id)) continue;
      this.window.push(row);
      added++;
      if (margin !== null && row.created_at >= margin) this.recent.set(row.id, row.created_at);
    }
    if (margin !== null) for (const [id, at] of this.recent) if (at < margin) this.recent.delete(id);
    await this.refreshLabels(refreshedAt);
    return added;
  }

  /** Labels given since the last refresh to rows still in the window (new rows came with theirs). */
  private async refreshLabels(refreshedAt: string): Promise<void> {
    const oldest = this.window.oldest;
    const cursor = this.labelCursor;
    this.labelCursor = refreshedAt;
    if (cursor === null || oldest === null) return;
    // A label written while this refresh ran may carry a time before `refreshedAt`: look back by the same margin.
    const since = new Date(Date.parse(cursor) - LATE_COMMIT_MS).toISOString();
    const labelled = await this.db
      .selectFrom('predictions')
      .select(['id', 'label'])
      .where('model_name', '=', this.modelName)
      .where('created_at', '>=', oldest)
      .where('model_version', '=', this.version)
      .where('label_at', '>=', since)
      .execute();
    for (const row of labelled) this.window.setLabel(row.id, row.label);
  }
}

/** A window over a time range instead of the newest rows: read once. */
export async function readTimeRange(
  db: Kysely<Database>,
  modelName: string,
  version: number,
  features: readonly LiveFeature[],
  range: { from?: string; to?: string },
  maxRows: number,
  output: LiveOutput | null = null,
): Promise<LiveWindow> {
  let query = db
    .selectFrom('predictions')
    .selectAll()
    .where('model_name', '=', modelName)
    .where('model_version', '=', version);
  if (range.from) query = query.where('created_at', '>=', range.from);
  if (range.to) query = query.where('created_at', '<=', range.to);
  const rows = (await query.orderBy('created_at', 'desc').limit(maxRows).execute()) as LogRow[];
  const window = new LiveWindow(features, Math.max(1, rows.length), output);
  for (let k = rows.length - 1; k >= 0; k--) window.push(rows[k]);
  return window;
}
