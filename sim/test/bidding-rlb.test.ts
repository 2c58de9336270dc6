import { describe, expect, it } from 'vitest';
import { marketPriceDistribution, MAX_BID, pctrBins, Rng, solveRlbDp, type RlbValueFunction } from '../src';

/**
 * The optimum by enumeration: at every node of the outcome tree try every bid a ∈ {0 … min(b, 300)}
 * and every market price δ ≤ a (a win: pay δ, gain v1·θ − v0·δ) plus the lump of prices above a (a
 * loss), with no memoisation and no use of the bracket's monotonicity.
 */
function bruteForce(t: number, b: number, pdf: Float64Array, theta: number, v1 = 1, v0 = 0): number {
  if (t === 0) return 0;
  let best = -Infinity;
  const stay = bruteForce(t - 1, b, pdf, theta, v1, v0);
  for (let a = 0; a <= Math.min(b, pdf.length - 1); a++) {
    let value = 0;
    let winMass = 0;
    for (let delta = 0; delta <= a; delta++) {
      value += pdf[delta]! * (v1 * theta - v0 * delta + bruteForce(t - 1, b - delta, pdf, theta, v1, v0));
      winMass += pdf[delta]!;
    }
    value += (1 - winMass) * stay;
    best = Math.max(best, value);
  }
  return best;
}

/** The best first bid by enumeration with θ(x) for this auction and θ_avg afterwards. */
function bruteForceBid(t: number, b: number, pdf: Float64Array, theta: number, thetaAvg: number, v1 = 1, v0 = 0): number {
  // Value of bidding a: Σ_{δ≤a} m(δ)(v1θ − v0δ + V(t−1, b−δ)) + (1 − M(a))V(t−1, b); the largest maximiser.
  let best = -Infinity;
  let bestA = 0;
  for (let a = 0; a <= Math.min(b, MAX_BID); a++) {
    let value = 0;
    let winMass = 0;
    for (let delta = 0; delta <= Math.min(a, pdf.length - 1); delta++) {
      value += pdf[delta]! * (v1 * theta - v0 * delta + bruteForce(t - 1, b - delta, pdf, thetaAvg, v1, v0));
      winMass += pdf[delta]!;
    }
    value += (1 - winMass) * bruteForce(t - 1, b, pdf, thetaAvg, v1, v0);
    if (value > best + 1e-12) {
      best = value;
      bestA = a;
    } else if (value >= best - 1e-12) bestA = a; // the largest of tied maximisers

  }
  return bestA;
}

/** The same enumeration when θ is drawn each auction from {θ_j} with probabilities w_j (seen before bidding). */
function bruteForceMixture(t: number, b: number, pdf: Float64Array, thetas: number[], weights: number[], v1 = 1, v0 = 0): number {
  if (t === 0) return 0;
  const stay = bruteForceMixture(t - 1, b, pdf, thetas, weights, v1, v0);
  const next = (delta: number): number => bruteForceMixture(t - 1, b - delta, pdf, thetas, weights, v1, v0);
  let expected = 0;
  thetas.forEach((theta, j) => {
    let best = -Infinity;
    for (let a = 0; a <= Math.min(b, pdf.length - 1); a++) {
      let value = 0;
      let winMass = 0;
      for (let delta = 0; delta <= a; delta++) {
        value += pdf[delta]! * (v1 * theta - v0 * delta + next(delta));
        winMass += pdf[delta]!;
      }
      best = Math.max(best, value + (1 - winMass) * stay);
    }
    expected += weights[j]! * best;
  });
  return expected;
}

function randomPdf(seed: number, levels: number): Float64Array {
  const rng = new Rng(seed);
  const counts = Array.from({ length: levels }, () => rng.integer(10));
  return marketPriceDistribution(counts.flatMap((c, price) => Array<number>(c).fill(price)), levels - 1);
}

