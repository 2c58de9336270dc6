import { describe, expect, it } from 'vitest';
import { checkEnv, LOOKUP_TABLE, LOOKUP_TABLE_SIZE, makeEnv, Rng, sampleSpace, type CarballEnv, type CarballState, type MultiAgentEnv } from '../src';
import { BALL_RADIUS, carAt, carballEnv, controls, IDLE, quietState, REST_Z, speedOf } from './carball-helpers';

// Constants of REFERENCES.md §1, restated here so the tests check the env against the reference.
const TICKS_PER_SECOND = 120;
const ACTION_REPEAT = 8;
const STEP_SECONDS = ACTION_REPEAT / TICKS_PER_SECOND;
const GRAVITY = 650;
const BALL_RESTITUTION = 0.6;
const BALL_DRAG = 0.03;
const CAR_MAX_SPEED = 2300;
const SUPERSONIC = 2200;
const BOOST_PER_SECOND = 33.3;
const THROTTLE_TOP_SPEED = 1410;
const BACK_WALL_Y = 5120;
const BALL_REST_Z = 93.15;
const KICKOFFS: [number, number, number][] = [
  [-2048, -2560, Math.PI / 4],
  [2048, -2560, (3 * Math.PI) / 4],
  [-256, -3840, Math.PI / 2],
  [256, -3840, Math.PI / 2],
  [0, -4608, Math.PI / 2],
];

const yawOf = (q: readonly number[]): number => Math.atan2(2 * (q[0]! * q[1]! + q[3]! * q[2]!), 1 - 2 * (q[1]! * q[1]! + q[2]! * q[2]!));
const angleDiff = (a: number, b: number): number => Math.abs(Math.atan2(Math.sin(a - b), Math.cos(a - b)));

describe('carball: registration and the env contract', () => {
  it.each([1, 2, 3])('carball with teams of %d passes checkEnv', async (n) => {
    const env = await makeEnv<MultiAgentEnv>(`carball-${n}v${n}`);
    expect(env.agents).toEqual([...Array.from({ length: n }, (_, i) => `blue-${i}`), ...Array.from({ length: n }, (_, i) => `orange-${i}`)]);
    const report = await checkEnv(env, { steps: 30 });
    expect(report.numAgents).toBe(2 * n);
  });

  it.each(['continuous', 'multi-discrete'] as const)('passes checkEnv with the %s action parser', async (actionParser) => {
    await checkEnv(await carballEnv({ teamSize: 1, actionParser }), { steps: 20 });
  });

  it('observations have the AdvancedObs sizes: 9 + 8 + 34 + 25 + 31 per other car (107 / 169 / 231)', async () => {
    for (const n of [1, 2, 3]) {
      const expected = 9 + 8 + 34 + 25 + 31 * (2 * n - 1);
      const env = await carballEnv({ teamSize: n as 1 | 2 | 3 });
      const { obs } = env.reset({ seed: 0 });
      expect(env.observationSpace).toMatchObject({ kind: 'box', shape: [expected] });
      expect(obs.map((o) => o.length)).toEqual(Array(2 * n).fill(expected));
      env.close();
    }
    expect([1, 2, 3].map((n) => 9 + 8 + 34 + 25 + 31 * (2 * n - 1))).toEqual([107, 169, 231]);
  });

  it('the lookup table has 90 distinct rows: 24 ground, 66 aerial', () => {
    expect(LOOKUP_TABLE_SIZE).toBe(90);
    const rows = Array.from({ length: 90 }, (_, r) => Array.from(LOOKUP_TABLE.subarray(8 * r, 8 * r + 8)).join(','));
    expect(new Set(rows).size).toBe(90);
    // Ground rows have no pitch, roll or jump, and yaw = steer.
    const ground = rows.map((r) => r.split(',').map(Number)).filter(([, steer, pitch, yaw, roll, jump]) => pitch === 0 && roll === 0 && jump === 0 && yaw === steer);
    expect(ground.length).toBe(3 * 3 * 2 * 2 - 2 * 3 * 2);
  });

  it('rejects unknown options with an error naming the option', async () => {
    await expect(carballEnv({ actionRepeat: 0 })).rejects.toThrow(/actionRepeat/);
    await expect(carballEnv({ bogus: 1 } as never)).rejects.toThrow(/bogus/);
  });
});

