/**
 * RLB (Cai et al., WSDM 2017; REFERENCES.md §3): bidding as an MDP over (t auctions left, b budget left)
 * solved by dynamic programming against the market-price distribution.
 *
 *   m(δ) = (n_δ + 1) / (Σn + 301), δ = 0…300                        (Laplace-smoothed histogram)
 *   V(0, b) = 0
 *   V(t, b) = V(t−1, b) + Σ_{δ=0}^{a*} m(δ)·[v1·θ_avg + V(t−1, b−δ) − V(t−1, b) − v0·δ]
 *   bid(t, b, θ) = the largest a ≤ min(b, 300) with v1·θ + V(t−1, b−a) − V(t−1, b) − v0·a ≥ 0
 *
 * a* is the largest δ ≤ min(b, 300) whose bracket is ≥ 0. Because V(t−1, ·) is non-decreasing in b
 * (more budget never hurts) and v0 ≥ 0, the bracket is non-increasing in δ, so a* is where a scan from
 * δ = 0 first turns negative, and the sum runs over exactly those δ: one fused loop per cell, no
 * allocation, two Float64Array rows of V ping-ponging. What is kept is D(t, b) = V(t, b+1) − V(t, b)
 * for t = 0…N−1 as float32 (the bid rule only needs differences of V(t−1, ·); the increments keep
 * float32's relative precision, where V itself would lose it) and V(t, 0) per row.
 *
 * Long episodes (t beyond the table) use the paper's mapping D(t, b) ≈ D(T0, b·T0/t).
 */
import { MAX_BID } from './auctions';

/** The Laplace-smoothed market-price distribution m(δ), δ = 0…maxPrice (REFERENCES.md §3). */
export function marketPriceDistribution(prices: ArrayLike<number>, maxPrice = MAX_BID): Float64Array {
  const counts = new Float64Array(maxPrice + 1);
  let total = 0;
  for (let i = 0; i < prices.length; i++) {
    const p = prices[i]!;
    // A price above the bid cap can never be won; it still counts in Σn, so Σm < 1 by its share.
    if (p <= maxPrice) counts[p]! += 1;
    total += 1;
  }
  const m = new Float64Array(maxPrice + 1);
  for (let d = 0; d <= maxPrice; d++) m[d] = (counts[d]! + 1) / (total + maxPrice + 1);
  return m;
}

export interface RlbDpOptions {
  /** N: auctions in an episode (rows of the table). */
  auctions: number;
  /** The largest budget the table covers (integer, price units). */
  maxBudget: number;
  /** m(δ), δ = 0…(length − 1). */
  marketPdf: Float64Array;
  /** θ_avg: the training click rate. */
  thetaAvg: number;
  /** v1: value of a click (1 for the clicks objective). */
  clickValue?: number;
  /** v0: weight of the cost (0 for the clicks objective). */
  costWeight?: number;
  /**
   * RLB-pCTR: the expectation over a pCTR distribution instead of θ_avg (the paper's MDP before its
   * θ_avg approximation; see `pctrBins`). With it, thetaAvg is not used.
   */
  pctrBins?: PctrBins;
}

/** A discrete pCTR distribution: values θ_j (ascending) with probabilities w_j. */
export interface PctrBins {
  thetas: Float64Array;
  weights: Float64Array;
}

/**
 * `count` equal-mass bins of the training pCTRs, each represented by its mean, rescaled so that
 * Σ w_j·θ_j = thetaAvg (the training click rate the θ_avg DP uses; one bin gives exactly that DP).
 */
