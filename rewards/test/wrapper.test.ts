import { describe, expect, it } from 'vitest';
import { box, checkEnv, discrete, isMultiAgent, makeEnv, type Env, type MultiAgentEnv, type MultiAgentResetResult, type MultiAgentStepResult } from '@rewardlab/sim';
import { TERMS, withReward, type CarballState, type StateFunction } from '../src';
import { car, state } from './helpers';

/**
 * A scripted 1v1 stand-in for the carball env: the ball rolls toward orange's goal and blue scores on the
 * 4th step (terminated). It has what withReward reads: `getState()` and `info.agents[slot].events`.
 */
class ScriptedCarball implements MultiAgentEnv<number> {
  readonly id = 'scripted-carball';
  readonly agents = ['blue-0', 'orange-0'];
  readonly observationSpace = box([2], -1, 1);
  readonly actionSpace = discrete(3);
  private s: CarballState = this.initial();
  private t = 0;
  private initial(): CarballState {
    return state({ pos: [0, 1000, 93], vel: [0, 1500, 0] }, [car(0, [0, -1000, 17], [0, 1000, 0], Math.PI / 2, 40), car(1, [500, 3000, 17], [0, -800, 0], -Math.PI / 2, 70)]);
  }
  getState(): CarballState {
    return this.s; // reused and mutated: the wrapper must copy it
  }
  reset(): MultiAgentResetResult {
    this.s = this.initial();
    this.t = 0;
    return { obs: [new Float32Array(2), new Float32Array(2)], info: {} };
  }
  step(_actions: readonly number[]): MultiAgentStepResult {
    this.t += 1;
    this.s.ball.pos[1] += 1200;
    this.s.cars[0]!.pos[1] += 900;
    this.s.cars[0]!.boost -= 5;
    const goal = this.t === 4;
    const none = { goal: 0, teamGoal: 0, concede: 0, touch: 0, shot: 0, save: 0, demo: 0, demoed: 0, boostPickup: 0 };
    const blue = { ...none, touch: this.t === 2 ? 1 : 0, shot: this.t === 2 ? 1 : 0, goal: goal ? 1 : 0, teamGoal: goal ? 1 : 0 };
    const orange = { ...none, concede: goal ? 1 : 0 };
    return { obs: [new Float32Array(2), new Float32Array(2)], reward: goal ? [1, -1] : [0, 0], terminated: goal, truncated: false, info: { agents: [{ events: blue }, { events: orange }] } };
  }
  close(): void {}
}

const phi = (name: string, params: Record<string, unknown> = {}): StateFunction => TERMS[name]!.create((TERMS[name]!.params as { parse(x: unknown): never }).parse(params)) as StateFunction;