describe('RLB dynamic programme', () => {
  it('m(δ) is the Laplace-smoothed histogram (n_δ + 1) / (Σn + 301)', () => {
    const m = marketPriceDistribution([0, 5, 5, 300, 301]);
    expect(m.length).toBe(301);
    expect(m[5]).toBeCloseTo(3 / (5 + 301), 15);
    expect(m[0]).toBeCloseTo(2 / 306, 15);
    expect(m[7]).toBeCloseTo(1 / 306, 15);
    // The price above the cap counts in Σn but has no level: the mass left over is its share.
    expect(1 - m.reduce((s, x) => s + x, 0)).toBeCloseTo(1 / 306, 12);
  });

  for (const [seed, n, budget, levels] of [[1, 3, 4, 5], [2, 4, 5, 6], [3, 3, 6, 4], [4, 2, 7, 8]] as const) {
    it(`V(t, b) equals the enumerated optimum for N = ${n}, B = ${budget}, ${levels} price levels (clicks objective)`, () => {
      const pdf = randomPdf(seed, levels);
      const theta = 0.3;
      const vf = solveRlbDp({ auctions: n, maxBudget: budget, marketPdf: pdf, thetaAvg: theta });
      for (let t = 0; t <= n; t++) for (let b = 0; b <= budget; b++) expect(vf.value(t, b)).toBeCloseTo(bruteForce(t, b, pdf, theta), 6);
    });
  }

  it('V(t, b) equals the enumerated optimum for the profit objective (v1 = 1, v0 = 0.05)', () => {
    const pdf = randomPdf(9, 6);
    const vf = solveRlbDp({ auctions: 3, maxBudget: 6, marketPdf: pdf, thetaAvg: 0.2, clickValue: 1, costWeight: 0.05 });
    for (let t = 0; t <= 3; t++) for (let b = 0; b <= 6; b++) expect(vf.value(t, b)).toBeCloseTo(bruteForce(t, b, pdf, 0.2, 1, 0.05), 6);
  });

  it('V(t, b) equals the enumerated optimum with the full 301-level smoothed histogram', () => {
    const pdf = marketPriceDistribution([0, 0, 1, 1, 1, 2, 3, 3, 7, 50, 120]);
    const vf = solveRlbDp({ auctions: 3, maxBudget: 5, marketPdf: pdf, thetaAvg: 0.4 });
    for (let b = 0; b <= 5; b++) expect(vf.value(3, b)).toBeCloseTo(bruteForce(3, b, pdf, 0.4), 9);
  });

  it('the optimal bid is the enumerated best first bid, for θ above and below θ_avg', () => {
    // Budgets stay within the price levels, so every bid level has its own (smoothed, positive) mass.
    const pdf = randomPdf(5, 7);
    const thetaAvg = 0.25;
    const vf = solveRlbDp({ auctions: 3, maxBudget: 6, marketPdf: pdf, thetaAvg });
    for (const theta of [0, 0.05, 0.25, 0.6, 1]) {
      for (let b = 0; b <= 6; b++) expect(vf.bid(3, b, theta)).toBe(bruteForceBid(3, b, pdf, theta, thetaAvg));
    }
  });

  it('bids the budget (or 300) on the last auction, where nothing is left to save for', () => {
    const vf = solveRlbDp({ auctions: 2, maxBudget: 400, marketPdf: marketPriceDistribution([10, 20]), thetaAvg: 0.01 });
    expect(vf.bid(1, 40, 0.001)).toBe(40);
    expect(vf.bid(1, 400, 0.001)).toBe(300);
    expect(vf.bid(1, 0, 0.5)).toBe(0);
  });

  it('V is flat once the budget exceeds 300 per auction left, and D(t, b) follows the long-episode mapping beyond the table', () => {
    const pdf = marketPriceDistribution([1, 50, 100, 250]);
    const vf: RlbValueFunction = solveRlbDp({ auctions: 3, maxBudget: 1000, marketPdf: pdf, thetaAvg: 0.1 });
    expect(vf.value(2, 600)).toBe(vf.value(2, 1000));
    expect(vf.value(3, 900)).toBe(vf.value(3, 1000));
    expect(vf.marginal(6, 400)).toBe(vf.marginal(2, 133)); // D(6, 400) ≈ D(T0 = 2, 400·2/6)
  });

  it('RLB-pCTR: V(t, b) equals the enumerated optimum when θ is drawn from a distribution each auction', () => {
    const pdf = randomPdf(7, 5);
    const thetas = [0.05, 0.2, 0.6];
    const weights = [0.5, 0.3, 0.2];
    const vf = solveRlbDp({ auctions: 3, maxBudget: 4, marketPdf: pdf, thetaAvg: 0, pctrBins: { thetas: Float64Array.from(thetas), weights: Float64Array.from(weights) } });
    for (let t = 0; t <= 3; t++) for (let b = 0; b <= 4; b++) expect(vf.value(t, b)).toBeCloseTo(bruteForceMixture(t, b, pdf, thetas, weights), 6); // D is kept in float32
    const profit = solveRlbDp({ auctions: 2, maxBudget: 4, marketPdf: pdf, thetaAvg: 0, costWeight: 0.04, pctrBins: { thetas: Float64Array.from(thetas), weights: Float64Array.from(weights) } });
    for (let b = 0; b <= 4; b++) expect(profit.value(2, b)).toBeCloseTo(bruteForceMixture(2, b, pdf, thetas, weights, 1, 0.04), 6);
  });

  it('RLB-pCTR with one bin is the θ_avg DP; pctrBins are equal-mass bin means rescaled to θ_avg', () => {
    const pdf = randomPdf(8, 6);
    const one = solveRlbDp({ auctions: 4, maxBudget: 6, marketPdf: pdf, thetaAvg: 0, pctrBins: pctrBins([0.1, 0.3, 0.5], 1, 0.25) });
    const avg = solveRlbDp({ auctions: 4, maxBudget: 6, marketPdf: pdf, thetaAvg: 0.25 });
    for (let b = 0; b <= 6; b++) expect(one.value(4, b)).toBeCloseTo(avg.value(4, b), 9);
    const bins = pctrBins([0.4, 0.1, 0.2, 0.3], 2, 0.5);
    expect(Array.from(bins.weights)).toEqual([0.5, 0.5]);
    expect(bins.thetas[0]).toBeCloseTo(0.15 * (0.5 / 0.25), 12);
    expect(bins.thetas[1]).toBeCloseTo(0.35 * (0.5 / 0.25), 12);
  });

  it('rejects bad sizes', () => {
    const pdf = marketPriceDistribution([1]);
    expect(() => solveRlbDp({ auctions: 0, maxBudget: 5, marketPdf: pdf, thetaAvg: 0.1 })).toThrow(/auctions/);
    expect(() => solveRlbDp({ auctions: 5, maxBudget: -1, marketPdf: pdf, thetaAvg: 0.1 })).toThrow(/maxBudget/);
    expect(() => solveRlbDp({ auctions: 5, maxBudget: 5, marketPdf: pdf, thetaAvg: 2 })).toThrow(/thetaAvg/);
  });
});