export function pctrBins(pctrs: ArrayLike<number>, count: number, thetaAvg: number): PctrBins {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`pctrBins: count must be a positive integer, got ${count}`);
  const sorted = Float64Array.from(pctrs).sort();
  const k = Math.min(count, sorted.length);
  if (k === 0) throw new RangeError('pctrBins: no pCTRs');
  const thetas = new Float64Array(k);
  const weights = new Float64Array(k);
  let mean = 0;
  for (let j = 0; j < k; j++) {
    const from = Math.floor((j * sorted.length) / k);
    const to = Math.floor(((j + 1) * sorted.length) / k);
    let sum = 0;
    for (let i = from; i < to; i++) sum += sorted[i]!;
    thetas[j] = sum / (to - from);
    weights[j] = (to - from) / sorted.length;
    mean += weights[j]! * thetas[j]!;
  }
  const scale = mean > 0 ? thetaAvg / mean : 0;
  for (let j = 0; j < k; j++) thetas[j] = Math.min(1, thetas[j]! * scale);
  return { thetas, weights };
}

/** The solved value function: D(t, b) for t < N, V(t, 0), and the last row V(N, ·). */
export class RlbValueFunction {
  /** The bid rule's table: D(t, b) at `d[t·maxBudget + b]`, t = 0…N−1, b = 0…maxBudget−1. */
  readonly d: Float32Array;
  /** V(t, 0), t = 0…N. */
  readonly v0: Float64Array;
  /** V(N, b), b = 0…maxBudget. */
  readonly lastRow: Float64Array;

  constructor(
    readonly auctions: number,
    readonly maxBudget: number,
    readonly clickValue: number,
    readonly costWeight: number,
    d: Float32Array,
    v0: Float64Array,
    lastRow: Float64Array,
  ) {
    this.d = d;
    this.v0 = v0;
    this.lastRow = lastRow;
  }

  /**
   * D(t, b) = V(t, b+1) − V(t, b). Beyond the table: t ≥ N maps to D(T0, b·T0/t) with T0 = N − 1 (the
   * paper's large-scale approximation), and b ≥ maxBudget takes the last column (V's slope only falls
   * with b, so this overstates D a little and the bids err low).
   */
  marginal(t: number, b: number): number {
    const rows = this.auctions;
    const cols = this.maxBudget;
    if (cols === 0 || t <= 0) return 0;
    if (t >= rows) {
      const t0 = rows - 1;
      if (t0 <= 0) return 0;
      b = Math.floor((b * t0) / t);
      t = t0;
    }
    if (b >= cols) b = cols - 1;
    return this.d[t * cols + b]!;
  }

  /** V(t, b) for t ≤ N and b ≤ maxBudget (for tests and reports; the bid rule uses `marginal`). */
  value(t: number, b: number): number {
    if (!Number.isInteger(t) || t < 0 || t > this.auctions) throw new RangeError(`RlbValueFunction.value: t must be an integer in [0, ${this.auctions}], got ${t}`);
    if (!Number.isInteger(b) || b < 0 || b > this.maxBudget) throw new RangeError(`RlbValueFunction.value: b must be an integer in [0, ${this.maxBudget}], got ${b}`);
    if (t === this.auctions) return this.lastRow[b]!;
    let v = this.v0[t]!;
    const row = t * this.maxBudget;
    for (let k = 0; k < b; k++) v += this.d[row + k]!;
    return v;
  }

  /**
   * The optimal bid with t auctions left (this one included) and budget b: the largest integer
   * a ≤ min(b, 300) with v1·θ − v0·a + V(t−1, b−a) − V(t−1, b) ≥ 0, where
   * V(t−1, b) − V(t−1, b−a) = Σ_{k=b−a}^{b−1} D(t−1, k). The condition only gets harder as a grows.
   */
  bid(t: number, b: number, theta: number): number {
    const budget = Math.floor(b);
    const amax = Math.min(budget, MAX_BID);
    const gain = this.clickValue * theta;
    const v0 = this.costWeight;
    let drop = 0;
    let a = 0;
    while (a < amax) {
      const next = drop + this.marginal(t - 1, budget - a - 1);
      if (gain - v0 * (a + 1) - next < 0) break;
      drop = next;
      a++;
    }
    return a;
  }
}

/** A source of D(t, b) = V(t, b+1) − V(t, b): the DP table, or an approximation of it. */
export type MarginalValue = (t: number, b: number) => number;

