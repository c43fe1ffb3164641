/**
 * Grows one tree, best-first like scikit-learn's TreeGrower: the splittable leaf with the largest gain is split next,
 * until no leaf can be split or maxLeafNodes is reached. The smaller child's histograms are built from its rows and the
 * larger child's are the parent's minus the smaller's (written over the parent's). Leaves below 2 x minSamplesLeaf rows
 * or at maxDepth are not split. Leaf values are shrunk by the learning rate; the caller adds them to the raw scores.
 */
import type { BinMapper } from './binning.js';
import type { Executor, LeafRange } from './parallel.js';
import type { HgbTreeJSON } from './predictor.js';
import { CANDIDATE_SIZE, MIN_HESSIAN_TO_SPLIT, nodeValue, pickBestSplit, type SplitInfo } from './splitter.js';

export interface GrowerConfig {
  maxLeafNodes: number | null;
  maxDepth: number | null;
  minSamplesLeaf: number;
  l2Regularization: number;
  learningRate: number;
}

/** A grown tree in two forms: raw thresholds for prediction and the model file, bins for the validation rows. */
export interface GrownTree {
  json: HgbTreeJSON;
  binned: BinnedTree;
  /** The leaves' rows in the executor's partition, with their values. */
  leaves: LeafRange[];
  /** The node index (in json and binned) of each of `leaves`. */
  leafNodes: number[];
}

/** Tree over binned data (preorder; leaves have feature -1). */
export interface BinnedTree {
  feature: Int32Array;
  binThreshold: Uint8Array;
  missingLeft: Uint8Array;
  leftBins: (Uint32Array | null)[];
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
}

interface GrowNode {
  start: number;
  count: number;
  sumGrad: number;
  sumHess: number;
  value: number;
  depth: number;
  slot: number;
  split: SplitInfo | null;
  isLeaf: boolean;
  left: GrowNode | null;
  right: GrowNode | null;
}

export class TreeGrower {
  private readonly scratch: Uint32Array;

  constructor(
    private readonly exec: Executor,
    private readonly config: GrowerConfig,
    private readonly mapper: BinMapper,
    /** Total split gain per feature, accumulated over trees. */
    private readonly importances: Float64Array,
  ) {
    this.scratch = new Uint32Array(exec.buffers.nRows);
  }

  /** Grows a tree on the current gradients (the partition starts as the identity, reset with them). */
  grow(): GrownTree {
    const { exec, config } = this;
    const { nRows } = exec.buffers;
    const { sumGrad, sumHess } = exec.gradientTotals();
    const root = newNode(0, nRows, sumGrad, sumHess, 0, 0);
    const leaves: GrowNode[] = [];
    const splittable: GrowNode[] = [];
    const finalize = (node: GrowNode): void => {
      node.isLeaf = true;
      if (node.slot >= 0) exec.releaseSlot(node.slot);
      node.slot = -1;
      leaves.push(node);
    };
    const ctx = exec.work.ctx;
    const rowSize = exec.buffers.nFeatures * CANDIDATE_SIZE;
    /** Takes the best split of a scanned node from candidate row `row`. */
    const decide = (node: GrowNode, row: number): void => {
      node.split = pickBestSplit(ctx, exec.work.candidates, row * rowSize, node);
      if (node.split === null) finalize(node);
      else heapPush(splittable, node);
    };

    if (nRows < 2 * config.minSamplesLeaf || sumHess < MIN_HESSIAN_TO_SPLIT) {
      finalize(root);
    } else {
      root.slot = exec.acquireSlot();
      exec.root(root.slot, [root]);
      decide(root, 0);
    }

    while (splittable.length > 0) {
      const node = heapPop(splittable);
      const split = node.split as SplitInfo;
      const nLeft = this.partition(node, split);
      const left = newNode(node.start, nLeft, split.sumGradLeft, split.sumHessLeft, split.valueLeft, node.depth + 1);
      const right = newNode(node.start + nLeft, node.count - nLeft, split.sumGradRight, split.sumHessRight, split.valueRight, node.depth + 1);
      node.left = left;
      node.right = right;
      this.importances[split.feature] += split.gain + node.sumGrad * (nodeValue(node.sumGrad, node.sumHess, config.l2Regularization) - node.value);
      // A feature without missing values in training sends them to the larger child when predicting.
      if (!ctx.hasMissing[split.feature]) split.missingLeft = left.count > right.count;

      const nLeaves = leaves.length + splittable.length + 2;
      if (config.maxLeafNodes !== null && nLeaves === config.maxLeafNodes) {
        exec.releaseSlot(node.slot);
        finalize(left);
        finalize(right);
        while (splittable.length > 0) finalize(splittable.pop() as GrowNode);
        break;
      }
      if (config.maxDepth !== null && left.depth === config.maxDepth) {
        exec.releaseSlot(node.slot);
        finalize(left);
        finalize(right);
        continue;
      }
      if (left.count < 2 * config.minSamplesLeaf) finalize(left);
      if (right.count < 2 * config.minSamplesLeaf) finalize(right);
      if (left.isLeaf && right.isLeaf) {
        exec.releaseSlot(node.slot);
        continue;
      }
      const [small, large] = left.count < right.count ? [left, right] : [right, left];
      small.slot = exec.acquireSlot();
      large.slot = swapOutSlot(node);
      const toScan = [left, right].filter((child) => !child.isLeaf);
      exec.children(small.slot, small.start, small.count, large.slot, toScan);
      toScan.forEach(decide);
      // Leaves from the start needed no scan, only their histogram for the sibling's subtraction.
      for (const child of [left, right]) if (!toScan.includes(child)) exec.releaseSlot(swapOutSlot(child));
    }

    for (const leaf of leaves) leaf.value *= config.learningRate;
    const { json, binned, index } = this.export(root);
    return {
      json,
      binned,
      leaves: leaves.map(({ start, count, value }) => ({ start, count, value })),
      leafNodes: leaves.map((leaf) => index.get(leaf) as number),
    };
  }