describe('carball: physics against REFERENCES.md', () => {
  it('a ball dropped from rest bounces to about restitution² of the drop height (drag accounted)', async () => {
    const env = await carballEnv();
    env.reset({ seed: 0 });
    const dropZ = 1200;
    env.setState(quietState({ x: 3000, y: -4000, yaw: 0 }, { pos: [0, 0, dropZ] }));
    // Reference: 1-D fall with linear drag (dv/dt = −g − c·v), impact speed × e, rise to the apex.
    const dt = 1 / (TICKS_PER_SECOND * 100);
    let z = dropZ - BALL_RADIUS, v = 0;
    while (z > 0) {
      v += (-GRAVITY - BALL_DRAG * v) * dt;
      z += v * dt;
    }
    v = -v * BALL_RESTITUTION;
    z = 0;
    while (v > 0) {
      v += (-GRAVITY - BALL_DRAG * v) * dt;
      z += v * dt;
    }
    const expectedApex = z;
    expect(expectedApex).toBeLessThan(BALL_RESTITUTION ** 2 * (dropZ - BALL_RADIUS)); // drag costs height
    let apex = 0;
    let bounced = false;
    let prevVz = 0;
    for (let t = 0; t < 5 * TICKS_PER_SECOND; t++) {
      env.world.step();
      const s = env.getState().ball;
      if (prevVz < 0 && s.vel[2] > 0) bounced = true;
      if (bounced) apex = Math.max(apex, s.pos[2] - BALL_RADIUS);
      if (bounced && s.vel[2] < 0) break;
      prevVz = s.vel[2];
    }
    expect(bounced).toBe(true);
    expect(Math.abs(apex - expectedApex) / expectedApex).toBeLessThan(0.05);
  });

  it('full throttle and boost reach 2300 uu/s and never exceed it; supersonic exactly from 2200', async () => {
    const env = await carballEnv({ actionParser: 'continuous' });
    env.reset({ seed: 0 });
    env.setState(quietState({ x: -2500, y: -4400, yaw: Math.PI / 2, boost: 100 }));
    let top = 0;
    for (let t = 0; t < 40; t++) {
      env.step([controls({ throttle: 1, boost: 1 }), IDLE]);
      const car = env.getState().cars[0]!;
      const speed = speedOf(car.vel);
      top = Math.max(top, speed);
      expect(speed).toBeLessThanOrEqual(CAR_MAX_SPEED + 1e-6);
      expect(car.supersonic).toBe(speed >= SUPERSONIC);
    }
    expect(top).toBeGreaterThan(CAR_MAX_SPEED - 0.01); // float32 physics
  });

  it('boost drains at 33.3 per second while held', async () => {
    const env = await carballEnv({ actionParser: 'continuous' });
    env.reset({ seed: 0 });
    env.setState(quietState({ x: -2500, y: -4400, yaw: Math.PI / 2, boost: 100 }));
    const steps = 15; // 1 s
    for (let t = 0; t < steps; t++) env.step([controls({ throttle: 1, boost: 1 }), IDLE]);
    const used = 100 - env.getState().cars[0]!.boost;
    expect(used).toBeCloseTo(BOOST_PER_SECOND * steps * STEP_SECONDS, 0);
    expect(used / (steps * STEP_SECONDS)).toBeGreaterThan(33.2);
    expect(used / (steps * STEP_SECONDS)).toBeLessThan(33.4);
  });

  it('throttle alone tops out near 1410 uu/s', async () => {
    const env = await carballEnv({ actionParser: 'continuous' });
    env.reset({ seed: 0 });
    env.setState(quietState({ x: -2500, y: -4400, yaw: Math.PI / 2 }));
    let top = 0;
    for (let t = 0; t < 75; t++) {
      env.step([controls({ throttle: 1 }), IDLE]);
      top = Math.max(top, speedOf(env.getState().cars[0]!.vel));
    }
    expect(top).toBeLessThanOrEqual(THROTTLE_TOP_SPEED + 0.01); // float32 physics
    expect(top).toBeGreaterThan(THROTTLE_TOP_SPEED - 15);
  });

  it('a car hitting a ball at rest launches it by the contact plus the extra hit impulse', async () => {
    const CAR_MASS = 180, BALL_MASS = 30, carSpeed = 1500;
    // Car–ball restitution 0: both leave the contact at the common velocity; then the game's extra
    // impulse adds relSpeed × factor(relSpeed), with factor 0.65 at 500 → 0.55 at 2300 (linear).
    const common = (CAR_MASS * carSpeed) / (CAR_MASS + BALL_MASS);
    const extra = carSpeed * (0.65 + ((0.55 - 0.65) * (carSpeed - 500)) / (2300 - 500));
    const env = await carballEnv({ actionParser: 'continuous' });
    env.reset({ seed: 0 });
    env.setState(quietState({ x: 0, y: -400, yaw: Math.PI / 2, vel: [0, carSpeed, 0] }, { pos: [0, 0, BALL_REST_Z] }));
    let touched = 0;
    for (let t = 0; t < 3; t++) touched += (env.step([controls({ throttle: 1 }), IDLE]).info.agents as { events: { touch: number } }[])[0]!.events.touch;
    expect(touched).toBe(1);
    const ball = env.getState().ball;
    expect(speedOf(ball.vel)).toBeGreaterThan(common + 0.5 * extra);
    expect(speedOf(ball.vel)).toBeLessThan(common + extra + 50);
    expect(ball.vel[1]).toBeGreaterThan(common); // mostly forward
  });

  it('a jump lifts the car off the floor and gravity brings it back', async () => {
    const env = await carballEnv({ actionParser: 'continuous' });
    env.reset({ seed: 0 });
    env.setState(quietState({ x: 0, y: -2000, yaw: Math.PI / 2 }));
    env.step([controls({ jump: 1 }), IDLE]);
    const up = env.getState().cars[0]!;
    expect(up.onGround).toBe(false);
    expect(up.pos[2]).toBeGreaterThan(REST_Z + 10);
    for (let t = 0; t < 30; t++) env.step([IDLE, IDLE]);
    const down = env.getState().cars[0]!;
    expect(down.onGround).toBe(true);
    expect(down.hasFlip).toBe(true);
  });
});

