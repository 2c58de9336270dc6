import { describe, expect, it } from 'vitest';
import { parsePpoConfig, PPO_PRESETS } from '@rewardlab/agents';
import { runCli } from './cli-helpers';

describe('rewardlab bench train', () => {
  it('times the update against the same backend’s matmul, and training end to end with the env’s preset', () => {
    const r = runCli(['bench', 'train', '--env', 'CartPole-v1', '--backend', 'wasm', '--updates', '2', '--minibatch', '512', '--train-steps', '1024', '--json']);
    expect(r.code).toBe(0);
    const res = r.last as {
      backend: string; hiddenSizes: number[]; agentStepsPerSec: number; updateSamplesPerSec: number; updateMsPerMinibatch: number; updateGflops: number; matmulGflops: number; efficiency: number;
      e2e: { numEnvs: number; numSteps: number; minibatchSize: number; epochs: number; hiddenSizes: number[]; steps: number; seconds: number };
    };
    expect(res.backend).toBe('wasm');
    expect(res.hiddenSizes).toEqual([256, 256]);
    expect(res.updateSamplesPerSec).toBeCloseTo(512 / (res.updateMsPerMinibatch / 1000), 6);
    expect(res.efficiency).toBeCloseTo(res.updateGflops / res.matmulGflops, 10);
    // The end-to-end run is `rewardlab train` with CartPole's preset, timed after its first iteration.
    const preset = PPO_PRESETS['CartPole-v1']!;
    const config = parsePpoConfig(preset.ppo);
    expect(res.e2e).toMatchObject({ numEnvs: preset.numEnvs, numSteps: config.numSteps, minibatchSize: config.minibatchSize, epochs: config.epochs, hiddenSizes: config.hiddenSizes });
    expect(res.e2e.steps).toBeGreaterThanOrEqual(1024);
    expect(res.e2e.steps % (preset.numEnvs * config.numSteps)).toBe(0); // whole iterations
    expect(res.agentStepsPerSec).toBeCloseTo(res.e2e.steps / res.e2e.seconds, 6);
  }, 120_000);
});