  /** Stable in-place partition of the node's rows: left rows first. Returns the number of left rows. */
  private partition(node: GrowNode, split: SplitInfo): number {
    const ctx = this.exec.work.ctx;
    if (split.leftBins === null) {
      // Only a feature with missing values in training has rows in the missing bin.
      const missingBin = split.missingLeft && ctx.hasMissing[split.feature] === 1 ? ctx.missingBin : -1;
      return this.exec.partition(split.feature, node.start, node.count, split.binIdx, missingBin);
    }
    const { X, nRows, partition } = this.exec.buffers;
    const scratch = this.scratch;
    const column = split.feature * nRows;
    const bits = split.leftBins;
    const start = node.start;
    let nl = 0;
    let nr = 0;
    for (let i = start, end = start + node.count; i < end; i++) {
      const r = partition[i];
      const b = X[column + r];
      if (((bits[b >>> 5] >>> (b & 31)) & 1) === 1) partition[start + nl++] = r;
      else scratch[nr++] = r;
    }
    partition.set(scratch.subarray(0, nr), start + nl);
    // As the executor's partition does for numeric splits: the smaller child's gradient pairs, for its histograms.
    if (nl < nr) this.exec.work.gatherPairs(start, nl);
    else this.exec.work.gatherPairs(start + nl, nr);
    return nl;
  }