describe('carball: jumps, flips and air control', () => {
  const FLIP_INITIAL_VELOCITY = 500;
  const CAR_MAX_ANGULAR_SPEED = 5.5;
  const horizontal = (v: readonly number[]): number => Math.hypot(v[0]!, v[1]!);

  it('a forward flip from rest adds 500 uu/s forward and spends the flip', async () => {
    const env = await carballEnv({ actionParser: 'continuous' });
    env.reset({ seed: 0 });
    env.setState(quietState({ x: 0, y: -2000, yaw: Math.PI / 2 }));
    env.step([controls({ jump: 1 }), IDLE]); // first jump, held 8 ticks
    env.step([IDLE, IDLE]); // release
    expect(env.getState().cars[0]!.hasFlip).toBe(true);
    const before = env.getState().cars[0]!.vel;
    env.step([controls({ jump: 1, pitch: -1 }), IDLE]);
    const car = env.getState().cars[0]!;
    // At rest the impulse scale is 1 (no max-speed share): forward (+y here) by 500 uu/s.
    expect(car.vel[1] - before[1]).toBeCloseTo(FLIP_INITIAL_VELOCITY, 0);
    expect(Math.abs(car.vel[0])).toBeLessThan(1);
    expect(car.hasFlip).toBe(false);
  });

  it('a car on its roof rights itself on a jump press (turtle recovery)', async () => {
    const env = await carballEnv({ actionParser: 'continuous' });
    env.reset({ seed: 0 });
    // Rolled by π about its forward axis: quaternion (1, 0, 0, 0), roof on the floor.
    env.setState(quietState({ x: 0, y: 0, yaw: 0, pos: [0, 0, 42], quat: [1, 0, 0, 0] }));
    for (let t = 0; t < 5; t++) env.step([IDLE, IDLE]);
    expect(env.getState().cars[0]!.onGround).toBe(false);
    env.step([controls({ jump: 1 }), IDLE]);
    for (let t = 0; t < 15; t++) env.step([IDLE, IDLE]);
    const car = env.getState().cars[0]!;
    expect(car.onGround).toBe(true);
    expect(car.pos[2]).toBeCloseTo(REST_Z, 0);
  });

  it('air roll spins the car up to the 5.5 rad/s limit and never beyond', async () => {
    const env = await carballEnv({ actionParser: 'continuous' });
    env.reset({ seed: 0 });
    env.setState(quietState({ x: 0, y: 0, yaw: 0, pos: [0, 0, 1200] }));
    let top = 0;
    for (let t = 0; t < 6; t++) {
      env.step([controls({ roll: 1 }), IDLE]);
      const w = env.getState().cars[0]!.angVel;
      top = Math.max(top, Math.hypot(...w));
      expect(Math.hypot(...w)).toBeLessThanOrEqual(CAR_MAX_ANGULAR_SPEED + 1e-3);
    }
    expect(top).toBeGreaterThan(CAR_MAX_ANGULAR_SPEED - 0.01);
    expect(horizontal(env.getState().cars[0]!.vel)).toBeLessThan(1);
  });
});

