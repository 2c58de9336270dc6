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

  it('--spawn-workers: training over one and two sim workers against local training, medians and ratios in one JSON line', () => {
    const r = runCli(['bench', 'train', '--env', 'CartPole-v1', '--backend', 'wasm', '--spawn-workers', '2', '--num-envs', '8', '--rounds', '1', '--train-steps', '512', '--json']);
    expect(r.code).toBe(0);
    const res = r.last as {
      bench: string; numEnvs: number; workers: number; rounds: number; localStepsPerSec: number; oneWorkerStepsPerSec: number; allWorkersStepsPerSec: number; oneWorkerRatio: number; allWorkersSpeedup: number;
      rollout: { localStepsPerSec: number; oneWorkerStepsPerSec: number; allWorkersStepsPerSec: number; oneWorkerRatio: number; allWorkersSpeedup: number };
      updateShare: { local: number; one: number; all: number };
      samples: { local: number[]; one: number[]; all: number[] };
    };
    expect(res).toMatchObject({ bench: 'train-workers', numEnvs: 8, workers: 2, rounds: 1 });
    expect(res.samples.local).toEqual([res.localStepsPerSec]);
    expect(res.oneWorkerRatio).toBeCloseTo(res.oneWorkerStepsPerSec / res.localStepsPerSec, 10);
    expect(res.allWorkersSpeedup).toBeCloseTo(res.allWorkersStepsPerSec / res.oneWorkerStepsPerSec, 10);
    expect(res.rollout.allWorkersSpeedup).toBeCloseTo(res.rollout.allWorkersStepsPerSec / res.rollout.oneWorkerStepsPerSec, 10);
    // Rollouts alone are faster than whole iterations, and the updates take a share of the time.
    expect(res.rollout.localStepsPerSec).toBeGreaterThan(res.localStepsPerSec);
    for (const share of Object.values(res.updateShare)) expect(share).toBeGreaterThan(0), expect(share).toBeLessThan(1);
    expect(r.stderr).toMatch(/round 1\/1: local \d+ \(8 envs\), one worker \d+ \(8 envs\), 2 workers \d+ \(16 envs\)/);
  }, 300_000);

  it('--workers with an unresolvable name fails with the name in the message', () => {
    const r = runCli(['bench', 'train', '--env', 'CartPole-v1', '--workers', 'dns://no-such-worker.invalid:9100', '--json']);
    expect(r.code).toBe(1);
    expect((r.last as { error: { message: string } }).error.message).toMatch(/cannot resolve "no-such-worker\.invalid"/);
  }, 60_000);
});

