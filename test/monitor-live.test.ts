/** The in-memory live window: newest rows kept, inputs read as the server stores them, the model output per task. */
import { describe, expect, it } from 'vitest';
import { LiveWindow } from '../src/monitor/live.js';

const row = (i: number, inputs: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: `id-${i}`,
  created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  inputs_json: JSON.stringify(inputs),
  probability: 0.1 * (i % 10),
  prediction: i % 3,
  label: null,
  label_at: null,
  ...extra,
});

describe('live window', () => {
  it('keeps the newest rows, reads booleans as 0/1, coded categories as text, and missing values as missing', () => {
    const window = new LiveWindow(
      [
        { name: 'x', kind: 'numeric' },
        { name: 'flag', kind: 'numeric' },
        { name: 'colour', kind: 'categorical' },
      ],
      3,
      { name: 'probability' },
    );
    window.push(row(0, { x: 100, flag: true, colour: 'red' }));
    window.push(row(1, { x: 1, flag: true, colour: 'red' }));
    window.push(row(2, { x: null, flag: false, colour: 7 }));
    window.push(row(3, { x: 3, flag: 1, colour: null }));
    const live = window.columns();
    expect(live.rows).toBe(3);
    expect(live.from).toBe(row(1, {}).created_at);
    expect(live.features[0]).toEqual({ name: 'x', kind: 'numeric', values: Float64Array.from([1, 3]), missing: 1 });
    expect(live.features[1]).toMatchObject({ values: Float64Array.from([1, 0, 1]), missing: 0 });
    expect(live.features[2]).toEqual({ name: 'colour', kind: 'categorical', counts: new Map([['red', 1], ['7', 1]]), missing: 1 });
    expect(live.output).toMatchObject({ name: 'probability', values: Float64Array.from([0.1, 0.2, 0.30000000000000004]) });
    expect(window.has('id-0')).toBe(false);
  });

  it("holds a regression's value and a multi-class model's class as the output", () => {
    const regression = new LiveWindow([{ name: 'x', kind: 'numeric' }], 10, { name: 'value' });
    regression.push(row(0, { x: 1 }, { value: 12.5 }));
    regression.push(row(1, { x: 2 }, { value: null }));
    expect(regression.columns().output).toEqual({ name: 'value', kind: 'numeric', values: Float64Array.from([12.5]), missing: 1 });
    const multiclass = new LiveWindow([{ name: 'x', kind: 'numeric' }], 10, { name: 'class', classes: ['setosa', 'versicolor', 'virginica'] });
    for (let i = 0; i < 5; i++) multiclass.push(row(i, { x: i }));
    expect(multiclass.columns().output).toEqual({
      name: 'class',
      kind: 'categorical',
      counts: new Map([['setosa', 2], ['versicolor', 2], ['virginica', 1]]),
      missing: 0,
    });
  });
});
