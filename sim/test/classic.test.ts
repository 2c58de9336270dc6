import { describe, expect, it } from 'vitest';
import { CartPoleEnv, PendulumEnv, angleNormalize, checkEnv, makeEnv, EnvOptionsError, InvalidActionError, type StepResult } from '../src';

/** Gymnasium's CartPole step written out from its equations (cartpole.py), independently of the env. */
function cartPoleReference(s: [number, number, number, number], action: number): [number, number, number, number] {
  const g = 9.8, mc = 1.0, mp = 0.1, l = 0.5, fmag = 10.0, tau = 0.02;
  const [x, xd, th, thd] = s;
  const f = action === 1 ? fmag : -fmag;
  const temp = (f + mp * l * thd * thd * Math.sin(th)) / (mc + mp);
  const thacc = (g * Math.sin(th) - Math.cos(th) * temp) / (l * (4 / 3 - (mp * Math.cos(th) ** 2) / (mc + mp)));
  const xacc = temp - (mp * l * thacc * Math.cos(th)) / (mc + mp);
  return [x + tau * xd, xd + tau * xacc, th + tau * thd, thd + tau * thacc];
}

/** Gymnasium's Pendulum step from its equations (pendulum.py), g = 10. */
function pendulumReference(th: number, thd: number, u: number): { th: number; thd: number; reward: number } {
  const uc = Math.max(-2, Math.min(2, u));
  const norm = ((th + Math.PI) % (2 * Math.PI) + 2 * Math.PI) % (2 * Math.PI) - Math.PI;
  const cost = norm ** 2 + 0.1 * thd ** 2 + 0.001 * uc ** 2;
  let nthd = thd + ((3 * 10) / 2 * Math.sin(th) + 3 * uc) * 0.05;
  nthd = Math.max(-8, Math.min(8, nthd));
  return { th: th + nthd * 0.05, thd: nthd, reward: -cost };
}

describe('CartPole-v1', () => {
  const states: [number, number, number, number][] = [
    [0, 0, 0, 0],
    [0.01, -0.02, 0.03, 0.04],
    [1.2, 0.5, -0.1, 1.3],
    [-2.0, -1.5, 0.15, -2.2],
  ];
  for (const s of states) {
    for (const action of [0, 1]) {
      it(`matches Gymnasium's equations from ${JSON.stringify(s)} with action ${action}`, () => {
        const env = new CartPoleEnv();
        env.reset({ seed: 0 });
        env.state.set(s);
        const r = env.step(action) as StepResult;
        const expected = cartPoleReference(s, action);
        for (let i = 0; i < 4; i++) {
          expect(env.state[i]).toBeCloseTo(expected[i]!, 12);
          expect((r.obs as Float32Array)[i]).toBe(Math.fround(expected[i]!));
        }
      });
    }
  }

  it('terminates past |x| = 2.4 or |theta| = 12 degrees and pays 1 on the terminating step', () => {
    const env = new CartPoleEnv();
    env.reset({ seed: 1 });
    env.state.set([2.399, 1.0, 0, 0]); // x after the step: 2.399 + 0.02 = 2.419
    const r = env.step(1) as StepResult;
    expect(r.terminated).toBe(true);
    expect(r.reward).toBe(1);
    expect((env.step(1) as StepResult).reward).toBe(0); // stepping past termination pays nothing
    env.reset({ seed: 1 });
    const threshold = (12 * 2 * Math.PI) / 360;
    env.state.set([0, 0, threshold - 0.001, 0.0]);
    expect((env.step(0) as StepResult).terminated).toBe(false);
    env.state.set([0, 0, threshold - 0.001, 0.1]); // theta after: threshold + 0.001
    expect((env.step(0) as StepResult).terminated).toBe(true);
  });

  it('starts uniformly in [-0.05, 0.05]^4 and honours the low/high reset options', () => {
    const env = new CartPoleEnv();
    for (let seed = 0; seed < 50; seed++) {
      const obs = env.reset({ seed }).obs as Float32Array;
      for (const v of obs) expect(Math.abs(v)).toBeLessThanOrEqual(0.05);
    }
    const wide = env.reset({ seed: 3, options: { low: -0.2, high: -0.1 } }).obs as Float32Array;
    for (const v of wide) {
      expect(v).toBeGreaterThanOrEqual(Math.fround(-0.2));
      expect(v).toBeLessThan(-0.1);
    }
    expect(() => env.reset({ options: { low: 'small' } })).toThrow(/CartPole-v1: reset option low/);
    expect(() => env.reset({ options: { speed: 1 } })).toThrow(EnvOptionsError);
  });

  it('is truncated at 500 steps when made from the registry', async () => {
    const env = await makeEnv('CartPole-v1');
    await env.reset({ seed: 0 });
    const raw = (env as unknown as { unwrapped: CartPoleEnv }).unwrapped;
    let r: StepResult | undefined;
    for (let t = 0; t < 500; t++) {
      raw.state.fill(0); // keep it balanced so only the time limit can end the episode
      r = (await env.step(t % 2)) as StepResult;
      expect(r.truncated).toBe(t === 499);
    }
    expect(r!.terminated).toBe(false);
  });

  it('rejects invalid actions naming the env and the value', () => {
    const env = new CartPoleEnv();
    env.reset({ seed: 0 });
    expect(() => env.step(2)).toThrow(/CartPole-v1: invalid action 2: 2 is outside Discrete\(2\)/);
    expect(() => env.step(NaN)).toThrow(InvalidActionError);
    expect(() => env.step(0.5)).toThrow(/integer/);
  });

  it('passes checkEnv', async () => {
    const report = await checkEnv(await makeEnv('CartPole-v1'));
    expect(report.checks.length).toBeGreaterThan(5);
  });
});

