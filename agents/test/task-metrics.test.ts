import { describe, expect, it } from 'vitest';
import { train, type IterationMetrics } from '../src';

describe('task metrics and per-episode components in the iteration metrics', () => {
  it("CartPole with a two-term spec: the components' episode sums add up to the spec return, and length is the episode length", async () => {
    const its: IterationMetrics[] = [];
    // +1 per step (native) and −0.5 per step (constant): the spec pays 0.5 a step, the env's length is the task metric.
    const reward = { components: { alive: { term: 'native' }, cost: { term: 'constant', value: -0.5 } } };
    await train({ env: 'CartPole-v1', steps: 4096, seed: 0, reward, usePreset: false, numEnvs: 4, ppo: { numSteps: 256, minibatchSize: 256, epochs: 1 }, out: '/tmp/rewardlab-test-task-metrics', onIteration: (m) => void its.push(m) });
    const withEpisodes = its.filter((m) => m.iterationEpisodes > 0);
    expect(withEpisodes.length).toBeGreaterThan(0);
    for (const m of withEpisodes) {
      const { alive, cost } = m.episodeComponents;
      expect(alive! + cost!).toBeCloseTo(m.specReturn!, 6);
      // Every step pays alive = 1 and cost = −0.5, so an episode's sums are its length and −length / 2.
      expect(alive).toBeCloseTo(m.taskMetrics.length!, 6);
      expect(cost).toBeCloseTo(-m.taskMetrics.length! / 2, 6);
    }
  }, 120_000);
});
