/** The Prometheus exposition: counters, gauges and cumulative histograms, with escaped labels and help. */
import { describe, expect, it } from 'vitest';
import { MetricsRegistry, renderSnapshots } from '../src/serve/metrics.js';

describe('Prometheus metrics', () => {
  it('renders counters, gauges and histograms in the text format', () => {
    const registry = new MetricsRegistry();
    const requests = registry.counter({ name: 'http_requests_total', help: 'Requests.\nBy "route".', labelNames: ['route', 'status'] });
    const queue = registry.gauge({ name: 'queue_rows', help: 'Rows waiting.' });
    const latency = registry.histogram({ name: 'latency_seconds', help: 'Latency.', labelNames: ['route'], buckets: [0.1, 0.01, 1] });
    requests.inc({ route: '/predict', status: 200 });
    requests.inc({ route: '/predict', status: 200 }, 2);
    requests.inc({ route: 'a "quoted" \\ path\n', status: 404 });
    let depth = 0;
    registry.onCollect(() => queue.set(undefined, depth));
    depth = 7;
    for (const seconds of [0.005, 0.01, 0.05, 0.5, 3]) latency.observe({ route: '/predict' }, seconds);

    expect(registry.render()).toBe(
      [
        '# HELP http_requests_total Requests.\\nBy "route".',
        '# TYPE http_requests_total counter',
        'http_requests_total{route="/predict",status="200"} 3',
        'http_requests_total{route="a \\"quoted\\" \\\\ path\\n",status="404"} 1',
        '# HELP queue_rows Rows waiting.',
        '# TYPE queue_rows gauge',
        'queue_rows 7',
        '# HELP latency_seconds Latency.',
        '# TYPE latency_seconds histogram',
        'latency_seconds_bucket{route="/predict",le="0.01"} 2',
        'latency_seconds_bucket{route="/predict",le="0.1"} 3',
        'latency_seconds_bucket{route="/predict",le="1"} 4',
        'latency_seconds_bucket{route="/predict",le="+Inf"} 5',
        'latency_seconds_sum{route="/predict"} 3.565',
        'latency_seconds_count{route="/predict"} 5',
        '',
      ].join('\n'),
    );
  });

  it('forgets removed series and refuses invalid use', () => {
    const registry = new MetricsRegistry();
    const info = registry.gauge({ name: 'model_info', help: 'Served version.', labelNames: ['model', 'version'] });
    info.set({ model: 'm', version: 1 }, 1);
    info.remove({ model: 'm', version: 1 });
    info.set({ model: 'm', version: 2 }, 1);
    expect(registry.render()).toContain('model_info{model="m",version="2"} 1');
    expect(registry.render()).not.toContain('version="1"');
    const counter = registry.counter({ name: 'c_total', help: 'c' });
    expect(() => counter.inc(undefined, -1)).toThrow(/cannot decrease/);
    expect(() => registry.counter({ name: 'c_total', help: 'again' })).toThrow(/already registered/);
    expect(() => registry.gauge({ name: 'bad-name', help: 'x' })).toThrow(/Invalid metric name/);
    expect(() => registry.histogram({ name: 'h', help: 'x', labelNames: ['le'], buckets: [1] })).toThrow(/le/);
  });

  it('merges the registries of several processes: counters and histograms add up, gauges add up or take the max', () => {
    const worker = (requests: number, queued: number, seconds: number[]) => {
      const registry = new MetricsRegistry();
      registry.counter({ name: 'requests_total', help: 'r', labelNames: ['route'] }).inc({ route: '/p' }, requests);
      registry.gauge({ name: 'queued', help: 'q' }).set(undefined, queued);
      registry.gauge({ name: 'info', help: 'i', labelNames: ['version'], aggregate: 'max' }).set({ version: 2 }, 1);
      const latency = registry.histogram({ name: 'latency_seconds', help: 'l', buckets: [0.01, 0.1] });
      for (const s of seconds) latency.observe(undefined, s);
      return registry.snapshot();
    };
    const text = renderSnapshots([worker(3, 1, [0.005, 0.5]), worker(4, 2, [0.05])]);
    expect(text).toContain('requests_total{route="/p"} 7\n');
    expect(text).toContain('queued 3\n');
    expect(text).toContain('info{version="2"} 1\n');
    expect(text).toContain('latency_seconds_bucket{le="0.01"} 1\nlatency_seconds_bucket{le="0.1"} 2\nlatency_seconds_bucket{le="+Inf"} 3\n');
    expect(text).toContain('latency_seconds_count 3\n');
  });
});