describe('Pendulum-v1', () => {
  const cases: [number, number, number][] = [
    [0, 0, 0],
    [Math.PI, 0.5, 1.5],
    [-2.5, -7.9, -2],
    [4.0, 7.5, 2], // angle beyond pi: the cost uses the normalised angle; the speed clips at 8
    [0.3, -1, 0.7],
  ];
  for (const [th, thd, u] of cases) {
    it(`matches Gymnasium's equations from theta=${th.toFixed(2)}, thdot=${thd}, u=${u}`, () => {
      const env = new PendulumEnv();
      env.reset({ seed: 0 });
      env.state.set([th, thd]);
      const r = env.step(Float32Array.of(u)) as StepResult;
      const e = pendulumReference(th, thd, Math.fround(u));
      expect(env.state[0]).toBeCloseTo(e.th, 12);
      expect(env.state[1]).toBeCloseTo(e.thd, 12);
      expect(r.reward).toBeCloseTo(e.reward, 6);
      const obs = r.obs as Float32Array;
      expect(obs[0]).toBe(Math.fround(Math.cos(e.th)));
      expect(obs[1]).toBe(Math.fround(Math.sin(e.th)));
      expect(obs[2]).toBe(Math.fround(e.thd));
      expect(r.terminated).toBe(false);
    });
  }

  it('normalises angles like Python modulo', () => {
    expect(angleNormalize(0)).toBe(0);
    expect(angleNormalize(3 * Math.PI / 2)).toBeCloseTo(-Math.PI / 2, 12);
    expect(angleNormalize(-3 * Math.PI / 2)).toBeCloseTo(Math.PI / 2, 12);
    expect(angleNormalize(Math.PI)).toBeCloseTo(-Math.PI, 12);
  });

  it('starts with theta in [-pi, pi] and thdot in [-1, 1], and accepts x_init / y_init', () => {
    const env = new PendulumEnv();
    for (let seed = 0; seed < 50; seed++) {
      env.reset({ seed });
      expect(Math.abs(env.state[0]!)).toBeLessThanOrEqual(Math.PI);
      expect(Math.abs(env.state[1]!)).toBeLessThanOrEqual(1);
    }
    env.reset({ seed: 1, options: { x_init: 0.1, y_init: 0 } });
    expect(Math.abs(env.state[0]!)).toBeLessThanOrEqual(0.1);
    expect(env.state[1]).toBeCloseTo(0, 15);
    expect(() => env.reset({ options: { x_init: [1] } })).toThrow(/Pendulum-v1: reset option x_init/);
  });

  it('is truncated at 200 steps when made from the registry', async () => {
    const env = await makeEnv('Pendulum-v1');
    await env.reset({ seed: 0 });
    for (let t = 0; t < 200; t++) {
      const r = (await env.step(Float32Array.of(0))) as StepResult;
      expect(r.truncated).toBe(t === 199);
    }
  });

  it('rejects torques outside [-2, 2], NaN and the wrong length', () => {
    const env = new PendulumEnv();
    env.reset({ seed: 0 });
    expect(() => env.step(Float32Array.of(2.5))).toThrow(/Pendulum-v1: invalid action .*entry 0 = 2\.5 is outside \[-2, 2\]/);
    expect(() => env.step(Float32Array.of(NaN))).toThrow(/NaN/);
    expect(() => env.step(Float32Array.of(0, 0))).toThrow(/expected 1 numbers/);
  });

  it('passes checkEnv', async () => {
    await expect(checkEnv(await makeEnv('Pendulum-v1'))).resolves.toMatchObject({ envId: 'Pendulum-v1' });
  });
});