/**
 * RLB's bid rule over any D source: the largest integer a ≤ min(b, 300) with
 * v1·θ − v0·a − Σ_{k=b−a}^{b−1} D(t−1, k) ≥ 0 (the DP table's own `bid` is the same loop, inlined).
 */
export function bidFromMarginal(marginal: MarginalValue, t: number, b: number, theta: number, clickValue = 1, costWeight = 0): number {
  const budget = Math.floor(b);
  const amax = Math.min(budget, MAX_BID);
  const gain = clickValue * theta;
  let drop = 0;
  let a = 0;
  while (a < amax) {
    const next = drop + marginal(t - 1, budget - a - 1);
    if (gain - costWeight * (a + 1) - next < 0) break;
    drop = next;
    a++;
  }
  return a;
}

/**
 * Solves the DP for t = 1…N and b = 0…maxBudget. Cost: N·maxBudget cells, each a scan of a* + 1
 * price levels (at most 301); memory: the float32 D table (4·N·maxBudget bytes) and two rows.
 */
export function solveRlbDp(options: RlbDpOptions): RlbValueFunction {
  const { auctions: n, maxBudget, marketPdf: pdf, thetaAvg } = options;
  const v1 = options.clickValue ?? 1;
  const v0 = options.costWeight ?? 0;
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`solveRlbDp: auctions must be a positive integer, got ${n}`);
  if (!Number.isSafeInteger(maxBudget) || maxBudget < 0) throw new RangeError(`solveRlbDp: maxBudget must be a non-negative integer, got ${maxBudget}`);
  if (!options.pctrBins && !(thetaAvg >= 0 && thetaAvg <= 1)) throw new RangeError(`solveRlbDp: thetaAvg must be in [0, 1], got ${thetaAvg}`);
  const bins = options.pctrBins;
  if (bins && (bins.thetas.length < 1 || bins.thetas.length !== bins.weights.length || bins.thetas.some((x, j) => !(x >= 0 && x <= 1) || (j > 0 && x < bins.thetas[j - 1]!)) || bins.weights.some((w) => !(w >= 0)))) {
    throw new RangeError('solveRlbDp: pctrBins needs ascending thetas in [0, 1] and as many non-negative weights');
  }
  if (!(v1 >= 0) || !(v0 >= 0) || !Number.isFinite(v1) || !Number.isFinite(v0)) throw new RangeError('solveRlbDp: clickValue and costWeight must be finite and non-negative');
  if (pdf.length < 1 || pdf.some((p) => !(p >= 0))) throw new RangeError('solveRlbDp: marketPdf must hold non-negative probabilities');
  if (n * maxBudget > 2 ** 31 - 1) throw new RangeError(`solveRlbDp: a table of ${n} × ${maxBudget} cells is too large; use the large-scale mapping with a shorter N`);
  const maxPrice = pdf.length - 1;
  const cols = maxBudget;
  const d = new Float32Array(n * cols);
  const vZero = new Float64Array(n + 1);
  // Prefix sums over δ: M(a) = Σ_{δ≤a} m(δ) and S(a) = Σ_{δ≤a} δ·m(δ), so that a cell is
  //   V(t, b) = V(t−1, b)·(1 − M(a*)) + v1·θ_avg·M(a*) − v0·S(a*) + Σ_{δ≤a*} m(δ)·V(t−1, b−δ).
  const cdf = new Float64Array(maxPrice + 1);
  const cost = new Float64Array(maxPrice + 1);
  for (let delta = 0, cm = 0, cs = 0; delta <= maxPrice; delta++) {
    cm += pdf[delta]!;
    cs += delta * pdf[delta]!;
    cdf[delta] = cm;
    cost[delta] = cs;
  }
  let prev = new Float64Array(maxBudget + 1); // V(0, ·) = 0
  let cur = new Float64Array(maxBudget + 1);
  const gain = v1 * thetaAvg;
  const aStars = new Int32Array(bins ? bins.thetas.length : 0);
  for (let t = 1; t <= n; t++) {
    // Store D(t−1, ·) from the row we are about to build on.
    const row = (t - 1) * cols;
    for (let b = 0; b < cols; b++) d[row + b] = prev[b + 1]! - prev[b]!;
    // With t auctions left at most t·maxPrice can be spent, so V(t, ·) is flat from there on.
    const spendable = t * maxPrice < maxBudget ? t * maxPrice : maxBudget;
    if (bins) solvePctrRow(prev, cur, spendable, pdf, cdf, cost, bins, v1, v0, aStars);
    else for (let b = 0; b <= spendable; b++) {
      const vb = prev[b]!;
      const dmax = b < maxPrice ? b : maxPrice;
      // a*: the bracket gain + V(t−1, b−δ) − V(t−1, b) − v0·δ is non-increasing in δ and ≥ 0 at δ = 0,
      // so binary-search the last δ where it is still ≥ 0.
      let lo = 0;
      let hi = dmax;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (gain + prev[b - mid]! - vb - v0 * mid >= 0) lo = mid;
        else hi = mid - 1;
      }
      const aStar = lo;
      // Σ_{δ=0}^{a*} m(δ)·V(t−1, b−δ), unrolled by four.
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let delta = 0;
      for (; delta + 3 <= aStar; delta += 4) {
        const k = b - delta;
        s0 += pdf[delta]! * prev[k]!;
        s1 += pdf[delta + 1]! * prev[k - 1]!;
        s2 += pdf[delta + 2]! * prev[k - 2]!;
        s3 += pdf[delta + 3]! * prev[k - 3]!;
      }
      for (; delta <= aStar; delta++) s0 += pdf[delta]! * prev[b - delta]!;
      cur[b] = vb * (1 - cdf[aStar]!) + gain * cdf[aStar]! - v0 * cost[aStar]! + (s0 + s1 + s2 + s3);
    }
    for (let b = spendable + 1; b <= maxBudget; b++) cur[b] = cur[spendable]!;
    vZero[t] = cur[0]!;
    const swap = prev;
    prev = cur;
    cur = swap;
  }
  return new RlbValueFunction(n, maxBudget, v1, v0, d, vZero, prev);
}

