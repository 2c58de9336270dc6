import { describe, expect, it } from 'vitest';
import { CartPoleEnv, InvalidActionError, VecEnv, makeEnv } from '../src';
import { CountdownEnv, LineWalkers } from './fixtures';

describe('VecEnv', () => {
  it('lays out N envs x A agents in flat preallocated buffers, slot = env * A + agent', async () => {
    const vec = new VecEnv([new LineWalkers(), new LineWalkers()]);
    expect(vec.numSlots).toBe(4);
    const { obs } = await vec.reset({ seed: 5 });
    expect(obs).toBeInstanceOf(Float32Array);
    expect(obs.length).toBe(4 * 2);
    // Each env was reset with seed + i: rebuild env 1's observation from its own reset.
    const lone = new LineWalkers();
    const ref = lone.reset({ seed: 6 }).obs;
    expect(Array.from(obs.subarray(4, 8))).toEqual([...ref[0]!, ...ref[1]!]);
    const actions = vec.createActionBuffer();
    expect(actions).toBeInstanceOf(Int32Array);
    actions.set([2, 0, 1, 1]);
    const before = Array.from(obs);
    const r = await vec.step(actions);
    expect(r.obs).toBe(obs); // same buffer, refilled
    // walker positions move by action - 1; rewards are -|position|
    expect(r.obs[0]).toBe(before[0]! + 1);
    expect(r.obs[2]).toBe(before[2]! - 1);
    expect(r.rewards[0]).toBe(-Math.abs(before[0]! + 1));
    expect(r.rewards[1]).toBe(-Math.abs(before[2]! - 1));
  });

  it('next-step autoreset: the ending step shows the final obs, the next step resets with reward 0', async () => {
    const vec = new VecEnv([new CountdownEnv(), new CountdownEnv()]);
    await vec.reset({ seed: 0 });
    const actions = Int32Array.of(1, 0);
    let r = await vec.step(actions);
    for (let t = 1; t < 8; t++) r = await vec.step(actions);
    // Countdown episodes last 8 steps: both ended now.
    expect(Array.from(r.terminated)).toEqual([1, 1]);
    expect(r.info.episodes.map((e) => [e.env, e.length])).toEqual([[0, 8], [1, 8]]);
    expect(r.obs[1]).toBe(0); // steps left in the final observation
    expect(Array.from(r.info.finalObs)).toEqual(Array.from(r.obs));
    // The episode return is the sum of the step rewards.
    const env = new CountdownEnv();
    let value = (env.reset({ seed: 0 }).obs as Float32Array)[0]!;
    let ret = 0;
    for (let t = 0; t < 8; t++) ret += env.step(1).reward, value += 0.5;
    expect(r.info.episodes[0]!.return).toBeCloseTo(ret, 5);
    const next = await vec.step(Int32Array.of(7, 7)); // actions of resetting envs are ignored, even invalid ones
    expect(Array.from(next.info.autoreset)).toEqual([1, 1]);
    expect(Array.from(next.rewards)).toEqual([0, 0]);
    expect(Array.from(next.terminated)).toEqual([0, 0]);
    expect(next.obs[1]).toBe(8);
    const after = await vec.step(actions);
    expect(Array.from(after.info.autoreset)).toEqual([0, 0]);
    expect(after.obs[1]).toBe(7);
  });

  it('same-step autoreset: the ending step already shows the new episode; the final obs is in info', async () => {
    const vec = new VecEnv([new CountdownEnv()], { autoreset: 'same-step' });
    await vec.reset({ seed: 0 });
    let r = await vec.step(Int32Array.of(1));
    for (let t = 1; t < 8; t++) r = await vec.step(Int32Array.of(1));
    expect(r.terminated[0]).toBe(1);
    expect(r.info.finalObs[1]).toBe(0);
    expect(r.obs[1]).toBe(8);
    expect(r.info.episodes).toHaveLength(1);
    const next = await vec.step(Int32Array.of(1));
    expect(next.info.autoreset[0]).toBe(0);
    expect(next.obs[1]).toBe(7);
  });

  it('reports isSuccess from the final info per agent', async () => {
    const vec = new VecEnv([new LineWalkers(1)]);
    await vec.reset({ seed: 0 });
    const p0 = vec.obs[0]!;
    const p1 = vec.obs[2]!;
    const actions = Int32Array.of(1 - Math.sign(p0), 1); // agent 0 steps toward 0, agent 1 stays
    const r = await vec.step(actions);
    expect(r.info.episodes.map((e) => e.isSuccess)).toEqual([p0 - Math.sign(p0) === 0, p1 === 0]);
  });

  it('rejects a bad action before any env moves, naming the vector env, the slot and the value', async () => {
    const vec = await VecEnv.make('Pendulum-v1', 3);
    await vec.reset({ seed: 1 });
    const before = vec.obs.slice();
    const actions = Float32Array.of(0.1, 0.2, NaN);
    await expect(vec.step(actions)).rejects.toThrow('Pendulum-v1 (vector env 2), agent slot 0: invalid action Float32Array[NaN] (length 1): entry 0 is NaN, not a number');
    await expect(vec.step(Float32Array.of(0, 0))).rejects.toThrow(/expected 3 numbers \(3 envs × 1 agents × 1\), got 2/);
    await expect(vec.step(Float32Array.of(0, 3, 0))).rejects.toBeInstanceOf(InvalidActionError);
    expect(Array.from(vec.obs)).toEqual(Array.from(before));
  });

  it('steps like the single envs it holds (same seeds, same actions)', async () => {
    const vec = await VecEnv.make('CartPole-v1', 2);
    await vec.reset({ seed: 10 });
    const singles = [new CartPoleEnv(), new CartPoleEnv()];
    singles.forEach((e, i) => e.reset({ seed: 10 + i }));
    for (let t = 0; t < 5; t++) {
      const a = Int32Array.of(t % 2, (t + 1) % 2);
      await vec.step(a);
      singles.forEach((e, i) => {
        const obs = e.step(a[i]!).obs as Float32Array;
        expect(Array.from(vec.obs.subarray(i * 4, i * 4 + 4))).toEqual(Array.from(obs));
      });
    }
  });

  it('refuses dict observations and envs with different spaces', async () => {
    await expect(async () => new VecEnv([await makeEnv('CartPole-v1'), await makeEnv('Pendulum-v1')])).rejects.toThrow(/env 1 \(Pendulum-v1\) has different spaces/);
  });

  it('closes once and refuses to step after close', async () => {
    const vec = await VecEnv.make('CartPole-v1', 1);
    await vec.reset({ seed: 0 });
    await vec.close();
    await vec.close();
    await expect(vec.step(Int32Array.of(0))).rejects.toThrow(/closed/);
  });
});
