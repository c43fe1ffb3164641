/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text exposition format
 * (version 0.0.4). Label sets are kept in a map keyed by their values, so a series costs one lookup to update.
 * A registry's state can be taken as plain data (snapshot) and several snapshots rendered as one, which is how the
 * worker processes of `serve --workers N` answer /metrics for the whole server.
 */

export type Labels = Record<string, string | number>;
type LabelValues<L extends string> = Partial<Record<L, string | number>>;

interface MetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

/** How a gauge combines across processes: 'sum' (queue depth, memory) or 'max' (an info gauge that is 1). */
export type GaugeAggregation = 'sum' | 'max';

/** One metric as plain, mergeable data; `labels` is the rendered label set, e.g. `model="m",version="2"`. */
export interface MetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregate: GaugeAggregation;
  buckets?: number[];
  series: Array<{ labels: string; value: number } | { labels: string; counts: number[]; sum: number; count: number }>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatNumber(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

abstract class Metric<L extends string, S extends object> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  protected readonly series = new Map<string, { labels: string; state: S }>();

  constructor(options: MetricOptions<L>) {
    if (!METRIC_NAME.test(options.name)) throw new Error(`Invalid metric name "${options.name}"`);
    for (const label of options.labelNames ?? []) {
      if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new Error(`Invalid label name "${label}"`);
    }
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames ?? [];
  }

  abstract readonly type: MetricSnapshot['type'];
  protected abstract initial(): S;

  /** Forgets one label set (e.g. the info series of a model version no longer served). */
  remove(labels: LabelValues<L>): void {
    this.series.delete(this.key(labels));
  }

  reset(): void {
    this.series.clear();
  }

  snapshot(): MetricSnapshot {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregate: 'sum',
      series: [...this.series.values()].map(
        ({ labels, state }) => ({ labels, ...structuredClone(state) }) as unknown as MetricSnapshot['series'][number],
      ),
    };
  }

  protected state(labels: LabelValues<L> | undefined): S {
    const key = this.key(labels ?? {});
    let entry = this.series.get(key);
    if (!entry) {
      entry = { labels: this.formatLabels(labels ?? {}), state: this.initial() };
      this.series.set(key, entry);
    }
    return entry.state;
  }

  private key(labels: LabelValues<L>): string {
    return this.labelNames.map((name) => String(labels[name] ?? '')).join('\u0000');
  }

  private formatLabels(labels: LabelValues<L>): string {
    return this.labelNames.map((name) => `${name}="${escapeLabelValue(String(labels[name] ?? ''))}"`).join(',');
  }
}

export class Counter<L extends string = string> extends Metric<L, { value: number }> {
  readonly type = 'counter';

  inc(labels?: LabelValues<L>, by = 1): void {
    if (by < 0) throw new Error(`Counter ${this.name} cannot decrease`);
    this.state(labels).value += by;
  }

  protected initial(): { value: number } {
    return { value: 0 };
  }
}

export class Gauge<L extends string = string> extends Metric<L, { value: number }> {
  readonly type = 'gauge';
  readonly aggregate: GaugeAggregation;

  constructor(options: MetricOptions<L> & { aggregate?: GaugeAggregation }) {
    super(options);
    this.aggregate = options.aggregate ?? 'sum';
  }

  set(labels: LabelValues<L> | undefined, value: number): void {
    this.state(labels).value = value;
  }

  override snapshot(): MetricSnapshot {
    return { ...super.snapshot(), aggregate: this.aggregate };
  }

  protected initial(): { value: number } {
    return { value: 0 };
  }
}

interface HistogramState {
  /** Per bucket (not cumulative), plus one for values above the last bound. */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram<L extends string = string> extends Metric<L, HistogramState> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];

  constructor(options: MetricOptions<L> & { buckets: readonly number[] }) {
    super(options);
    if (this.labelNames.includes('le' as L)) throw new Error('A histogram cannot use the label "le"');
    this.buckets = [...options.buckets].sort((a, b) => a - b);
  }

  observe(labels: LabelValues<L> | undefined, value: number): void {
    const state = this.state(labels);
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]) i++;
    state.counts[i]++;
    state.sum += value;
    state.count++;
  }

  override snapshot(): MetricSnapshot {
    return { ...super.snapshot(), buckets: [...this.buckets] };
  }

  protected initial(): HistogramState {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }
}

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

