import { describe, expect, it } from 'vitest';
import { makeEnv, Rng } from '@rewardlab/sim';
import { epic, rewardDistances, sampleTransitions, starc, type CarballState, type RewardNodeSpec, type Transition, type Vec3 } from '../src';
import { car, state } from './helpers';

/** Random 1v1 carball transitions (uniform positions and velocities in the arena, occasional touches). */
function randomTransitions(n: number, seed: number): Transition[] {
  const rng = new Rng(seed);
  const v = (sx: number, sy: number, sz: number): Vec3 => [rng.uniform(-sx, sx), rng.uniform(-sy, sy), rng.uniform(0, sz)];
  const randomState = (): CarballState =>
    state({ pos: v(4000, 5000, 1800), vel: v(3000, 3000, 1000) }, [car(0, v(4000, 5000, 300), v(2000, 2000, 200), rng.uniform(-Math.PI, Math.PI), rng.uniform(0, 100)), car(1, v(4000, 5000, 300), v(2000, 2000, 200), rng.uniform(-Math.PI, Math.PI), rng.uniform(0, 100))]);
  return Array.from({ length: n }, () => {
    const events = [0, 1].map(() => ({ touch: rng.random() < 0.2 ? 1 : 0 }));
    return { prev: randomState(), next: randomState(), actions: [0, 0], events, nativeReward: null, terminated: false };
  });
}

const base: Record<string, RewardNodeSpec> = {
  approach: { term: 'velocityPlayerToBall' },
  face: { term: 'faceBall', weight: 0.5 },
  touch: { term: 'touchBall', aerialWeight: 1, weight: 0.3 },
  ballToGoal: { term: 'velocityBallToGoal', weight: 2 },
};
const gamma = 0.95;
const R = { gamma, components: base };
const scaled = (k: number) => ({ gamma, components: Object.fromEntries(Object.entries(base).map(([name, node]) => [name, { ...node, weight: k * (node.weight ?? 1) }])) });
const shaped = { gamma, components: { ...base, shaping: { krc: [{ term: 'liuDistanceBallToGoal' }, { term: 'saveBoost' }], potential: true, weight: 5 } } };

describe('EPIC and STARC between reward specs', () => {
  const transitions = randomTransitions(150, 11);
  const options = { canonicalSamples: 64 };

  it('EPIC(R, R + γΦ(s′) − Φ(s)) ≈ 0: potential shaping does not change the reward\'s meaning', () => {
    const d = rewardDistances(R, shaped, transitions, options);
    expect(d.epic).toBeLessThan(1e-6);
    expect(d.starc).toBeLessThan(1e-6);
  });

  it('EPIC(R, 3R) ≈ 0 and EPIC(R, −R) ≈ 1 (√((1 − ρ)/2) with ρ = ±1); STARC likewise', () => {
    expect(epic(R, scaled(3), transitions, options)).toBeLessThan(1e-6);
    expect(epic(R, scaled(-1), transitions, options)).toBeCloseTo(1, 6);
    expect(starc(R, scaled(3), transitions, options)).toBeLessThan(1e-6);
    expect(starc(R, scaled(-1), transitions, options)).toBeCloseTo(1, 6);
  });

  it('an unrelated reward lies strictly between', () => {
    const d = rewardDistances(R, { components: { boost: { term: 'saveBoost' } } }, transitions, options);
    expect(d.epic).toBeGreaterThan(0.2);
    expect(d.epic).toBeLessThan(0.95);
  });

  it('works on transitions sampled from a classic env, with observations as states', async () => {
    const sampled = await sampleTransitions(await makeEnv('Pendulum-v1'), { samples: 120, seed: 3 });
    const A = { gamma: 0.9, components: { cos: { term: 'observation', index: 0 }, speed: { term: 'observation', index: 2, power: 2, weight: -0.1 } } };
    const B = { gamma: 0.9, components: { ...A.components, phi: { term: 'observation', index: 1, potential: true, weight: 3 } } };
    expect(epic(A, B, sampled, options)).toBeLessThan(1e-6);
    expect(epic(A, { gamma: 0.9, components: { sin: { term: 'observation', index: 1 } } }, sampled, options)).toBeGreaterThan(0.1);
  });

  it('a spec with the env\'s native reward cannot be compared (the reward is unknown off the sampled transitions)', () => {
    expect(() => epic('native', R, transitions, options)).toThrow(/native/);
  });
});