describe('carball: goals, kickoffs and determinism', () => {
  it('a ball sent into the orange goal scores for blue and ends the episode', async () => {
    const env = await carballEnv();
    env.reset({ seed: 0 });
    env.setState(quietState({ x: -3000, y: -4000, yaw: 0 }, { pos: [0, BACK_WALL_Y - 300, BALL_REST_Z], vel: [0, 3000, 0] }));
    let r;
    for (let t = 0; t < 10 && !r?.terminated; t++) r = env.step([0, 0]);
    expect(r!.terminated).toBe(true);
    expect(env.getState().score).toEqual([1, 0]);
    expect(r!.reward).toEqual([1, -1]);
    const [blue, orange] = (r!.info.agents as { events: Record<string, number> }[]).map((a) => a.events);
    expect(blue).toMatchObject({ teamGoal: 1, concede: 0, goal: 0 });
    expect(orange).toMatchObject({ teamGoal: 0, concede: 1 });
  });

  it('with terminateOnGoal false, an own-half goal scores for orange and play restarts from a kickoff', async () => {
    const env = await carballEnv({ terminateOnGoal: false });
    env.reset({ seed: 3 });
    env.setState(quietState({ x: -3000, y: 0, yaw: 0 }, { pos: [200, -BACK_WALL_Y + 300, BALL_REST_Z], vel: [0, -3000, 0] }));
    let scored = false;
    for (let t = 0; t < 10 && !scored; t++) {
      const r = env.step([0, 0]);
      expect(r.terminated).toBe(false);
      scored = env.getState().score[1] === 1;
      if (scored) expect(r.reward).toEqual([-1, 1]);
    }
    expect(scored).toBe(true);
    const s = env.getState();
    expect(s.score).toEqual([0, 1]);
    // Kickoff: the ball back near the centre spot (it has had the rest of the step to settle).
    expect(Math.hypot(s.ball.pos[0], s.ball.pos[1])).toBeLessThan(1);
    expect(Math.abs(s.ball.pos[2] - BALL_REST_Z)).toBeLessThan(3);
  });

  it('a car driven into the ball touches it, shoots and scores, with the goal credited to it', async () => {
    const env = await carballEnv({ actionParser: 'continuous' });
    env.reset({ seed: 0 });
    env.setState(quietState({ x: 0, y: 3900, yaw: Math.PI / 2, vel: [0, 1500, 0], boost: 100 }, { pos: [0, 4300, BALL_REST_Z] }));
    const totals: Record<string, number> = {};
    let r;
    for (let t = 0; t < 30 && !r?.terminated; t++) {
      r = env.step([controls({ throttle: 1, boost: 1 }), IDLE]);
      for (const [k, v] of Object.entries((r.info.agents as { events: Record<string, number> }[])[0]!.events)) totals[k] = (totals[k] ?? 0) + v;
    }
    expect(r!.terminated).toBe(true);
    expect(totals.touch).toBeGreaterThanOrEqual(1);
    expect(totals.shot).toBeGreaterThanOrEqual(1);
    expect(totals.goal).toBe(1);
    expect(totals.teamGoal).toBe(1);
  });

  it('truncates after timeoutSeconds of play and after noTouchTimeoutSeconds without a touch', async () => {
    const stepsUntilEnd = async (options: { timeoutSeconds: number; noTouchTimeoutSeconds: number }): Promise<number> => {
      const env = await carballEnv({ ...options, actionParser: 'continuous' });
      env.reset({ seed: 0 });
      for (let t = 1; t <= 100; t++) {
        const r = env.step([IDLE, IDLE]);
        if (r.terminated) throw new Error('unexpected goal');
        if (r.truncated) return t;
      }
      return -1;
    };
    // Idle cars never touch the ball at kickoff, so both clocks run from the reset.
    expect(await stepsUntilEnd({ timeoutSeconds: 2, noTouchTimeoutSeconds: 0 })).toBe(Math.ceil((2 * TICKS_PER_SECOND) / ACTION_REPEAT));
    expect(await stepsUntilEnd({ timeoutSeconds: 0, noTouchTimeoutSeconds: 1 })).toBe(Math.ceil(TICKS_PER_SECOND / ACTION_REPEAT));
    expect(await stepsUntilEnd({ timeoutSeconds: 0, noTouchTimeoutSeconds: 0 })).toBe(-1);
  });

  it.each([1, 2, 3])('kickoff positions for teams of %d: distinct kickoff spots, orange mirrored, ball at rest on the centre spot', async (n) => {
    const env = await carballEnv({ teamSize: n as 1 | 2 | 3 });
    for (const seed of [0, 1, 2, 3]) {
      env.reset({ seed });
      const s = env.getState();
      expect(s.ball).toEqual({ pos: [0, 0, BALL_REST_Z], vel: [0, 0, 0], angVel: [0, 0, 0] });
      const blue = s.cars.filter((c) => c.team === 0);
      const orange = s.cars.filter((c) => c.team === 1);
      expect(blue.length).toBe(n);
      const spots = blue.map((c) => KICKOFFS.findIndex(([x, y, yaw]) => c.pos[0] === x && c.pos[1] === y && angleDiff(yawOf(c.quat), yaw) < 1e-9));
      expect(spots.every((i) => i >= 0)).toBe(true);
      expect(new Set(spots).size).toBe(n);
      orange.forEach((o, i) => {
        const b = blue[i]!;
        expect(o.pos).toEqual([-b.pos[0], -b.pos[1], REST_Z]);
        expect(angleDiff(yawOf(o.quat), yawOf(b.quat) + Math.PI)).toBeLessThan(1e-9);
      });
      expect(s.cars.every((c) => c.onGround && !c.demolished && c.pos[2] === REST_Z)).toBe(true);
    }
    env.close();
  });

  it('same seed and actions give the identical state sequence', async () => {
    const run = async (): Promise<string[]> => {
      const env = await carballEnv({ teamSize: 2 });
      env.reset({ seed: 11 });
      const rng = new Rng(5);
      const states: string[] = [];
      for (let t = 0; t < 60; t++) {
        env.step(env.agents.map(() => sampleSpace(env.actionSpace, rng) as number));
        states.push(JSON.stringify(env.getState()));
      }
      env.close();
      return states;
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(a.length);
  });
});

/** The point mirror of a state with the teams swapped: what orange sees is what blue saw. */
function mirrored(s: CarballState, teamSize: number): CarballState {
  const m = (v: readonly number[]): [number, number, number] => [-v[0]!, -v[1]!, v[2]!];
  const cars = s.cars.map((c) => {
    const [x, y, z, w] = c.quat;
    // Rotation by π about z composed with q: (0, 0, 1, 0) ⊗ (x, y, z, w).
    const quat: [number, number, number, number] = [-y, x, w, -z];
    const id = c.team === 0 ? c.id + teamSize : c.id - teamSize;
    return { ...c, id, team: (1 - c.team) as 0 | 1, pos: m(c.pos), vel: m(c.vel), angVel: m(c.angVel), quat };
  });
  cars.sort((a, b) => a.id - b.id);
  return { ...s, ball: { pos: m(s.ball.pos), vel: m(s.ball.vel), angVel: m(s.ball.angVel) }, cars };
}

describe('carball: observation mirroring', () => {
  it.each([1, 2])('with teams of %d, the two teams observe a mirrored state identically', async (n) => {
    const env = await carballEnv({ teamSize: n as 1 | 2 });
    env.reset({ seed: 0 });
    const state: CarballState = {
      tick: 0,
      score: [0, 0],
      ball: { pos: [500, 1200, 300], vel: [300, -700, 150], angVel: [1, -2, 0.5] },
      cars: [
        carAt(0, 0, -1000, -2000, 0.7, { vel: [400, 500, 0], boost: 40 }),
        ...(n === 2 ? [carAt(1, 0, 1500, -500, 2.1, { vel: [-100, 300, 0], boost: 10 })] : []),
        carAt(n, 1, 800, 2500, -1.2, { vel: [100, -900, 0], boost: 75 }),
        ...(n === 2 ? [carAt(3, 1, -2000, 1000, 3, { vel: [0, -200, 0], boost: 0 })] : []),
      ],
    };
    env.setState(state);
    const obs = env.observe();
    env.setState(mirrored(state, n));
    const obsMirror = env.observe();
    for (let c = 0; c < 2 * n; c++) {
      const counterpart = c < n ? c + n : c - n;
      const a = Array.from(obs[c]!);
      const b = Array.from(obsMirror[counterpart]!);
      expect(a.length).toBe(b.length);
      a.forEach((x, i) => expect(b[i]).toBeCloseTo(x, 5));
    }
    // And the observation is not trivially symmetric: blue and orange see different things here.
    expect(Array.from(obs[0]!)).not.toEqual(Array.from(obs[n]!));
  });
});

describe('carball: the advanced-local observation', () => {
  it('is AdvancedObs followed by the ball in the observing car\'s frame (forward, left, up)', async () => {
    const plain = await carballEnv();
    const local = await carballEnv({ obsBuilder: 'advanced-local' });
    expect(local.observationSpace).toMatchObject({ shape: [113] });
    plain.reset({ seed: 0 });
    local.reset({ seed: 0 });
    // Blue faces +y from (0, −1000); the ball is 500 uu to its right (+x), 1000 ahead, 300 up, rolling at −400 in x.
    // Orange faces −y from (0, 1000).
    const state: CarballState = {
      tick: 0,
      score: [0, 0],
      ball: { pos: [500, 0, 317], vel: [-400, 0, 0], angVel: [0, 0, 0] },
      cars: [carAt(0, 0, 0, -1000, Math.PI / 2, { vel: [0, 600, 0] }), carAt(1, 1, 0, 1000, -Math.PI / 2, { vel: [0, -600, 0] })],
    };
    plain.setState(state);
    local.setState(state);
    const [a] = plain.observe();
    const [b] = local.observe();
    expect(Array.from(b!.subarray(0, 107))).toEqual(Array.from(a!));
    // left of a car facing +y is −x; relative velocity = ball − car = (−400, −600, 0)
    const expected = [1000 / 2300, -500 / 2300, 300 / 2300, -600 / 2300, 400 / 2300, 0];
    Array.from(b!.subarray(107)).forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 5));
    // orange: the ball at (500, 0) is 1000 ahead and 500 to its left, its velocity (−400, 600) relative: forward −600, left −400
    const orange = local.observe()[1]!;
    const expectedOrange = [1000 / 2300, 500 / 2300, 300 / 2300, -600 / 2300, -400 / 2300, 0];
    Array.from(orange.subarray(107)).forEach((x, i) => expect(x).toBeCloseTo(expectedOrange[i]!, 5));
    plain.close();
    local.close();
  });
});

