/** The dashboard's building blocks without a database: escaping, charts, the task graph layout, roc.json, paging. */
import { describe, expect, it } from 'vitest';
import { html, trusted } from '../src/ui/html.js';
import { pageRequest } from '../src/ui/queries/common.js';
import { flattenMetrics, testAucOf } from '../src/ui/queries/models.js';
import { parseRoc, trapezoidAuc } from '../src/ui/roc.js';
import { barChart, lineChart, niceTicks, thin } from '../src/ui/views/charts.js';
import { layoutDag } from '../src/ui/views/dag-graph.js';
import { formatDuration, formatTime } from '../src/ui/views/format.js';
import { metricColumns } from '../src/ui/pages/models.js';

describe('html template', () => {
  it('escapes every interpolated value, in text and in attributes', () => {
    const name = `"><script>alert('x')</script>&`;
    expect(html`<a title="${name}">${name}</a>`.value).toBe(
      '<a title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</a>',
    );
  });
  it('keeps nested fragments as markup, joins arrays, and skips null, undefined and false', () => {
    const cells = ['<b>', 'ok'].map((c) => html`<td>${c}</td>`);
    expect(html`<tr>${cells}${null}${undefined}${false}${0}</tr>`.value).toBe('<tr><td>&lt;b&gt;</td><td>ok</td>0</tr>');
    expect(html`${trusted('<br>')}`.value).toBe('<br>');
  });
});

describe('charts', () => {
  it('picks ticks at 1, 2 or 5 times a power of ten', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.96, 0.9987)).toEqual([0.96, 0.97, 0.98, 0.99]);
    expect(niceTicks(0, 37)).toEqual([0, 10, 20, 30]);
  });
  it('thins labels evenly, keeping the first and the last', () => {
    expect(thin([...Array(31).keys()], 7)).toEqual([0, 5, 10, 15, 20, 25, 30]);
    expect(thin([1, 2, 3], 7)).toEqual([1, 2, 3]);
  });
  it('draws one bar per value and escapes labels', () => {
    const svg = barChart({ title: 'Volume', xLabel: 'day', yLabel: 'n', bars: [{ label: '<a>', value: 3 }, { label: 'b', value: 0 }] }).value;
    expect(svg.match(/<rect /g)).toHaveLength(2);
    expect(svg).toContain('&lt;a&gt;: 3');
    expect(svg).not.toContain('<a>');
  });
  it('maps points onto the plot area and says so when there is nothing to plot', () => {
    const svg = lineChart({
      title: 'ROC',
      width: 300,
      height: 300,
      xLabel: 'fpr',
      yLabel: 'tpr',
      xDomain: [0, 1],
      yDomain: [0, 1],
      series: [{ name: 'roc', points: [{ x: 0, y: 0 }, { x: 1, y: 1 }] }],
    }).value;
    // Plot area: x from 58 to 284, y from 254 (bottom) to 14 (top).
    expect(svg).toContain('d="M58 254 L284 14"');
    expect(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [] }] }).value).toContain('No data to plot');
  });
});

describe('task graph layout', () => {
  it('puts each task one column after its deepest upstream task', () => {
    const shape = [
      { id: 'load' },
      { id: 'clean', upstream: ['load'] },
      { id: 'profile', upstream: ['load'] },
      { id: 'train', upstream: ['clean', 'profile'] },
    ];
    const { places, edges } = layoutDag(['load', 'clean', 'profile', 'train'], shape);
    expect(Object.fromEntries(places)).toEqual({
      load: { column: 0, row: 0 },
      clean: { column: 1, row: 0 },
      profile: { column: 1, row: 1 },
      train: { column: 2, row: 0 },
    });
    expect(edges).toHaveLength(4);
  });
  it('without a shape, lines tasks up in the given order with no edges', () => {
    const { places, edges } = layoutDag(['b', 'a']);
    expect(places.get('a')).toEqual({ column: 1, row: 0 });
    expect(edges).toEqual([]);
  });
});

describe('roc.json', () => {
  it('sorts points by false positive rate and measures the area', () => {
    const curve = parseRoc(JSON.stringify({ fpr: [1, 0, 0.5], tpr: [1, 0, 0.75] }));
    expect(curve.fpr).toEqual([0, 0.5, 1]);
    expect(curve.auc).toBeCloseTo(0.5 * 0.375 + 0.5 * 0.875, 12);
    expect(trapezoidAuc([0, 1], [1, 1])).toBe(1);
  });
  it('names what is wrong with a bad file', () => {
    expect(() => parseRoc('nope')).toThrow(/not JSON/);
    expect(() => parseRoc('{"fpr":[0,1]}')).toThrow(/"tpr" must be an array/);
    expect(() => parseRoc('{"fpr":[0,1.5],"tpr":[0,1]}')).toThrow(/fpr\[1\] = 1.5 is not a rate/);
  });
});

describe('helpers', () => {
  it('caps page sizes at 500 and floors offsets at 0', () => {
    expect(pageRequest(undefined, undefined)).toEqual({ limit: 50, offset: 0 });
    expect(pageRequest(10_000, -3)).toEqual({ limit: 500, offset: 0 });
  });
  it('reads the test ROC AUC from registration metrics and puts the ROC AUCs first in the versions table', () => {
    const metrics = { estimator: 'hgb', val: { roc_auc: 0.99, f1: 0.9 }, test: { accuracy: 0.97, roc_auc: 0.98 } };
    expect(testAucOf(metrics)).toBe(0.98);
    expect(testAucOf({ test: {} })).toBeNull();
    expect(metricColumns([flattenMetrics(metrics)])).toEqual(['test.roc_auc', 'val.roc_auc', 'test.accuracy', 'val.f1']);
  });
  it('formats durations and times for people', () => {
    expect(formatDuration(450)).toBe('450 ms');
    expect(formatDuration(8_000)).toBe('8.00 s');
    expect(formatDuration(90_000)).toBe('1 min 30 s');
    expect(formatDuration(3 * 3_600_000 + 5 * 60_000)).toBe('3 h 05 min');
    expect(formatTime('2025-01-11T08:00:01.123Z')).toBe('2025-01-11 08:00:01');
  });
});
