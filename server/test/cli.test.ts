import { describe, expect, it } from 'vitest';
import { registeredEnvIds } from '@rewardlab/sim';
import { rewardlab } from './cli-helpers';


describe('rewardlab CLI', () => {
  it('envs --json lists CartPole-v1 and Pendulum-v1 with their spaces on the last stdout line', () => {
    const r = rewardlab('envs', '--json');
    expect(r.code).toBe(0);
    const envs = (r.last as { envs: { id: string; observationSpace: unknown; actionSpace: unknown; maxEpisodeSteps: number }[] }).envs;
    const cart = envs.find((e) => e.id === 'CartPole-v1')!;
    expect(cart.actionSpace).toEqual({ kind: 'discrete', n: 2 });
    expect(cart.observationSpace).toMatchObject({ kind: 'box', shape: [4] });
    expect(cart.maxEpisodeSteps).toBe(500);
    const pend = envs.find((e) => e.id === 'Pendulum-v1')!;
    expect(pend.observationSpace).toEqual({ kind: 'box', shape: [3], low: [-1, -1, -8], high: [1, 1, 8] });
    expect(pend.actionSpace).toEqual({ kind: 'box', shape: [1], low: -2, high: 2 });
  });

  it('an unknown env id is one error line listing the registered ids, and a JSON error under --json', () => {
    const r = rewardlab('check-env', '--env', 'Cartpole', '--json');
    expect(r.code).toBe(1);
    const ids = registeredEnvIds().join(', ');
    expect(ids).toMatch(/^CartPole-v1, Pendulum-v1, carball-1v1, carball-2v2, carball-3v3/);
    expect(r.stderr.trim()).toBe(`rewardlab: error: unknown env id "Cartpole"; registered envs: ${ids}`);
    expect(r.last).toEqual({ error: { name: 'UnknownEnvError', message: `unknown env id "Cartpole"; registered envs: ${ids}` } });
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('bad arguments are usage errors, not crashes', () => {
    const r = rewardlab('bench', 'env', '--steps', 'many', '--json');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`argument 'many' is invalid. expected a positive integer, got "many"`);
    expect((r.last as { error: { name: string } }).error.name).toBe('UsageError');
    expect(rewardlab('frobnicate').code).not.toBe(0);
  });

  it('check-env reports the checks that passed', () => {
    const r = rewardlab('check-env', '--env', 'Pendulum-v1', '--json');
    expect(r.code).toBe(0);
    expect(r.last).toMatchObject({ ok: true, envId: 'Pendulum-v1', numAgents: 1 });
  });

  it('bench env prints steps per second and random-policy episode statistics as JSON', () => {
    const r = rewardlab('bench', 'env', '--env', 'CartPole-v1', '--num-envs', '4', '--steps', '2000', '--json');
    expect(r.code).toBe(0);
    const res = r.last as { steps: number; stepsPerSecond: number; episodes: number; meanEpisodeLength: number; meanEpisodeReturn: number };
    expect(res.steps).toBe(8000);
    expect(res.stepsPerSecond).toBeGreaterThan(0);
    // CartPole pays +1 per step, so the mean return equals the mean length; a random policy lasts ~22 steps.
    expect(res.meanEpisodeReturn).toBeCloseTo(res.meanEpisodeLength, 9);
    expect(res.meanEpisodeLength).toBeGreaterThan(10);
    expect(res.meanEpisodeLength).toBeLessThan(40);
  });
});