describe('carball: setState validation', () => {
  const good = (): CarballState => quietState({ x: 0, y: 0, yaw: 0 });
  const cases: [string, (s: CarballState) => unknown, RegExp][] = [
    ['a non-finite position', (s) => ((s.cars[1]!.pos as number[])[2] = NaN), /cars\[1\]\.pos\[2\]/],
    ['a missing ball velocity', (s) => delete (s.ball as Partial<CarballState['ball']>).vel, /ball\.vel is missing/],
    ['an unknown car id', (s) => (s.cars[1]!.id = 7), /cars\[1\]\.id.*unknown car id 7/],
    ['a position outside the arena', (s) => (s.cars[0]!.pos[0] = 5000), /cars\[0\]\.pos\[0\].*outside the arena/],
    ['a ball above the ceiling', (s) => (s.ball.pos[2] = 2100), /ball\.pos\[2\]/],
    ['a boost above 100', (s) => (s.cars[0]!.boost = 120), /cars\[0\]\.boost/],
  ];
  it.each(cases)('rejects %s, naming the field, and changes nothing', async (_, spoil, message) => {
    const env = await carballEnv();
    env.reset({ seed: 0 });
    const before = JSON.stringify(env.getState());
    const bad = good();
    spoil(bad);
    expect(() => env.setState(bad)).toThrow(message);
    expect(JSON.stringify(env.getState())).toBe(before);
    env.close();
  });

  it('round-trips a state through setState and getState', async () => {
    const env = await carballEnv();
    env.reset({ seed: 0 });
    const s = good();
    env.setState(s);
    const back = env.getState();
    expect(back.cars.map((c) => c.pos)).toEqual(s.cars.map((c) => c.pos));
    expect(back.ball.pos).toEqual(s.ball.pos);
    expect(JSON.parse(JSON.stringify(back))).toEqual(back);
  });
});