  /** The tree in preorder (node, left subtree, right subtree), like scikit-learn's predictor arrays. */
  private export(root: GrowNode): { json: HgbTreeJSON; binned: BinnedTree; index: Map<GrowNode, number> } {
    const order: GrowNode[] = [];
    const stack: GrowNode[] = [root];
    while (stack.length > 0) {
      const node = stack.pop() as GrowNode;
      order.push(node);
      if (!node.isLeaf) stack.push(node.right as GrowNode, node.left as GrowNode);
    }
    const index = new Map(order.map((node, i) => [node, i]));
    const n = order.length;
    const json: HgbTreeJSON = {
      feature: [],
      threshold: [],
      missingLeft: [],
      leftCategories: [],
      left: [],
      right: [],
      value: [],
      count: [],
    };
    const binned: BinnedTree = {
      feature: new Int32Array(n),
      binThreshold: new Uint8Array(n),
      missingLeft: new Uint8Array(n),
      leftBins: [],
      left: new Int32Array(n),
      right: new Int32Array(n),
      value: new Float64Array(n),
    };
    const { thresholds, nBinsNonMissing, maxBins } = this.mapper;
    order.forEach((node, i) => {
      json.count.push(node.count);
      if (node.isLeaf) {
        json.feature.push(-1);
        json.threshold.push(0);
        json.missingLeft.push(false);
        json.leftCategories.push(null);
        json.left.push(-1);
        json.right.push(-1);
        json.value.push(node.value);
        binned.feature[i] = -1;
        binned.left[i] = binned.right[i] = -1;
        binned.value[i] = node.value;
        binned.leftBins.push(null);
        return;
      }
      const split = node.split as SplitInfo;
      const f = split.feature;
      json.feature.push(f);
      json.missingLeft.push(split.missingLeft);
      json.left.push(index.get(node.left as GrowNode) as number);
      json.right.push(index.get(node.right as GrowNode) as number);
      json.value.push(0);
      if (split.leftBins !== null) {
        const categories: number[] = [];
        for (let b = 0; b < maxBins; b++) {
          if ((split.leftBins[b >>> 5] & (1 << (b & 31))) !== 0) categories.push(thresholds[f][b]);
        }
        json.threshold.push(0);
        json.leftCategories.push(categories);
      } else {
        // Splitting after the last non-missing bin separates missing values: +inf (null in the file) as threshold.
        json.threshold.push(split.binIdx === nBinsNonMissing[f] - 1 ? null : thresholds[f][split.binIdx]);
        json.leftCategories.push(null);
      }
      binned.feature[i] = f;
      binned.binThreshold[i] = split.binIdx;
      binned.missingLeft[i] = split.missingLeft ? 1 : 0;
      binned.leftBins.push(split.leftBins);
      binned.left[i] = json.left[i];
      binned.right[i] = json.right[i];
    });
    return { json, binned, index };
  }
}

function newNode(start: number, count: number, sumGrad: number, sumHess: number, value: number, depth: number): GrowNode {
  return { start, count, sumGrad, sumHess, value, depth, slot: -1, split: null, isLeaf: false, left: null, right: null };
}

/*
 * The splittable nodes form a binary heap ordered by gain, operated exactly as Python's heapq (heappush, heappop)
 * operates scikit-learn's: among nodes of equal gain (common when gradients are whole numbers, as with absolute error)
 * the node split next is then the one scikit-learn splits.
 */
const before = (a: GrowNode, b: GrowNode): boolean => (a.split as SplitInfo).gain > (b.split as SplitInfo).gain;

function heapPush(heap: GrowNode[], node: GrowNode): void {
  heap.push(node);
  siftDown(heap, 0, heap.length - 1);
}

function heapPop(heap: GrowNode[]): GrowNode {
  const last = heap.pop() as GrowNode;
  if (heap.length === 0) return last;
  const top = heap[0];
  heap[0] = last;
  siftUp(heap, 0);
  return top;
}

function siftDown(heap: GrowNode[], start: number, at: number): void {
  const node = heap[at];
  while (at > start) {
    const parent = (at - 1) >> 1;
    if (!before(node, heap[parent])) break;
    heap[at] = heap[parent];
    at = parent;
  }
  heap[at] = node;
}

function siftUp(heap: GrowNode[], at: number): void {
  const end = heap.length;
  const start = at;
  const node = heap[at];
  let child = 2 * at + 1;
  while (child < end) {
    const right = child + 1;
    if (right < end && !before(heap[child], heap[right])) child = right;
    heap[at] = heap[child];
    at = child;
    child = 2 * at + 1;
  }
  heap[at] = node;
  siftDown(heap, start, at);
}

function swapOutSlot(node: GrowNode): number {
  const slot = node.slot;
  node.slot = -1;
  return slot;
}

/** Adds the binned tree's prediction for each row of column-major binned data to `out`. */
export function addBinnedPredictions(tree: BinnedTree, X: Uint8Array, nRows: number, missingBin: number, out: Float64Array): void {
  const { feature, binThreshold, missingLeft, leftBins, left, right, value } = tree;
  for (let i = 0; i < nRows; i++) {
    let node = 0;
    while (feature[node] >= 0) {
      const b = X[feature[node] * nRows + i];
      const bits = leftBins[node];
      let goLeft: boolean;
      if (b === missingBin) goLeft = missingLeft[node] === 1;
      else if (bits !== null) goLeft = (bits[b >>> 5] & (1 << (b & 31))) !== 0;
      else goLeft = b <= binThreshold[node];
      node = goLeft ? left[node] : right[node];
    }
    out[i] += value[node];
  }
}
