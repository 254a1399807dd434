/**
 * A segment tree over positions 0..size-1 holding numbers, answering "smallest value in [lo, hi]"
 * in O(log n). The planner's DP asks, for every release, for the best predecessor among the
 * releases its upgradeFrom range admits; ranges are intervals, so this keeps a 10,000-release
 * plan at O(n log n) instead of testing every pair.
 */
export class MinTree {
  readonly #size: number;
  readonly #tree: Float64Array;

  constructor(length: number) {
    let size = 1;
    while (size < length) size *= 2;
    this.#size = size;
    this.#tree = new Float64Array(2 * size).fill(Number.POSITIVE_INFINITY);
  }

  set(position: number, value: number): void {
    let i = position + this.#size;
    this.#tree[i] = value;
    for (i >>= 1; i >= 1; i >>= 1)
      this.#tree[i] = Math.min(this.#tree[2 * i] as number, this.#tree[2 * i + 1] as number);
  }

  /** Smallest value in [lo, hi] (inclusive); +Infinity when empty. */
  min(lo: number, hi: number): number {
    let best = Number.POSITIVE_INFINITY;
    let l = Math.max(lo, 0) + this.#size;
    let r = Math.min(hi, this.#size - 1) + this.#size + 1;
    while (l < r) {
      if (l & 1) best = Math.min(best, this.#tree[l++] as number);
      if (r & 1) best = Math.min(best, this.#tree[--r] as number);
      l >>= 1;
      r >>= 1;
    }
    return best;
  }
}
