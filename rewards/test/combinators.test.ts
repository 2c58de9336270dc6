import { describe, expect, it } from 'vitest';
import { Rng } from '@rewardlab/sim';
import { krc, RewardFunction, teamSpirit, type RewardSpec } from '../src';
import { car, state } from './helpers';

const constants = (values: number[]) => values.map((value) => ({ term: 'constant', value }));

function generic(spec: unknown, numSlots = 1): RewardFunction {
  return new RewardFunction(spec as RewardSpec, { numSlots, domain: 'generic' });
}
const anyTransition = { prev: new Float32Array(1), next: new Float32Array(1), actions: [0], events: [undefined], nativeReward: [0], terminated: false };

describe('KRC: R_c = sgn · |r₁ · … · rₙ|^(1/n)', () => {
  it('is the n-th root of the product when every component is ≥ 0', () => {
    expect(krc([4, 9])).toBeCloseTo(Math.sqrt(36), 12);
    expect(krc([2, 4, 8])).toBeCloseTo(64 ** (1 / 3), 12);
    expect(krc([0.5, 0.2, 0.9, 0.7])).toBeCloseTo((0.5 * 0.2 * 0.9 * 0.7) ** (1 / 4), 12);
    expect(krc([0.3])).toBeCloseTo(0.3, 12);
  });

  it('is negative when any component is negative, even when the product is positive', () => {
    expect(krc([-4, 9])).toBeCloseTo(-Math.sqrt(36), 12);
    expect(krc([-2, -8])).toBeCloseTo(-Math.sqrt(16), 12);
    expect(krc([-1, -1, -1])).toBeCloseTo(-1, 12);
  });

  it('is 0 when one component is 0: all aspects must be good at once', () => {
    expect(krc([0, 5, 7])).toBe(0);
    expect(Math.abs(krc([0, -5]))).toBe(0);
  });

  it('a krc node in a spec combines its children (each with its weight) the same way', () => {
    const f = generic({ components: { k: { krc: [...constants([2, 3]), { term: 'constant', value: 4, weight: -1.5 }], weight: 2 } } });
    expect(f.evaluate(anyTransition).total[0]).toBeCloseTo(2 * -(Math.abs(2 * 3 * -6) ** (1 / 3)), 12);
  });
});

describe('weighted sums', () => {
  it('a sum node adds its weighted children; the reward is the sum of the components', () => {
    const f = generic({ components: { a: { sum: [{ term: 'constant', value: 2, weight: 0.5 }, { term: 'constant', value: -3 }], weight: 2 }, b: { term: 'constant', value: 7, weight: 0.1 } } });
    const { total, components } = f.evaluate(anyTransition);
    expect(components.a![0]).toBeCloseTo(2 * (0.5 * 2 - 3), 12);
    expect(components.b![0]).toBeCloseTo(0.7, 12);
    expect(total[0]).toBeCloseTo(2 * (0.5 * 2 - 3) + 0.7, 12);
  });
});

describe('team spirit: r′ᵢ = (1 − τ)·rᵢ + τ·mean(own team) − mean(opponents)', () => {
  it('mixes each reward with its team mean and subtracts the opponents\' mean', () => {
    const r = Float64Array.from([1, 3, -2, 6]);
    teamSpirit(r, [0, 0, 1, 1], 0.3);
    expect(r[0]).toBeCloseTo(0.7 * 1 + 0.3 * 2 - 2, 12);
    expect(r[1]).toBeCloseTo(0.7 * 3 + 0.3 * 2 - 2, 12);
    expect(r[2]).toBeCloseTo(0.7 * -2 + 0.3 * 2 - 2, 12);
    expect(r[3]).toBeCloseTo(0.7 * 6 + 0.3 * 2 - 2, 12);
  });

  it('a spec applies it per component with the teams of the carball state', () => {
    const s = state({ pos: [0, 0, 93] }, [car(0, [0, -1000, 17], [0, 0, 0], 0, 100), car(0, [0, -2000, 17], [0, 0, 0], 0, 25), car(1, [0, 1000, 17], [0, 0, 0], 0, 0), car(1, [0, 2000, 17], [0, 0, 0], 0, 49)]);
    const f = new RewardFunction({ teamSpirit: 0.3, components: { saveBoost: { term: 'saveBoost' } } } as unknown as RewardSpec, { numSlots: 4, domain: 'carball' });
    const { total } = f.evaluate({ prev: s, next: s, actions: [0, 0, 0, 0], events: [], nativeReward: null, terminated: false });
    const raw = [1, 0.5, 0, 0.7];
    const blue = (raw[0]! + raw[1]!) / 2;
    const orange = (raw[2]! + raw[3]!) / 2;
    expect(Array.from(total)).toEqual(raw.map((x, i) => expect.closeTo(0.7 * x + 0.3 * (i < 2 ? blue : orange) - (i < 2 ? orange : blue), 12)));
  });
});

