import { describe, expect, it } from 'vitest';
import { taskMetricSpecs } from '@rewardlab/sim';
import { diagnoseRewardHacking } from '@rewardlab/rewards';
import { train, type IterationMetrics } from '../src';

/**
 * The reward-hacking alarm on two real CartPole runs that differ only in their reward spec (seed 0, 8,192
 * steps, learning rate 5e-4, the env's preset otherwise).
 * - Farmed: −1 per step plus 2·(pole angular velocity)². Swinging the pole pays more than the step costs,
 *   and the swing ends the episode sooner, so the return rises while the episode length (CartPole's task
 *   metric) falls.
 * - Honest: the env's own reward, +1 per step: the return is the length, both rise together.
 */
const FARMED = { components: { cost: { term: 'constant', value: -1 }, swing: { term: 'observation', index: 3, power: 2, scale: 2 } } };

async function iterations(reward: unknown, out: string): Promise<IterationMetrics[]> {
  const its: IterationMetrics[] = [];
  await train({ env: 'CartPole-v1', steps: 8192, seed: 0, reward, ppo: { learningRate: 5e-4 }, out, onIteration: (m) => void its.push(m) });
  return its;
}

describe('the reward-hacking alarm on trained runs', () => {
  it('fires on a reward made to be farmed, naming the farmed component', async () => {
    const d = diagnoseRewardHacking(await iterations(FARMED, '/tmp/rewardlab-test-alarm-farmed'), taskMetricSpecs('CartPole-v1'));
    expect(d.status).toBe('flagged');
    expect(d.specReturn!.t).toBeGreaterThanOrEqual(3);
    const length = d.metrics.find((m) => m.name === 'length')!;
    expect(length.verdict).toBe('falling');
    expect(length.late).toBeLessThan(length.early);
    expect(d.growingComponents[0]!.name).toBe('swing');
    expect(d.message).toMatch(/possible reward hacking.*length fell.*swing/);
  }, 180_000);

  it('stays quiet on the honest reward, whose return rises with the episode length', async () => {
    const d = diagnoseRewardHacking(await iterations('native', '/tmp/rewardlab-test-alarm-native'), taskMetricSpecs('CartPole-v1'));
    expect(d.status).toBe('ok');
    expect(d.specReturn!.t).toBeGreaterThanOrEqual(3);
    expect(d.metrics.find((m) => m.name === 'length')!.verdict).toBe('improving');
  }, 180_000);
});
