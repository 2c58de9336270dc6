/**
 * Learning checks against the RL Zoo anchors of REFERENCES.md §7 (fixed seeds; thresholds from the
 * issue): PPO reaches a CartPole-v1 mean return ≥ 475 within 100,000 steps (RL Zoo: 500 at 100k) and
 * a Pendulum-v1 mean return ≥ −250 within 300,000 steps (RL Zoo: −172 ± 104 at 100k, with gSDE).
 * finalMeanReturn is the mean undiscounted env return of the last 20 finished episodes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluate, selectBackend, train } from '../src';

const tmp = mkdtempSync(join(tmpdir(), 'rl-learning-'));

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('PPO learning anchors', () => {
  it('CartPole-v1: final mean return ≥ 475 within 100,000 steps, and the saved policy balances', async () => {
    const result = await train({ env: 'CartPole-v1', steps: 100_000, seed: 1, backend: 'wasm', out: join(tmp, 'cartpole') });
    expect(result.steps).toBeLessThanOrEqual(100_000 + 256); // the last rollout may end past the budget
    expect(result.finalMeanReturn).toBeGreaterThanOrEqual(475);
    const evaluation = await evaluate({ policy: result.policyDir, episodes: 5, seed: 3 });
    expect(evaluation.meanReturn).toBeGreaterThanOrEqual(475);
  }, 600_000);

  it('Pendulum-v1: final mean return ≥ −250 within 300,000 steps', async () => {
    const result = await train({ env: 'Pendulum-v1', steps: 300_000, seed: 0, backend: 'wasm', out: join(tmp, 'pendulum') });
    expect(result.steps).toBeLessThanOrEqual(300_000 + 4096);
    expect(result.finalMeanReturn).toBeGreaterThanOrEqual(-250);
  }, 1_200_000);
});