describe('gates (G-RA): a lower-priority term pays only while a higher-priority one meets its threshold', () => {
  it('pays the gated term on steps where the gate node is ≥ the threshold, and 0 otherwise', () => {
    const spec = { components: { outcome: { term: 'native' }, dense: { term: 'constant', value: 0.2, gate: { on: { ref: 'outcome' }, threshold: 1 } } } };
    const f = generic(spec);
    expect(f.evaluate({ ...anyTransition, nativeReward: [1] }).components.dense![0]).toBeCloseTo(0.2, 12);
    expect(f.evaluate({ ...anyTransition, nativeReward: [0.5] }).components.dense![0]).toBe(0);
  });
});

describe('potential-based shaping F = γ·Φ(s′) − Φ(s), Φ(terminal) = 0 (Ng et al. 1999)', () => {
  // A random 6-state, 3-action MDP with stochastic transitions; state 5 is terminal. States are given to
  // the reward spec as one-hot-ish feature vectors so that an `observation` term can serve as Φ.
  const numStates = 6;
  const numActions = 3;
  const terminal = 5;
  const gamma = 0.9;
  const rng = new Rng(7);
  const P = Array.from({ length: numStates }, () =>
    Array.from({ length: numActions }, () => {
      const w = Array.from({ length: numStates }, () => rng.random() ** 3);
      const z = w.reduce((a, b) => a + b, 0);
      return w.map((x) => x / z);
    }),
  );
  const R = Array.from({ length: numStates }, () => Array.from({ length: numActions }, () => Array.from({ length: numStates }, () => rng.uniform(-1, 1))));
  const features = Array.from({ length: numStates }, (_, s) => Float32Array.from([s, rng.uniform(-5, 5)]));

  const f = new RewardFunction(
    { gamma, components: { base: { term: 'native' }, shaping: { term: 'observation', index: 1, scale: 4, potential: true } } } as unknown as RewardSpec,
    { numSlots: 1, domain: 'generic' },
  );
  const shapedTable = R.map((row, s) => row.map((rs, a) => rs.map((r, s2) => f.evaluate({ prev: features[s]!, next: features[s2]!, actions: [a], events: [undefined], nativeReward: [r], terminated: s2 === terminal }).total[0]!)));
  const shapedReward = (s: number, a: number, s2: number): number => shapedTable[s]![a]![s2]!;

  function valueIteration(reward: (s: number, a: number, s2: number) => number): { q: number[][]; policy: number[] } {
    const v = new Array<number>(numStates).fill(0);
    let q: number[][] = [];
    for (let iter = 0; iter < 400; iter++) {
      q = Array.from({ length: numStates }, (_, s) =>
        Array.from({ length: numActions }, (_, a) => P[s]![a]!.reduce((acc, p, s2) => acc + p * (reward(s, a, s2) + (s2 === terminal ? 0 : gamma * v[s2]!)), 0)),
      );
      for (let s = 0; s < numStates; s++) v[s] = s === terminal ? 0 : Math.max(...q[s]!);
    }
    return { q, policy: q.map((row) => row.indexOf(Math.max(...row))) };
  }

  it('leaves the optimal policy of a tabular MDP unchanged, and shifts Q by −Φ(s)', () => {
    const plain = valueIteration((s, a, s2) => R[s]![a]![s2]!);
    const shaped = valueIteration(shapedReward);
    expect(shaped.policy.slice(0, terminal)).toEqual(plain.policy.slice(0, terminal));
    for (let s = 0; s < terminal; s++) for (let a = 0; a < numActions; a++) expect(shaped.q[s]![a]).toBeCloseTo(plain.q[s]![a]! - 4 * features[s]![1]!, 6);
  });

  it('pays γ·Φ(s′) − Φ(s), with Φ = 0 at a terminal state', () => {
    expect(shapedReward(0, 1, 2) - R[0]![1]![2]!).toBeCloseTo(gamma * 4 * features[2]![1]! - 4 * features[0]![1]!, 5);
    expect(shapedReward(0, 1, terminal) - R[0]![1]![terminal]!).toBeCloseTo(-4 * features[0]![1]!, 5);
  });

  it('a state reward that is not paid as a difference can change the optimal policy (the test above is not vacuous)', () => {
    const plain = valueIteration((s, a, s2) => R[s]![a]![s2]!);
    const bonus = valueIteration((s, a, s2) => R[s]![a]![s2]! + 4 * features[s2]![1]!);
    expect(bonus.policy.slice(0, terminal)).not.toEqual(plain.policy.slice(0, terminal));
  });
});