export class MetricsRegistry {
  static readonly contentType = 'text/plain; version=0.0.4; charset=utf-8';
  private readonly metrics = new Map<string, AnyMetric>();
  private readonly collectors: Array<() => void> = [];

  counter<L extends string>(options: MetricOptions<L>): Counter<L> {
    return this.add(new Counter<L>(options));
  }

  gauge<L extends string>(options: MetricOptions<L> & { aggregate?: GaugeAggregation }): Gauge<L> {
    return this.add(new Gauge<L>(options));
  }

  histogram<L extends string>(options: MetricOptions<L> & { buckets: readonly number[] }): Histogram<L> {
    return this.add(new Histogram<L>(options));
  }

  /** Runs before each snapshot, to sample values that are read rather than counted (queue depth, memory). */
  onCollect(collect: () => void): void {
    this.collectors.push(collect);
  }

  snapshot(): MetricSnapshot[] {
    for (const collect of this.collectors) collect();
    return [...this.metrics.values()].map((m) => m.snapshot());
  }

  render(): string {
    return renderSnapshots([this.snapshot()]);
  }

  private add<M extends AnyMetric>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`Metric ${metric.name} is already registered`);
    this.metrics.set(metric.name, metric);
    return metric;
  }
}

/**
 * Renders the snapshots of one or more registries as one exposition: counters and histograms are added up series by
 * series, gauges added up or maxed as each declares.
 */
export function renderSnapshots(registries: MetricSnapshot[][]): string {
  const merged = new Map<string, MetricSnapshot>();
  for (const registry of registries) {
    for (const metric of registry) {
      const into = merged.get(metric.name);
      if (!into) merged.set(metric.name, structuredClone(metric));
      else mergeSeries(into, metric);
    }
  }
  const lines: string[] = [];
  for (const metric of merged.values()) {
    lines.push(`# HELP ${metric.name} ${escapeHelp(metric.help)}`, `# TYPE ${metric.name} ${metric.type}`);
    for (const series of metric.series) lines.push(...sampleLines(metric, series));
  }
  return lines.join('\n') + '\n';
}

function mergeSeries(into: MetricSnapshot, from: MetricSnapshot): void {
  for (const series of from.series) {
    const target = into.series.find((s) => s.labels === series.labels);
    if (!target) {
      into.series.push(structuredClone(series));
    } else if ('counts' in target && 'counts' in series) {
      series.counts.forEach((c, i) => (target.counts[i] += c));
      target.sum += series.sum;
      target.count += series.count;
    } else if ('value' in target && 'value' in series) {
      target.value = into.aggregate === 'max' ? Math.max(target.value, series.value) : target.value + series.value;
    }
  }
}

function sample(name: string, labels: string, value: number): string {
  return labels ? `${name}{${labels}} ${formatNumber(value)}` : `${name} ${formatNumber(value)}`;
}

function sampleLines(metric: MetricSnapshot, series: MetricSnapshot['series'][number]): string[] {
  if ('value' in series) return [sample(metric.name, series.labels, series.value)];
  const prefix = series.labels ? `${series.labels},` : '';
  const lines: string[] = [];
  let cumulative = 0;
  (metric.buckets ?? []).forEach((bound, i) => {
    cumulative += series.counts[i];
    lines.push(`${metric.name}_bucket{${prefix}le="${formatNumber(bound)}"} ${cumulative}`);
  });
  lines.push(`${metric.name}_bucket{${prefix}le="+Inf"} ${series.count}`);
  lines.push(sample(`${metric.name}_sum`, series.labels, series.sum));
  lines.push(sample(`${metric.name}_count`, series.labels, series.count));
  return lines;
}
