import { describe, expect, it } from 'vitest';
import { ballChaser, ballChaserControls, CARBALL_EVENT_NAMES, CarballVecEnv, checkEnv, checkVecEnv, createCarballEnv, LOOKUP_TABLE_SIZE, nearestLookupAction, Rng } from '../src';
import { carAt, controls, IDLE } from './carball-helpers';

describe('CarballVecEnv: many arenas in one Rapier world', () => {
  it('passes checkVecEnv (flat buffers, rows in the space, next-step autoreset with final observations)', async () => {
    // Short no-touch timeout so that random play ends episodes quickly.
    const vec = await CarballVecEnv.make(2, 3, { noTouchTimeoutSeconds: 2 });
    expect(vec.numSlots).toBe(12);
    expect(vec.obsSize).toBe(169);
    const report = await checkVecEnv(vec, { maxSteps: 200 });
    expect(report.numAgents).toBe(4);
    await vec.close();
  });

  it('passes checkVecEnv in same-step autoreset mode with the continuous parser', async () => {
    const vec = await CarballVecEnv.make(1, 2, { noTouchTimeoutSeconds: 1, actionParser: 'continuous', autoreset: 'same-step' });
    await checkVecEnv(vec, { maxSteps: 200 });
    await vec.close();
  });

  it("in same-step mode the ending step's events and score are in info.final, as next-step mode reports them on that step", async () => {
    // Team 0 drives straight with boost, team 1 chases the ball: with seed 3, team 1 scores on step 67.
    const ending = async (autoreset: 'same-step' | 'next-step') => {
      const vec = await CarballVecEnv.make(1, 1, { autoreset, noTouchTimeoutSeconds: 4, timeoutSeconds: 8 });
      await vec.reset({ seed: 3 });
      const actions = vec.createActionBuffer();
      for (let t = 1; t <= 200; t++) {
        const state = vec.getState(0);
        actions[0] = nearestLookupAction([1, 0, 0, 0, 0, 0, 1, 0]);
        actions[1] = ballChaser(state, state.cars[1]!.id);
        const r = await vec.step(actions);
        if (r.terminated[0]) {
          const info = JSON.parse(JSON.stringify(r.info.envInfos[0])) as { agents: { events: Record<string, number> }[]; score: number[]; final?: { agents: { events: Record<string, number> }[]; score: number[] } };
          await vec.close();
          return { t, info };
        }
      }
      throw new Error('no goal within 200 steps');
    };
    const same = await ending('same-step');
    const next = await ending('next-step');
    expect(same.t).toBe(67);
    expect(next.t).toBe(67);
    expect(next.info.agents[1]!.events.teamGoal).toBe(1);
    expect(next.info.agents[0]!.events.concede).toBe(1);
    expect(next.info.score).toEqual([0, 1]);
    expect(next.info.final).toBeUndefined();
    expect(same.info.final!.agents).toEqual(next.info.agents);
    expect(same.info.final!.score).toEqual([0, 1]);
    // the info itself describes the new episode's first state: no events yet
    expect(same.info.agents.every((a) => Object.values(a.events).every((v) => v === 0))).toBe(true);
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

  it('reports events per slot both as info objects and as one flat array', async () => {
    const vec = await CarballVecEnv.make(1, 2);
    await vec.reset({ seed: 0 });
    const actions = vec.createActionBuffer();
    let sawTouch = false;
    for (let t = 0; t < 60 && !sawTouch; t++) {
      for (let i = 0; i < vec.numEnvs; i++) {
        const s = vec.getState(i);
        for (let a = 0; a < vec.numAgents; a++) actions[i * vec.numAgents + a] = ballChaser(s, a);
      }
      const r = await vec.step(actions);
      for (let slot = 0; slot < vec.numSlots; slot++) {
        const info = (r.info.envInfos[Math.floor(slot / vec.numAgents)] as { agents: { events: Record<string, number> }[] }).agents[slot % vec.numAgents]!.events;
        CARBALL_EVENT_NAMES.forEach((name, k) => expect(vec.events[slot * CARBALL_EVENT_NAMES.length + k]).toBe(info[name]));
        if (info.touch! > 0) sawTouch = true;
      }
    }
    expect(sawTouch).toBe(true);
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

/** Ball height and car position over 2 s of a ball drop and a straight drive, on one Rapier build. */
export async function carballEnvForBuild(rapier: 'simd' | 'compat'): Promise<number[]> {
  const env = await createCarballEnv({ rapier, actionParser: 'continuous', noTouchTimeoutSeconds: 0 });
  env.reset({ seed: 0 });
  env.setState({ tick: 0, score: [0, 0], ball: { pos: [0, 0, 800], vel: [0, 0, 0], angVel: [0, 0, 0] }, cars: [carAt(0, 0, -2500, -4000, Math.PI / 2, { boost: 50 }), carAt(1, 1, 3000, 3000, 0)] });
  const out: number[] = [];
  for (let t = 0; t < 30; t++) {
    env.step([controls({ throttle: 1, boost: t < 10 ? 1 : 0 }), IDLE]);
    const s = env.getState();
    out.push(s.ball.pos[2], ...s.cars[0]!.pos);
  }
  env.close();
  return out;
}

describe('Rapier builds', () => {
  it('the SIMD and plain builds agree on a ball drop and a drive to float32 precision', async () => {
    const trace = async (rapier: 'simd' | 'compat'): Promise<number[]> => carballEnvForBuild(rapier);
    const simd = await trace('simd');
    const compat = await trace('compat');
    expect(simd.length).toBe(compat.length);
    simd.forEach((x, i) => expect(Math.abs(x - compat[i]!)).toBeLessThan(0.01));
  });
});

describe('state setters', () => {
  it('reset options choose the state: a custom state, or the random setter', async () => {
    const env = await createCarballEnv({ teamSize: 1 });
    const custom = {
      tick: 0,
      score: [2, 1] as [number, number],
      ball: { pos: [100, 200, 300] as [number, number, number], vel: [0, 0, 0] as [number, number, number], angVel: [0, 0, 0] as [number, number, number] },
      cars: [carAt(0, 0, -1000, 0, 0), carAt(1, 1, 1000, 0, Math.PI)],
    };
    env.reset({ seed: 0, options: { state: custom } });
    expect(env.getState()).toMatchObject({ score: [2, 1], ball: { pos: [100, 200, 300] } });
    env.reset({ seed: 0, options: { stateSetter: 'random' } });
    const random = env.getState();
    expect(random.ball.pos[2]).toBeGreaterThan(90);
    env.reset({ seed: 0 });
    expect(env.getState().ball.pos).toEqual([0, 0, 93.15]);
    expect(random.ball.pos).not.toEqual([0, 0, 93.15]);
    expect(() => env.reset({ options: { state: { ...custom, cars: [] } } })).toThrow(/cars must hold 2 cars/);
    env.close();
  });

  it('a custom setter function builds each episode from the env RNG, and checkEnv passes with the random setter', async () => {
    const env = await createCarballEnv({
      teamSize: 1,
      stateSetter: (rng) => ({ tick: 0, score: [0, 0], ball: { pos: [rng.uniform(-1000, 1000), 0, 500], vel: [0, 0, 0], angVel: [0, 0, 0] }, cars: [carAt(0, 0, -1000, 0, 0), carAt(1, 1, 1000, 0, Math.PI)] }),
    });
    env.reset({ seed: 1 });
    const x1 = env.getState().ball.pos[0];
    env.reset({ seed: 1 });
    expect(env.getState().ball.pos[0]).toBe(x1);
    env.reset({ seed: 2 });
    expect(env.getState().ball.pos[0]).not.toBe(x1);
    env.close();
    await checkEnv(await createCarballEnv({ teamSize: 2, stateSetter: 'random' }), { steps: 20 });
  });

  it('the ground setter puts the ball and every car on the floor, apart; kickoff-like moves cars off their spawns; shot puts a car behind the ball; a mixture draws its setters by weight', async () => {
    const env = await createCarballEnv({ teamSize: 2, stateSetter: 'ground' });
    for (let seed = 0; seed < 20; seed++) {
      env.reset({ seed });
      const s = env.getState();
      expect(s.ball.pos[2]).toBeCloseTo(93.15, 2);
      expect(s.ball.vel[2]).toBe(0);
      for (const car of s.cars) {
        expect(car.onGround).toBe(true);
        expect(Math.hypot(car.pos[0] - s.ball.pos[0], car.pos[1] - s.ball.pos[1])).toBeGreaterThanOrEqual(500);
      }
    }
    env.close();
    // kickoff-like: the ball at rest in the centre, each car within 600 uu (x, y) and 0.5 rad of a kickoff spawn of its team
    const like = await createCarballEnv({ teamSize: 2, stateSetter: 'kickoff-like' });
    const spawns = [[-2048, -2560, Math.PI / 4], [2048, -2560, (3 * Math.PI) / 4], [-256, -3840, Math.PI / 2], [256, -3840, Math.PI / 2], [0, -4608, Math.PI / 2]];
    const positions = new Set<string>();
    for (let seed = 0; seed < 20; seed++) {
      like.reset({ seed });
      const s = like.getState();
      expect(s.ball.pos).toEqual([0, 0, 93.15]);
      for (const car of s.cars) {
        const sign = car.team === 0 ? 1 : -1;
        const yaw = 2 * Math.atan2(car.quat[2], car.quat[3]);
        const near = spawns.some(([x, y, spawnYaw]) => {
          const dYaw = Math.atan2(Math.sin(yaw - spawnYaw! - (car.team === 0 ? 0 : Math.PI)), Math.cos(yaw - spawnYaw! - (car.team === 0 ? 0 : Math.PI)));
          return Math.abs(car.pos[0] - sign * x!) <= 600 && Math.abs(car.pos[1] - sign * y!) <= 600 && Math.abs(dYaw) <= 0.5 + 1e-9;
        });
        expect(near).toBe(true);
        expect(Math.abs(car.pos[1])).toBeLessThanOrEqual(4800);
        positions.add(car.pos.map((v) => v.toFixed(3)).join());
      }
    }
    like.close();
    expect(positions.size).toBe(80);
    // shot: the ball at rest; the first car of a random team within 3000 uu behind it, facing it (±0.4 rad)
    const shot = await createCarballEnv({ teamSize: 2, stateSetter: 'shot' });
    const attackers = new Set<number>();
    for (let seed = 0; seed < 30; seed++) {
      shot.reset({ seed });
      const s = shot.getState();
      expect(s.ball.vel).toEqual([0, 0, 0]);
      const shooters = [s.cars[0]!, s.cars[2]!].filter((car) => {
        const yaw = 2 * Math.atan2(car.quat[2], car.quat[3]);
        const toBall = Math.atan2(s.ball.pos[1] - car.pos[1], s.ball.pos[0] - car.pos[0]);
        const off = Math.abs(Math.atan2(Math.sin(yaw - toBall), Math.cos(yaw - toBall)));
        const dist = Math.hypot(s.ball.pos[0] - car.pos[0], s.ball.pos[1] - car.pos[1]);
        // behind: farther than the ball from the goal the car's team attacks (team 0 attacks +y)
        const goalY = car.team === 0 ? 5120 : -5120;
        return off <= 0.4 + 1e-9 && dist <= 3000 && Math.hypot(car.pos[0], goalY - car.pos[1]) > Math.hypot(s.ball.pos[0], goalY - s.ball.pos[1]);
      });
      expect(shooters.length).toBeGreaterThanOrEqual(1);
      for (const t of shooters) attackers.add(t.team);
    }
    shot.close();
    expect([...attackers].sort()).toEqual([0, 1]);
    // kickoff : ground = 1 : 3, drawn per reset; a kickoff is the only setter that leaves the ball at the centre
    const mixed = await createCarballEnv({ teamSize: 1, stateSetter: { mixture: [{ setter: 'kickoff', weight: 1 }, { setter: 'ground', weight: 3 }, { setter: 'random', weight: 0 }] } });
    let kickoffs = 0;
    mixed.reset({ seed: 3 });
    for (let episode = 0; episode < 400; episode++) {
      if (mixed.getState().ball.pos[0] === 0 && mixed.getState().ball.pos[1] === 0) kickoffs += 1;
      mixed.reset();
    }
    mixed.close();
    // binomial(400, 1/4): mean 100, sd 8.7
    expect(kickoffs).toBeGreaterThan(100 - 4 * 8.7);
    expect(kickoffs).toBeLessThan(100 + 4 * 8.7);
    await expect(createCarballEnv({ teamSize: 1, stateSetter: { mixture: [{ setter: 'kickoff', weight: 0 }] } })).rejects.toThrow(/stateSetter/);
    await expect(createCarballEnv({ teamSize: 1, stateSetter: { mixture: [{ setter: 'kickof' as never, weight: 1 }] } })).rejects.toThrow(/stateSetter/);
  });
});

describe('snapshots (exact resume)', () => {
  it('an env restored from a JSON snapshot continues bit for bit', async () => {
    const actions = (t: number): number[] => [(t * 7) % LOOKUP_TABLE_SIZE, (t * 13 + 5) % LOOKUP_TABLE_SIZE, (t * 3 + 1) % LOOKUP_TABLE_SIZE, (t * 11 + 2) % LOOKUP_TABLE_SIZE];
    const env = await createCarballEnv({ teamSize: 2 });
    env.reset({ seed: 5 });
    for (let t = 0; t < 30; t++) env.step(actions(t));
    const snap = JSON.parse(JSON.stringify(env.getSnapshot()));
    const original: string[] = [];
    for (let t = 30; t < 60; t++) original.push(JSON.stringify(env.step(actions(t)).obs.map((o) => Array.from(o as Float32Array))), JSON.stringify(env.getState()));
    const copy = await createCarballEnv({ teamSize: 2 });
    copy.setSnapshot(snap);
    const resumed: string[] = [];
    for (let t = 30; t < 60; t++) resumed.push(JSON.stringify(copy.step(actions(t)).obs.map((o) => Array.from(o as Float32Array))), JSON.stringify(copy.getState()));
    expect(resumed).toEqual(original);
    env.close();
    copy.close();
  });

  it('a CarballVecEnv restored from a snapshot continues bit for bit, autoresets included', async () => {
    const make = (): Promise<CarballVecEnv> => CarballVecEnv.make(1, 3, { noTouchTimeoutSeconds: 1 });
    const vec = await make();
    await vec.reset({ seed: 1 });
    const actions = vec.createActionBuffer();
    const fill = (t: number): void => {
      for (let s = 0; s < vec.numSlots; s++) actions[s] = (t * 17 + s * 5) % LOOKUP_TABLE_SIZE;
    };
    for (let t = 0; t < 20; t++) {
      fill(t);
      await vec.step(actions);
    }
    const snap = JSON.parse(JSON.stringify(vec.getSnapshot()));
    const run = async (v: CarballVecEnv): Promise<number[][]> => {
      const out: number[][] = [];
      for (let t = 20; t < 50; t++) {
        fill(t);
        const r = await v.step(actions);
        out.push([...r.obs, ...r.rewards, ...r.terminated, ...r.truncated]);
      }
      return out;
    };
    const original = await run(vec);
    const copy = await make();
    copy.setSnapshot(snap);
    expect(await run(copy)).toEqual(original);
    await vec.close();
    await copy.close();
  });
});

describe('robustness', () => {
  it('a minute of 3v3 (chasers against random play) keeps every body finite and inside the arena', async () => {
    const env = await createCarballEnv({ teamSize: 3, terminateOnGoal: false, noTouchTimeoutSeconds: 0 });
    env.reset({ seed: 7 });
    const rng = new Rng(1);
    const inside = (p: readonly number[], r: number): boolean =>
      p.every(Number.isFinite) && Math.abs(p[0]!) <= 4096 - r + 5 && Math.abs(p[1]!) <= 6000 - r + 5 && p[2]! >= r - 5 && p[2]! <= 2044 - r + 5 && Math.abs(p[0]!) + Math.abs(p[1]!) <= 4096 + 5120 - 1152 + 5;
    let touches = 0;
    for (let t = 0; t < 60 * 15; t++) {
      const s = env.getState();
      const r = env.step(s.cars.map((c) => (c.team === 0 ? ballChaser(s, c.id) : rng.integer(LOOKUP_TABLE_SIZE))));
      touches += (r.info.agents as { events: { touch: number } }[]).reduce((n, a) => n + a.events.touch, 0);
      const next = env.getState();
      expect(inside(next.ball.pos, 91.25)).toBe(true);
      for (const car of next.cars) if (!car.demolished) expect(inside(car.pos, 0)).toBe(true);
    }
    expect(touches).toBeGreaterThan(5);
    env.close();
  });
});
