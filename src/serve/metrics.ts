/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text exposition format
 * (version 0.0.4). Label sets are kept in a map keyed by their values, so a series costs one lookup to update.
 */

export type Labels = Record<string, string | number>;

interface MetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
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

abstract class Metric<L extends string, S> {
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

  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  protected abstract initial(): S;
  protected abstract sampleLines(labels: string, state: S): string[];

  /** Forgets one label set (e.g. the info series of a model version no longer served). */
  remove(labels: Partial<Record<L, string | number>>): void {
    this.series.delete(this.key(labels));
  }

  reset(): void {
    this.series.clear();
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const { labels, state } of this.series.values()) lines.push(...this.sampleLines(labels, state));
    return lines.join('\n');
  }

  protected state(labels: Partial<Record<L, string | number>> | undefined): S {
    const key = this.key(labels ?? {});
    let entry = this.series.get(key);
    if (!entry) {
      entry = { labels: this.formatLabels(labels ?? {}), state: this.initial() };
      this.series.set(key, entry);
    }
    return entry.state;
  }

  private key(labels: Partial<Record<L, string | number>>): string {
    return this.labelNames.map((name) => String(labels[name] ?? '')).join('\u0000');
  }

  private formatLabels(labels: Partial<Record<L, string | number>>): string {
    return this.labelNames.map((name) => `${name}="${escapeLabelValue(String(labels[name] ?? ''))}"`).join(',');
  }
}

function sample(name: string, labels: string, value: number): string {
  return labels ? `${name}{${labels}} ${formatNumber(value)}` : `${name} ${formatNumber(value)}`;
}

export class Counter<L extends string = string> extends Metric<L, { value: number }> {
  readonly type = 'counter';

  inc(labels?: Partial<Record<L, string | number>>, by = 1): void {
    if (by < 0) throw new Error(`Counter ${this.name} cannot decrease`);
    this.state(labels).value += by;
  }

  protected initial(): { value: number } {
    return { value: 0 };
  }

  protected sampleLines(labels: string, state: { value: number }): string[] {
    return [sample(this.name, labels, state.value)];
  }
}

export class Gauge<L extends string = string> extends Metric<L, { value: number }> {
  readonly type = 'gauge';

  set(labels: Partial<Record<L, string | number>> | undefined, value: number): void {
    this.state(labels).value = value;
  }

  protected initial(): { value: number } {
    return { value: 0 };
  }

  protected sampleLines(labels: string, state: { value: number }): string[] {
    return [sample(this.name, labels, state.value)];
  }
}

interface HistogramState {
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

  observe(labels: Partial<Record<L, string | number>> | undefined, value: number): void {
    const state = this.state(labels);
    // Per-bucket counts (not cumulative) here; render() accumulates.
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]) i++;
    state.counts[i]++;
    state.sum += value;
    state.count++;
  }

  protected initial(): HistogramState {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }

  protected sampleLines(labels: string, state: HistogramState): string[] {
    const prefix = labels ? `${labels},` : '';
    const lines: string[] = [];
    let cumulative = 0;
    this.buckets.forEach((bound, i) => {
      cumulative += state.counts[i];
      lines.push(`${this.name}_bucket{${prefix}le="${formatNumber(bound)}"} ${cumulative}`);
    });
    lines.push(`${this.name}_bucket{${prefix}le="+Inf"} ${state.count}`);
    lines.push(sample(`${this.name}_sum`, labels, state.sum));
    lines.push(sample(`${this.name}_count`, labels, state.count));
    return lines;
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

  gauge<L extends string>(options: MetricOptions<L>): Gauge<L> {
    return this.add(new Gauge<L>(options));
  }

  histogram<L extends string>(options: MetricOptions<L> & { buckets: readonly number[] }): Histogram<L> {
    return this.add(new Histogram<L>(options));
  }

  /** Runs before each render, to sample values that are read rather than counted (queue depth, memory). */
  onCollect(collect: () => void): void {
    this.collectors.push(collect);
  }

  render(): string {
    for (const collect of this.collectors) collect();
    return [...this.metrics.values()].map((m) => m.render()).join('\n') + '\n';
  }

  private add<M extends AnyMetric>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`Metric ${metric.name} is already registered`);
    this.metrics.set(metric.name, metric);
    return metric;
  }
}