/**
 * One row of the RLB-pCTR DP: V(t, b) = V(t−1, b) + Σ_j w_j·Σ_{δ≤a*_j} m(δ)·[v1·θ_j + V(t−1, b−δ) −
 * V(t−1, b) − v0·δ]. a*_j grows with θ_j, so each is binary-searched from the previous one, and one
 * pass of the dot product Σ m(δ)·V(t−1, b−δ) up to the largest a* is read off at every a*_j.
 */
function solvePctrRow(prev: Float64Array, cur: Float64Array, spendable: number, pdf: Float64Array, cdf: Float64Array, cost: Float64Array, bins: PctrBins, v1: number, v0: number, aStars: Int32Array): void {
  const maxPrice = pdf.length - 1;
  const { thetas, weights } = bins;
  const k = thetas.length;
  for (let b = 0; b <= spendable; b++) {
    const vb = prev[b]!;
    const dmax = b < maxPrice ? b : maxPrice;
    let lo = 0;
    for (let j = 0; j < k; j++) {
      const gain = v1 * thetas[j]!;
      let hi = dmax;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (gain + prev[b - mid]! - vb - v0 * mid >= 0) lo = mid;
        else hi = mid - 1;
      }
      aStars[j] = lo;
    }
    let acc = 0;
    let dot = 0;
    let delta = 0;
    for (let j = 0; j < k; j++) {
      const a = aStars[j]!;
      for (; delta <= a; delta++) dot += pdf[delta]! * prev[b - delta]!;
      acc += weights[j]! * ((v1 * thetas[j]! - vb) * cdf[a]! - v0 * cost[a]! + dot);
    }
    cur[b] = vb + acc;
  }
}
