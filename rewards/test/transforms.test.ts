import { describe, expect, it } from 'vitest';
import { clipReward, createReturnTransforms, deltaReward, minForm, normalizeReturns } from '../src';

const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0);

describe('min-form credit assignment (PURE): r*ᵢ = softmax(−rᵢ/T)ᵢ · rᵢ', () => {
  const steps = [0.5, -0.2, 1.0, 0.3, 0.8];

  it('weights each step reward by the softmax of −r/T over its trajectory', () => {
    const r = Float32Array.from(steps);
    minForm(0.1).apply(r, Uint8Array.from([0, 0, 0, 0, 1]), 5, 1);
    const z = sum(steps.map((x) => Math.exp(-x / 0.1)));
    steps.forEach((x, i) => expect(r[i]).toBeCloseTo((Math.exp(-x / 0.1) / z) * x, 6));
  });

  it('the return tends to the minimum step reward as the temperature goes to 0', () => {
    const gaps = [1, 0.3, 0.1, 0.03, 0.01].map((temperature) => {
      const r = Float32Array.from(steps);
      minForm(temperature).apply(r, Uint8Array.from([0, 0, 0, 0, 1]), 5, 1);
      return Math.abs(sum(r) - Math.min(...steps));
    });
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]).toBeLessThan(gaps[i - 1]!);
    expect(gaps[gaps.length - 1]).toBeLessThan(1e-6);
  });

  it('treats each slot and each episode (split at dones) as its own trajectory', () => {
    // Two slots, step-major; slot 0's episode ends at step 1.
    const r = Float32Array.from([1, 5, -1, 6, 2, 7, 3, 8]);
    minForm(1e-3).apply(r, Uint8Array.from([0, 0, 1, 0, 0, 0, 0, 0]), 4, 2);
    expect(r[0]! + r[2]!).toBeCloseTo(-1, 5); // slot 0, steps 0–1
    expect(r[4]! + r[6]!).toBeCloseTo(2, 5); // slot 0, steps 2–3
    expect(r[1]! + r[3]! + r[5]! + r[7]!).toBeCloseTo(5, 5); // slot 1
  });
});

describe('clip and delta (Gao et al. 2024)', () => {
  it('clip pays min(r − η, 0)', () => {
    const r = Float32Array.from([0.5, -0.2, 1.5]);
    clipReward(1).apply(r, new Uint8Array(3), 3, 1);
    expect(Array.from(r)).toEqual([expect.closeTo(-0.5, 6), expect.closeTo(-1.2, 6), 0]);
  });

  it('delta pays rₖ − rₖ₊₁ (the last step kept), so the return from t telescopes to rₜ', () => {
    const steps = [0.5, -0.2, 1.0, 0.3];
    const r = Float32Array.from(steps);
    deltaReward().apply(r, Uint8Array.from([0, 0, 0, 1]), 4, 1);
    for (let t = 0; t < 4; t++) expect(sum(r.slice(t))).toBeCloseTo(steps[t]!, 6);
  });
});

describe('running return normalisation', () => {
  it('divides rewards by the running standard deviation of the discounted return', () => {
    const r = Float32Array.from([1, 1, 1, 1]);
    normalizeReturns(0.5, 100).apply(r, Uint8Array.from([0, 0, 0, 1]), 4, 1);
    const g = [1, 1.5, 1.75, 1.875];
    const mean = sum(g) / 4;
    const variance = sum(g.map((x) => (x - mean) ** 2)) / 4;
    // Starting from count ε = 1e-4 with var 1, the first batch dominates (Chan et al.'s update).
    const count = 1e-4 + 4;
    const m2 = 1 * 1e-4 + variance * 4 + (mean * mean * 1e-4 * 4) / count;
    expect(r[0]).toBeCloseTo(1 / Math.sqrt(m2 / count + 1e-8), 4);
  });

  it('saves its state so that a resumed run continues exactly as an uninterrupted one', () => {
    const rollout = (i: number) => Float32Array.from({ length: 8 }, (_, k) => Math.sin(i * 8 + k) * 3);
    const dones = Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 0]);
    const straight = normalizeReturns(0.99);
    const outA = [0, 1, 2].map((i) => {
      const r = rollout(i);
      straight.apply(r, dones, 4, 2);
      return Array.from(r);
    });
    const first = normalizeReturns(0.99);
    const r0 = rollout(0);
    first.apply(r0, dones, 4, 2);
    const resumed = normalizeReturns(0.99);
    resumed.setState!(JSON.parse(JSON.stringify(first.getState!())));
    const outB = [1, 2].map((i) => {
      const r = rollout(i);
      resumed.apply(r, dones, 4, 2);
      return Array.from(r);
    });
    expect(outB).toEqual(outA.slice(1));
  });
});

describe('createReturnTransforms', () => {
  it('builds the spec\'s transforms in order', () => {
    const ts = createReturnTransforms({ components: { native: { term: 'native' } }, transforms: [{ type: 'minForm', temperature: 0.5 }, { type: 'clip' }, { type: 'delta' }, { type: 'normalize' }] }, { gamma: 0.99 });
    expect(ts.map((t) => t.name)).toEqual(['minForm', 'clip', 'delta', 'normalize']);
    expect(ts[3]!.getState).toBeTypeOf('function');
  });

  it('a spec without transforms (or no spec) gives an empty list', () => {
    expect(createReturnTransforms('lucy', { gamma: 0.99 })).toEqual([]);
    expect(createReturnTransforms({ components: { native: { term: 'native' } } }, { gamma: 0.99 })).toEqual([]);
    expect(createReturnTransforms(undefined, { gamma: 0.99 })).toEqual([]);
  });
});