describe('withReward', () => {
  it('keeps the env\'s shape and sync-ness, and with `native` pays exactly the env\'s reward', async () => {
    const plain = await makeEnv<Env>('CartPole-v1');
    const wrapped = withReward(await makeEnv<Env>('CartPole-v1'), 'native');
    expect(wrapped.observationSpace).toEqual(plain.observationSpace);
    expect(wrapped.actionSpace).toEqual(plain.actionSpace);
    expect(isMultiAgent(wrapped)).toBe(false);
    plain.reset({ seed: 3 });
    const reset = wrapped.reset({ seed: 3 });
    expect(reset).not.toBeInstanceOf(Promise);
    for (let i = 0; i < 5; i++) {
      const a = plain.step(i % 2) as Awaited<ReturnType<Env['step']>>;
      const b = wrapped.step(i % 2) as Awaited<ReturnType<Env['step']>>;
      expect(b.reward).toBe(a.reward);
      expect(b.obs).toEqual(a.obs);
      expect(b.info.rewardComponents).toEqual({ native: [a.reward] });
    }
  });

  it('pays observation potentials on Pendulum as γ·Φ(s′) − Φ(s) beside the native reward', async () => {
    const env = withReward(await makeEnv<Env>('Pendulum-v1'), { gamma: 0.9, components: { native: { term: 'native' }, upright: { term: 'observation', index: 0, potential: true, weight: 2 } } });
    let prev = (env.reset({ seed: 1 }) as { obs: Float32Array }).obs;
    for (let i = 0; i < 3; i++) {
      const r = (await env.step(Float32Array.of(1))) as unknown as { obs: Float32Array; reward: number; info: { rewardComponents: Record<string, number[]> } };
      expect(r.info.rewardComponents.upright![0]).toBeCloseTo(2 * (0.9 * r.obs[0]! - prev[0]!), 6);
      expect(r.reward).toBeCloseTo(r.info.rewardComponents.native![0]! + r.info.rewardComponents.upright![0]!, 12);
      prev = r.obs;
    }
  });

  it('on a multi-agent carball env: per-slot rewards and components, potentials telescope to −Φ(s₀) with Φ(terminal) = 0', () => {
    const env = withReward(new ScriptedCarball(), { gamma: 1, components: { ballGoal: { term: 'ballGoalDistanceDifference', potential: true, weight: 2 }, shot: { term: 'event', shot: 1, weight: 1.5 } } });
    expect(env.agents).toEqual(['blue-0', 'orange-0']);
    env.reset();
    const s0 = new ScriptedCarball().getState();
    const returns = [0, 0];
    let r: MultiAgentStepResult;
    do {
      r = env.step([0, 0]) as MultiAgentStepResult;
      const c = r.info.rewardComponents as Record<string, number[]>;
      expect(c.ballGoal).toHaveLength(2);
      for (const i of [0, 1]) {
        expect(r.reward[i]).toBeCloseTo(c.ballGoal![i]! + c.shot![i]!, 12);
        returns[i]! += c.ballGoal![i]!;
      }
      if (c.shot![0]) expect(c.shot).toEqual([1.5, 0]);
    } while (!r.terminated);
    const f = phi('ballGoalDistanceDifference');
    for (const i of [0, 1]) expect(returns[i]).toBeCloseTo(-2 * f(s0, i), 9);
  });

  it('the lucy preset runs on carball: components sum to the total, team spirit makes goals zero-sum', () => {
    const env = withReward(new ScriptedCarball(), 'lucy');
    env.reset();
    let r: MultiAgentStepResult;
    do r = env.step([0, 0]) as MultiAgentStepResult;
    while (!r.terminated);
    const c = r.info.rewardComponents as Record<string, number[]>;
    expect(Object.keys(c)).toHaveLength(13);
    for (const i of [0, 1]) expect(r.reward[i]).toBeCloseTo(Object.values(c).reduce((acc, v) => acc + v[i]!, 0), 9);
    // Blue's team goal pays 10 and orange's concede −3; with τ = 0.3: r′ = 0.7·r + 0.3·mean(team) − mean(opponents).
    expect(c.goal).toEqual([expect.closeTo(10, 12), expect.closeTo(-10, 12)]);
    expect(c.concede).toEqual([expect.closeTo(3, 12), expect.closeTo(-3, 12)]);
  });
});

describe('withReward conformance', () => {
  it('a wrapped env passes the env checker (classic and carball)', async () => {
    await expect(checkEnv(withReward(await makeEnv('CartPole-v1'), { components: { native: { term: 'native' }, pole: { term: 'observation', index: 2, potential: true } } }))).resolves.toBeTruthy();
    await expect(checkEnv(withReward(await makeEnv('carball-1v1'), 'lucy'))).resolves.toBeTruthy();
  });
});

describe('withReward on the carball env', () => {
  it('a goal pays the lucy goal and concede components from the env\'s events, zero-sum under team spirit', async () => {
    const env = withReward(await makeEnv<MultiAgentEnv>('carball-1v1'), 'lucy');
    env.reset({ seed: 1 });
    const raw = (env as unknown as { unwrapped: { getState(): CarballState; setState(s: CarballState): void } }).unwrapped;
    const s = raw.getState();
    s.ball.pos = [0, 4900, 93.15];
    s.ball.vel = [0, 3000, 0]; // into orange's goal within a few steps
    raw.setState(s);
    let r: MultiAgentStepResult;
    let steps = 0;
    do r = (await env.step([0, 0])) as MultiAgentStepResult;
    while (!r.terminated && ++steps < 10);
    expect(r.terminated).toBe(true);
    const c = r.info.rewardComponents as Record<string, number[]>;
    expect(c.goal).toEqual([expect.closeTo(10, 9), expect.closeTo(-10, 9)]);
    expect(c.concede).toEqual([expect.closeTo(3, 9), expect.closeTo(-3, 9)]);
  });
});

describe('withReward snapshots', () => {
  it('a restored env pays the same shaped rewards as the original (the previous state travels in the snapshot)', async () => {
    const spec = { gamma: 0.9, components: { native: { term: 'native' }, phi: { term: 'observation', index: 1, potential: true } } };
    const a = withReward(await makeEnv<Env>('Pendulum-v1'), spec);
    a.reset({ seed: 5 });
    await a.step(Float32Array.of(0.5));
    const snap = JSON.parse(JSON.stringify((a as unknown as { getSnapshot(): unknown }).getSnapshot()));
    const b = withReward(await makeEnv<Env>('Pendulum-v1'), spec);
    b.reset({ seed: 99 });
    (b as unknown as { setSnapshot(s: unknown): void }).setSnapshot(snap);
    const ra = await a.step(Float32Array.of(-1));
    const rb = await b.step(Float32Array.of(-1));
    expect(rb.reward).toBe(ra.reward);
    expect(rb.info.rewardComponents).toEqual(ra.info.rewardComponents);
  });
});
