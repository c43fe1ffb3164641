/**
 * Two-sample statistics for drift, each computed the way scipy computes it (checked against scipy in
 * test/monitor-stats.test.ts): Kolmogorov-Smirnov with its exact/asymptotic p-value choice, chi-squared on a
 * contingency table, Wasserstein distance, Jensen-Shannon distance; plus the proportion z-test and PSI as Evidently
 * writes them with numpy. Pure functions over numbers, no I/O.
 */
import { chi2Sf, kolmogorovSf, normalSf } from './special.js';

export interface KsResult {
  statistic: number;
  pValue: number;
  method: 'exact' | 'asymp';
}

/** scipy's 'auto' switches to the asymptotic p-value above this many observations in the larger sample. */
const KS_MAX_EXACT_N = 10_000;

/** scipy.stats.ks_2samp(a, b) (two-sided, method='auto'). Both samples must be non-empty, without NaN. */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  const x = sortedCopy(a);
  const y = sortedCopy(b);
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('ksTwoSample needs two non-empty samples');
  // The largest gap between the empirical CDFs, evaluated after each distinct value of the pooled sample.
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && x[i] <= y[j]) ? x[i] : y[j];
    while (i < n1 && x[i] === v) i++;
    while (j < n2 && y[j] === v) j++;
    const gap = Math.abs(i / n1 - j / n2);
    if (gap > d) d = gap;
  }
  if (Math.max(n1, n2) <= KS_MAX_EXACT_N) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = Math.round(d * lcm);
    const dExact = h / lcm;
    if (h === 0) return { statistic: dExact, pValue: 1, method: 'exact' };
    const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideInside(n1, n2, g, h);
    if (Number.isFinite(p) && p >= 0 && p <= 1) return { statistic: dExact, pValue: p, method: 'exact' };
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  const p = kolmogorovSf(roundHalfEven(en), d);
  return { statistic: d, pValue: Math.min(1, Math.max(0, p)), method: 'asymp' };
}

/** Pr(D_{n,n} >= h/n), by the alternating series factored into a Horner-like product. */
function probOutsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    p = p1 * (1 - p);
  }
  return 2 * p;
}

/**
 * The share of lattice paths from (0, 0) to (m, n) that leave the band |x/m - y/n| < h/lcm(m, n): one column of the
 * path-count table at a time, each entry kept as a probability (scaled by the binomial total as it goes).
 */
function probOutsideInside(m0: number, n0: number, g: number, h: number): number {
  const [m, n] = m0 >= n0 ? [m0, n0] : [n0, m0];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(Math.max(lenA, n + 2)).fill(1);
  for (let j = minj; j < maxj; j++) A[j] = 0;
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj] * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1];
}

export interface ChiSquaredResult {
  statistic: number;
  pValue: number;
  dof: number;
}

/**
 * scipy.stats.chi2_contingency(table) with its defaults (Yates' correction when there is one degree of freedom).
 * `table` is rows x columns of counts; every row and column must have a positive total.
 */
export function chi2Contingency(table: number[][]): ChiSquaredResult {
  const rows = table.length;
  const cols = table[0]?.length ?? 0;
  const rowSums = table.map((r) => r.reduce((s, v) => s + v, 0));
  const colSums = new Array<number>(cols).fill(0);
  for (const r of table) r.forEach((v, c) => (colSums[c] += v));
  const total = rowSums.reduce((s, v) => s + v, 0);
  if (rowSums.some((s) => s === 0) || colSums.some((s) => s === 0)) {
    throw new RangeError('chi2Contingency: a row or column of the table sums to zero');
  }
  const dof = (rows - 1) * (cols - 1);
  if (dof === 0) return { statistic: 0, pValue: 1, dof };
  let statistic = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const expected = (rowSums[r] * colSums[c]) / total;
      let observed = table[r][c];
      if (dof === 1) {
        const diff = expected - observed;
        observed += Math.sign(diff) * Math.min(0.5, Math.abs(diff));
      }
      statistic += (observed - expected) ** 2 / expected;
    }
  }
  return { statistic, pValue: chi2Sf(statistic, dof), dof };
}

export interface ZTestResult {
  statistic: number;
  pValue: number;
}

/**
 * Two-sided z-test for the difference of two proportions with a pooled variance, as Evidently's z_stat_test writes
 * it: successes/trials of the reference and of the current data.
 */
