/**
 * The reach learning target of issue 10: PPO with the dense reward (−distance to the goal) reaches
 * ≥ 90 % success (grip point within 0.05 m of the goal at the end of an episode, Fetch's criterion)
 * on `reach` within 500k steps, with a fixed seed. finalSuccessRate is the share of successes among
 * the last 20 finished episodes. The hyperparameters are passed explicitly (the `reach` preset).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend, train } from '../src';

const tmp = mkdtempSync(join(tmpdir(), 'rl-manipulation-'));

/** Short rollouts over 16 arms, observation normalisation and a short horizon: reach is a 50-step, dense-reward task. */
const REACH_PPO = {
  numSteps: 64,
  minibatchSize: 256,
  epochs: 5,
  learningRate: 1e-3,
  gamma: 0.95,
  gaeLambda: 0.95,
  normalizeObservation: true,
  logStdInit: -0.5,
  hiddenSizes: [64, 64],
};
const STEPS = 100_000;

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('PPO on the manipulation envs', () => {
  it('reach (dense reward): ≥ 90 % success within 500k steps', async () => {
    const result = await train({ env: 'reach', envOptions: { reward: 'dense' }, steps: STEPS, seed: 0, numEnvs: 16, backend: 'wasm', usePreset: false, ppo: REACH_PPO, out: join(tmp, 'reach') });
    expect(result.steps).toBeLessThanOrEqual(500_000);
    expect(result.finalSuccessRate).toBeGreaterThanOrEqual(0.9);
  }, 900_000);
});