describe('carball: events', () => {
  const stepEvents = (env: CarballEnv, actions: Float32Array[]): Record<string, number>[] => (env.step(actions).info.agents as { events: Record<string, number> }[]).map((a) => a.events);

  it('driving over a small pad picks up 12 boost and a big pad fills the tank', async () => {
    const env = await carballEnv({ actionParser: 'continuous' });
    env.reset({ seed: 0 });
    // Small pad at (0, −1024); big pad at (−3584, 0).
    env.setState(quietState({ x: 0, y: -1024, yaw: 0, boost: 0 }));
    expect(stepEvents(env, [IDLE, IDLE])[0]!.boostPickup).toBeCloseTo(12, 9);
    expect(env.getState().cars[0]!.boost).toBeCloseTo(12, 9);
    env.setState(quietState({ x: -3584, y: 0, yaw: 0, boost: 30 }));
    expect(stepEvents(env, [IDLE, IDLE])[0]!.boostPickup).toBeCloseTo(70, 9);
    expect(env.getState().cars[0]!.boost).toBe(100);
  });

  it('blocking a ball that is on course into the own goal is a touch and a save', async () => {
    const env = await carballEnv({ actionParser: 'continuous' });
    env.reset({ seed: 0 });
    env.setState(quietState({ x: 0, y: -4700, yaw: Math.PI / 2 }, { pos: [0, -4300, BALL_REST_Z], vel: [0, -2000, 0] }));
    const totals = { touch: 0, save: 0, concede: 0 };
    for (let t = 0; t < 6; t++) {
      const ev = stepEvents(env, [IDLE, IDLE])[0]!;
      totals.touch += ev.touch!;
      totals.save += ev.save!;
      totals.concede += ev.concede!;
    }
    expect(totals).toEqual({ touch: 1, save: 1, concede: 0 });
    expect(env.getState().ball.vel[1]).toBeGreaterThan(0);
  });

  it('a car at 1400 uu/s bumps another with the game bump velocities (1100 along the hit, 278 upward), without a demo', async () => {
    const BUMPER_SPEED = 1400, BUMP_ALONG = 1100, BUMP_UP = 278;
    const env = await carballEnv({ actionParser: 'continuous' });
    env.reset({ seed: 0 });
    const state = quietState({ x: 0, y: -2000, yaw: Math.PI / 2, vel: [0, BUMPER_SPEED, 0] });
    state.cars[1] = carAt(1, 1, 0, -1700, 0);
    env.setState(state);
    const w = env.world;
    let victim = env.getState().cars[1]!;
    for (let t = 0; t < 60 && speedOf(victim.vel) < 100; t++) {
      w.controls.set(controls({ throttle: 1 }), 0);
      w.step();
      victim = env.getState().cars[1]!;
    }
    // Right after the bump: the victim moves along the hit (+y) at the bump velocity, and upward.
    expect(victim.vel[1]).toBeGreaterThan(BUMP_ALONG - 20);
    expect(victim.vel[1]).toBeLessThan(BUMP_ALONG + 20);
    expect(victim.vel[2]).toBeGreaterThan(BUMP_UP - 15);
    expect(victim.vel[2]).toBeLessThan(BUMP_UP + 5);
    expect(victim.demolished).toBe(false);
  });

  it('a supersonic car demolishes an opponent, which respawns after 3 s', async () => {
    const env = await carballEnv({ actionParser: 'continuous' });
    env.reset({ seed: 0 });
    const state = quietState({ x: 0, y: -2000, yaw: Math.PI / 2, vel: [0, CAR_MAX_SPEED, 0], boost: 100 });
    state.cars[1] = carAt(1, 1, 0, -1500, 0);
    env.setState(state);
    const totals = [0, 0];
    for (let t = 0; t < 5; t++) {
      const ev = stepEvents(env, [controls({ throttle: 1, boost: 1 }), IDLE]);
      totals[0] += ev[0]!.demo;
      totals[1] += ev[1]!.demoed;
    }
    expect(totals).toEqual([1, 1]);
    expect(env.getState().cars[1]!.demolished).toBe(true);
    for (let t = 0; t < Math.ceil(3 / STEP_SECONDS); t++) env.step([IDLE, IDLE]);
    const back = env.getState().cars[1]!;
    expect(back.demolished).toBe(false);
    // Orange respawns in its own half, on the floor.
    expect(back.pos[1]).toBeGreaterThan(4000);
    expect(back.onGround).toBe(true);
  });
});
