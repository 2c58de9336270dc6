import { describe, expect, it } from 'vitest';
import { ballChaser, ballChaserControls, CarballVecEnv, checkVecEnv, createCarballEnv, LOOKUP_TABLE_SIZE, Rng, type VecEnv } from '../src';

describe('CarballVecEnv: many arenas in one Rapier world', () => {
  it('passes checkVecEnv (flat buffers, rows in the space, next-step autoreset with final observations)', async () => {
    // Short no-touch timeout so that random play ends episodes quickly.
    const vec = await CarballVecEnv.make(2, 3, { noTouchTimeoutSeconds: 2 });
    expect(vec.numSlots).toBe(12);
    expect(vec.obsSize).toBe(169);
    // checkVecEnv only uses the VecEnvLike members.
    const report = await checkVecEnv(vec as unknown as VecEnv, { maxSteps: 200 });
    expect(report.numAgents).toBe(4);
    await vec.close();
  });

  it('passes checkVecEnv in same-step autoreset mode with the continuous parser', async () => {
    const vec = await CarballVecEnv.make(1, 2, { noTouchTimeoutSeconds: 1, actionParser: 'continuous', autoreset: 'same-step' });
    await checkVecEnv(vec as unknown as VecEnv, { maxSteps: 200 });
    await vec.close();
  });

  it('is reproducible: the same seed and actions give the same observations bit for bit', async () => {
    const run = async (): Promise<Float32Array[]> => {
      const vec = await CarballVecEnv.make(1, 4, { noTouchTimeoutSeconds: 1 });
      const rng = new Rng(3);
      const actions = vec.createActionBuffer();
      const out = [(await vec.reset({ seed: 9 })).obs.slice()];
      for (let t = 0; t < 40; t++) {
        for (let s = 0; s < vec.numSlots; s++) actions[s] = rng.integer(LOOKUP_TABLE_SIZE);
        out.push((await vec.step(actions)).obs.slice());
      }
      await vec.close();
      return out;
    };
    const a = await run();
    const b = await run();
    a.forEach((o, t) => expect(Buffer.from(o.buffer).equals(Buffer.from(b[t]!.buffer))).toBe(true));
  });

  it('arena i of a seeded reset starts from the kickoff that a single env seeded with seed + i draws', async () => {
    const vec = await CarballVecEnv.make(2, 3);
    await vec.reset({ seed: 20 });
    const env = await createCarballEnv({ teamSize: 2 });
    for (let i = 0; i < 3; i++) {
      env.reset({ seed: 20 + i });
      expect(vec.getState(i)).toEqual(env.getState());
    }
    env.close();
    await vec.close();
  });

  it('names the env and slot of an invalid action and changes nothing', async () => {
    const vec = await CarballVecEnv.make(1, 2);
    await vec.reset({ seed: 0 });
    const before = JSON.stringify(vec.getState(1));
    const actions = vec.createActionBuffer();
    actions[3] = 90;
    await expect(vec.step(actions)).rejects.toThrow(/carball-1v1 \(vector env 1\), agent slot 1: invalid action 90/);
    expect(JSON.stringify(vec.getState(1))).toBe(before);
    await expect(vec.step(new Int32Array(3))).rejects.toThrow(/expected a flat array of 4 numbers/);
    await vec.close();
  });
});

describe('ball chaser', () => {
  it('returns a lookup action that drives at the ball', async () => {
    const env = await createCarballEnv({ teamSize: 1 });
    env.reset({ seed: 4 });
    const s = env.getState();
    const a = ballChaser(s, 0);
    expect(Number.isInteger(a) && a >= 0 && a < LOOKUP_TABLE_SIZE).toBe(true);
    expect(ballChaserControls(s, 0)[0]).toBe(1); // full throttle
    expect(() => ballChaser(s, 5)).toThrow(/no car with id 5/);
    env.close();
  });

  it('two chasers from a kickoff reach the ball within 5 seconds', async () => {
    const env = await createCarballEnv({ teamSize: 1 });
    env.reset({ seed: 1 });
    let touches = 0;
    for (let t = 0; t < 75 && touches === 0; t++) {
      const s = env.getState();
      const r = env.step(s.cars.map((c) => ballChaser(s, c.id)));
      touches += (r.info.agents as { events: { touch: number } }[]).reduce((n, a) => n + a.events.touch, 0);
    }
    expect(touches).toBeGreaterThan(0);
    env.close();
  });
});