export function proportionZTest(refSuccesses: number, refTrials: number, curSuccesses: number, curTrials: number): ZTestResult {
  const p1 = refSuccesses / refTrials;
  const p2 = curSuccesses / curTrials;
  const pooled = (p1 * refTrials + p2 * curTrials) / (refTrials + curTrials);
  const z = (p1 - p2) / Math.sqrt(pooled * (1 - pooled) * (1 / refTrials + 1 / curTrials));
  if (Number.isNaN(z)) return { statistic: 0, pValue: 1 };
  return { statistic: z, pValue: 2 * normalSf(Math.abs(z)) };
}

/** scipy.stats.wasserstein_distance(u, v): the area between the two empirical CDFs. */
export function wassersteinDistance(u: ArrayLike<number>, v: ArrayLike<number>): number {
  const a = sortedCopy(u);
  const b = sortedCopy(v);
  const na = a.length;
  const nb = b.length;
  if (na === 0 || nb === 0) throw new RangeError('wassersteinDistance needs two non-empty samples');
  let i = 0;
  let j = 0;
  let total = 0;
  let previous = Math.min(a[0], b[0]);
  while (i < na || j < nb) {
    const value = j >= nb || (i < na && a[i] <= b[j]) ? a[i] : b[j];
    total += Math.abs(i / na - j / nb) * (value - previous);
    previous = value;
    while (i < na && a[i] === value) i++;
    while (j < nb && b[j] === value) j++;
  }
  return total;
}

/** scipy.spatial.distance.jensenshannon(p, q) (natural log): both are normalised to sum 1 first. */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new RangeError('jensenShannonDistance needs vectors of one length');
  const sp = sum(p);
  const sq = sum(q);
  let left = 0;
  let right = 0;
  for (let k = 0; k < p.length; k++) {
    const pk = p[k] / sp;
    const qk = q[k] / sq;
    const mk = (pk + qk) / 2;
    left += relativeEntropy(pk, mk);
    right += relativeEntropy(qk, mk);
  }
  return Math.sqrt(Math.max(0, (left + right) / 2));
}

function relativeEntropy(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}

/**
 * Population stability index from two vectors of shares, after Evidently's zero filling (a zero share becomes a
 * millionth of the smallest non-zero share when that is at most 1e-4, else 1e-4).
 */
export function populationStabilityIndex(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  const r = fillZeros(Array.from(reference));
  const c = fillZeros(Array.from(current));
  let psi = 0;
  for (let k = 0; k < r.length; k++) psi += (r[k] - c[k]) * Math.log(r[k] / c[k]);
  return psi;
}

function fillZeros(shares: number[]): number[] {
  const positive = shares.filter((s) => s !== 0);
  if (positive.length === shares.length || positive.length === 0) return shares;
  const smallest = Math.min(...positive);
  const fill = smallest <= 0.0001 ? smallest / 1e6 : 0.0001;
  return shares.map((s) => (s === 0 ? fill : s));
}

/** numpy.histogram_bin_edges(values, bins) for equal-width bins: numpy.linspace(min, max, bins + 1). */
export function equalWidthEdges(min: number, max: number, bins: number): Float64Array {
  let lo = min;
  let hi = max;
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const edges = new Float64Array(bins + 1);
  const step = (hi - lo) / bins;
  for (let k = 0; k <= bins; k++) edges[k] = k * step + lo;
  edges[bins] = hi;
  return edges;
}

/**
 * numpy.histogram(values, edges) for equal-width edges: bins are [e_k, e_k+1), the last one closed; values outside
 * are not counted. Follows numpy's index computation and its correction against the edges.
 */
export function equalWidthHistogram(values: ArrayLike<number>, edges: Float64Array): Float64Array {
  const bins = edges.length - 1;
  const counts = new Float64Array(bins);
  const first = edges[0];
  const last = edges[bins];
  const width = last - first;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= first && v <= last)) continue;
    let k = Math.trunc(((v - first) / width) * bins);
    if (k === bins) k--;
    if (v < edges[k]) k--;
    else if (k !== bins - 1 && v >= edges[k + 1]) k++;
    counts[k]++;
  }
  return counts;
}

function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

function sum(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** numpy.round: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
