import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { auctionStats, marketPriceDistribution, rlbBidder, runBidder, sliceAuctions, solveRlbDp, syntheticCampaign, type RlbValueFunction } from '@rewardlab/sim';
import { fitMarginalValueNet, neuralRlbBidder, selectBackend, type NeuralMarginalValue } from '../src';

describe('RLB neural approximation of D(t, b)', () => {
  const campaign = syntheticCampaign(21, { auctions: 120_000 });
  const train = sliceAuctions(campaign, 0, 60_000);
  const test = sliceAuctions(campaign, 60_000, 60_000);
  const stats = auctionStats(train);
  const t0Auctions = 200;
  const budget0 = Math.floor(stats.cpm * (1 / 8) * t0Auctions);
  let table: RlbValueFunction;
  let net: NeuralMarginalValue;

  beforeAll(async () => {
    await selectBackend('cpu');
    table = solveRlbDp({ auctions: t0Auctions, maxBudget: budget0, marketPdf: marketPriceDistribution(train.prices), thetaAvg: stats.ctr });
    // A short fit keeps the suite fast (the default is 1500 steps).
    net = await fitMarginalValueNet(table, { samples: 8000, steps: 400, seed: 3 });
  }, 120_000);

  it('is a 2 → 30 → 15 → 1 MLP whose fit of D / max D has a small mean squared error', () => {
    expect(net.weights.kernels.map((k) => k.length)).toEqual([2 * 30, 30 * 15, 15 * 1]);
    expect(net.weights.t0).toBe(t0Auctions - 1);
    expect(net.loss).toBeLessThan(2e-3);
  });

  it('approximates D(t, b) over the table: the relative error of D summed along the budget is small', () => {
    // What the bid rule uses is Σ_k D(t−1, k) over up to 300 budgets: compare those sums.
    let err = 0;
    let total = 0;
    for (const t of [20, 80, 150, 199]) {
      for (let b = 300; b < budget0; b += 97) {
        let exact = 0;
        let approx = 0;
        for (let k = b - 100; k < b; k++) {
          exact += table.marginal(t, k);
          approx += net.marginal(t, k);
        }
        err += Math.abs(exact - approx);
        total += exact;
      }
    }
    expect(err / total).toBeLessThan(0.2);
  });

  it('maps t > T0 onto D̂(T0, b·T0/t)', () => {
    const t0 = net.t0;
    expect(net.marginal(4 * t0, 4 * 1000)).toBe(net.predict(t0, 1000));
    expect(net.marginal(t0, 500)).toBe(net.predict(t0, 500));
  });

  it('bids about as the exact DP on its own horizon, and on 5× longer episodes about as the mapped DP table', () => {
    const budget = Math.floor(stats.cpm * (1 / 8) * t0Auctions);
    const exact = runBidder(test, rlbBidder(table), { episodeLength: t0Auctions, budget });
    const neural = runBidder(test, neuralRlbBidder(net), { episodeLength: t0Auctions, budget });
    expect(Math.abs(neural.cost - exact.cost)).toBeLessThan(0.1 * exact.cost);
    expect(neural.clicks).toBeGreaterThanOrEqual(0.8 * exact.clicks);
    const longN = 5 * t0Auctions;
    const longBudget = 5 * budget;
    const mappedTable = runBidder(test, rlbBidder(table), { episodeLength: longN, budget: longBudget });
    const mappedNet = runBidder(test, neuralRlbBidder(net), { episodeLength: longN, budget: longBudget });
    expect(Math.abs(mappedNet.cost - mappedTable.cost)).toBeLessThan(0.1 * mappedTable.cost);
    expect(mappedNet.clicks).toBeGreaterThanOrEqual(0.8 * mappedTable.clicks);
  });

  it('leaves no tensors behind and gives the same net for the same seed', async () => {
    const before = tf.memory().numTensors;
    const again = await fitMarginalValueNet(table, { samples: 2000, steps: 50, seed: 9 });
    const twice = await fitMarginalValueNet(table, { samples: 2000, steps: 50, seed: 9 });
    expect(tf.memory().numTensors).toBe(before);
    expect(again.weights).toEqual(twice.weights);
  });
});
