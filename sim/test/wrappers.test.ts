import { describe, expect, it } from 'vitest';
import { dict, box, discrete, RescaleAction, FlattenObservation, NormalizeObservation, RecordEpisodeStatistics, RepeatAction, RunningMeanStd, TimeLimit, wrap, type Env, type StepResult, type EpisodeStatistics, PendulumEnv } from '../src';
import { CountdownEnv, LineWalkers } from './fixtures';

describe('wrappers', () => {
  it('TimeLimit truncates after maxEpisodeSteps and restarts the count on reset', () => {
    const env = new TimeLimit(new CountdownEnv(), 3);
    env.reset({ seed: 0 });
    const flags = [0, 1, 2].map(() => (env.step(1) as StepResult).truncated);
    expect(flags).toEqual([false, false, true]);
    env.reset();
    expect((env.step(1) as StepResult).truncated).toBe(false);
  });

  it('RecordEpisodeStatistics reports the undiscounted return and length when the episode ends', () => {
    const env = new RecordEpisodeStatistics(new CountdownEnv());
    env.reset({ seed: 3 });
    let sum = 0;
    let last: StepResult | undefined;
    for (let t = 0; t < 8; t++) {
      last = env.step(t % 2) as StepResult;
      sum += last.reward;
      if (t < 7) expect(last.info.episode).toBeUndefined();
    }
    const ep = last!.info.episode as EpisodeStatistics;
    expect(ep.length).toBe(8);
    expect(ep.return).toBeCloseTo(sum, 12);
  });

  it('RecordEpisodeStatistics keeps one return per agent slot in multi-agent envs', () => {
    const env = new RecordEpisodeStatistics(new LineWalkers(2));
    env.reset({ seed: 1 });
    const r1 = env.step([1, 1]) as unknown as { reward: number[] };
    const r2 = env.step([1, 1]) as unknown as { reward: number[]; info: { episode: EpisodeStatistics } };
    expect(r2.info.episode.return).toEqual([r1.reward[0]! + r2.reward[0]!, r1.reward[1]! + r2.reward[1]!]);
  });

  it('NormalizeObservation keeps running statistics equal to the sample mean and variance', () => {
    const env = new NormalizeObservation(new PendulumEnv());
    const seen: Float32Array[] = [];
    const raw = (env.env as PendulumEnv);
    const record = (): void => {
      const th = raw.state[0]!;
      seen.push(Float32Array.of(Math.cos(th), Math.sin(th), raw.state[1]!));
    };
    env.reset({ seed: 2 });
    record();
    for (let t = 0; t < 30; t++) {
      env.step(Float32Array.of(Math.sin(t)));
      record();
    }
    for (let i = 0; i < 3; i++) {
      const xs = seen.map((o) => o[i]!);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
      // count starts at 1e-4 (a prior of mean 0, variance 1), so agreement is to about 1e-5
      expect(env.stats.mean[i]).toBeCloseTo(mean, 4);
      expect(env.stats.var[i]).toBeCloseTo(variance, 4);
    }
    expect(env.observationSpace.kind).toBe('box');
  });

  it('RunningMeanStd batch updates agree with one-at-a-time updates and survive JSON', () => {
    const a = new RunningMeanStd(2);
    const b = new RunningMeanStd(2);
    const data = [1, 2, 3, 5, -1, 4, 0.5, 0.25];
    a.update(data, 4);
    for (let r = 0; r < 4; r++) b.update(data.slice(r * 2, r * 2 + 2), 1);
    for (let i = 0; i < 2; i++) {
      expect(a.mean[i]).toBeCloseTo(b.mean[i]!, 10);
      expect(a.var[i]).toBeCloseTo(b.var[i]!, 10);
    }
    expect(RunningMeanStd.fromJSON(JSON.parse(JSON.stringify(a))).mean).toEqual(a.mean);
  });

  it('FlattenObservation turns a dict observation into one vector (one-hot for discrete parts)', () => {
    const inner: Env<number> = {
      id: 'DictObs-test',
      observationSpace: dict({ pos: box([2], -1, 1), mode: discrete(3) }),
      actionSpace: discrete(2),
      reset: () => ({ obs: { pos: Float32Array.of(0.5, -0.5), mode: 2 as unknown as Float32Array }, info: {} }),
      step: () => ({ obs: { pos: Float32Array.of(0.1, 0.2), mode: 0 as unknown as Float32Array }, reward: 0, terminated: false, truncated: false, info: {} }),
      close: () => {},
    };
    const env = new FlattenObservation(inner);
    expect(env.observationSpace).toEqual({ kind: 'box', shape: [5], low: [-1, -1, 0, 0, 0], high: [1, 1, 1, 1, 1] });
    expect(Array.from((env.reset() as { obs: Float32Array }).obs)).toEqual([0.5, -0.5, 0, 0, 1]);
    expect(Array.from((env.step(0) as StepResult).obs as Float32Array).map((v) => Math.round(v * 10) / 10)).toEqual([0.1, 0.2, 1, 0, 0]);
  });

  it('RepeatAction sums rewards over the repeats and stops at the end of the episode', () => {
    const env = new RepeatAction(new CountdownEnv(), 3);
    const ref = new CountdownEnv();
    env.reset({ seed: 4 });
    ref.reset({ seed: 4 });
    const r = env.step(1) as StepResult;
    const expected = [0, 1, 2].reduce((s) => s + (ref.step(1) as StepResult).reward, 0);
    expect(r.reward).toBeCloseTo(expected, 12);
    expect((r.obs as Float32Array)[1]).toBe(5);
    env.step(1); // 2 left
    const last = env.step(1) as StepResult; // only 2 steps remain: stops at termination
    expect(last.terminated).toBe(true);
    expect((last.obs as Float32Array)[1]).toBe(0);
  });

  it('wrappers stay synchronous over synchronous envs and pass promises through', async () => {
    const env = new TimeLimit(new CountdownEnv(), 10);
    expect(env.reset({ seed: 0 })).not.toBeInstanceOf(Promise);
    const asyncInner = new CountdownEnv();
    const asyncEnv: Env<number> = {
      id: asyncInner.id,
      observationSpace: asyncInner.observationSpace,
      actionSpace: asyncInner.actionSpace,
      reset: async (p) => asyncInner.reset(p),
      step: async (a) => asyncInner.step(a),
      close: () => asyncInner.close(),
    };
    const wrapped = wrap.repeatAction(wrap.timeLimit(asyncEnv, 2), 5);
    await wrapped.reset({ seed: 0 });
    const r = await wrapped.step(1);
    expect(r.truncated).toBe(true);
  });
});

describe('RescaleAction', () => {
  it('maps [-1, 1] linearly onto the env bounds and rejects actions outside [-1, 1]', () => {
    const env = new RescaleAction(new PendulumEnv(), -1, 1);
    expect(env.actionSpace).toEqual({ kind: 'box', shape: [1], low: -1, high: 1 });
    const ref = new PendulumEnv();
    env.reset({ seed: 5 });
    ref.reset({ seed: 5 });
    const a = (env.step(Float32Array.of(0.25)) as StepResult).obs as Float32Array;
    const b = (ref.step(Float32Array.of(0.5)) as StepResult).obs as Float32Array; // -2 + (0.25 + 1) / 2 · 4 = 0.5
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(() => env.step(Float32Array.of(1.5))).toThrow(/Pendulum-v1: invalid action .*outside \[-1, 1\]/);
  });
});
