/**
 * /metrics for the whole server in `serve --workers N`: the worker that gets the scrape asks the primary, which
 * collects a snapshot from every live worker over the cluster IPC channel and hands them back to be merged. Without
 * it each scrape would see one random worker's counters. Counts of a worker that died are lost, as with a restart.
 */
import type { Cluster } from 'node:cluster';
import type { MetricSnapshot, MetricsRegistry } from './metrics.js';

/** Gathers the metric snapshots of every process of the server. */
export interface MetricsGatherer {
  gather(): Promise<MetricSnapshot[][]>;
}

type MetricsMessage =
  | { type: 'metrics_request'; id: number }
  | { type: 'metrics_collect'; key: string }
  | { type: 'metrics_snapshot'; key: string; snapshot: MetricSnapshot[] }
  | { type: 'metrics_result'; id: number; snapshots: MetricSnapshot[][] };

/** A worker stops waiting for the others after this long and renders what it has. */
const GATHER_TIMEOUT_MS = 1000;

/** The worker side: answers the primary's collection requests and asks for everyone's snapshots. */
export class WorkerMetricsChannel implements MetricsGatherer {
  private registry: MetricsRegistry | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, (snapshots: MetricSnapshot[][]) => void>();

  constructor() {
    process.on('message', (message: MetricsMessage) => {
      if (message?.type === 'metrics_collect') {
        process.send?.({ type: 'metrics_snapshot', key: message.key, snapshot: this.registry?.snapshot() ?? [] });
      } else if (message?.type === 'metrics_result') {
        this.pending.get(message.id)?.(message.snapshots);
      }
    });
  }

  /** The registry this worker reports (known once its app is built). */
  attach(registry: MetricsRegistry): void {
    this.registry = registry;
  }

  gather(): Promise<MetricSnapshot[][]> {
    const id = this.nextId++;
    const own = () => [this.registry?.snapshot() ?? []];
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(own()), GATHER_TIMEOUT_MS * 2);
      const finish = (snapshots: MetricSnapshot[][]) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(snapshots);
      };
      this.pending.set(id, finish);
      if (!process.send?.({ type: 'metrics_request', id })) finish(own());
    });
  }
}

/** The primary side: for each worker's request, collects every live worker's snapshot and returns them. */
export function relayMetrics(cluster: Cluster): void {
  const collecting = new Map<string, { snapshots: MetricSnapshot[][]; expected: number; done: () => void }>();
  cluster.on('message', (worker, message: MetricsMessage) => {
    if (message?.type === 'metrics_request') {
      const key = `${worker.id}:${message.id}`;
      const workers = Object.values(cluster.workers ?? {}).filter((w) => w?.isConnected());
      const entry = {
        snapshots: [] as MetricSnapshot[][],
        expected: workers.length,
        done: () => {
          clearTimeout(timer);
          collecting.delete(key);
          if (worker.isConnected()) worker.send({ type: 'metrics_result', id: message.id, snapshots: entry.snapshots });
        },
      };
      const timer = setTimeout(entry.done, GATHER_TIMEOUT_MS);
      collecting.set(key, entry);
      for (const w of workers) w?.send({ type: 'metrics_collect', key });
    } else if (message?.type === 'metrics_snapshot') {
      const entry = collecting.get(message.key);
      if (!entry) return;
      entry.snapshots.push(message.snapshot);
      if (entry.snapshots.length >= entry.expected) entry.done();
    }
  });
}
