import { describe, expect, it } from 'vitest';
import {
  ARM,
  ArmKinematics,
  checkEnv,
  createManipulationEnv,
  CUBE,
  DlsIk,
  DOOR,
  EnvOptionsError,
  HAND_DOWN,
  homePosture,
  makeEnv,
  MANIPULATION,
  MANIPULATION_TASKS,
  manipulationScene,
  manipulationTransforms,
  Rng,
  TABLE,
  TRANSFORM_SIZE,
  WORKSPACE,
  type Env,
  type ManipulationEnv,
  type StepResult,
} from '../src';

/** Fetch-style proportional control of the grip point: the displacement towards `target`, in action units (5 cm each). */
function towards(env: ManipulationEnv, target: ArrayLike<number>, gripper: number): number[] {
  const g = env.world.kin.gripPos;
  const a = [0, 1, 2].map((i) => Math.max(-1, Math.min(1, (target[i]! - g[i]!) / MANIPULATION.maxDisplacement)));
  return [...a, gripper];
}

function drive(env: ManipulationEnv, target: ArrayLike<number>, gripper: number, steps: number): StepResult {
  let r!: StepResult;
  for (let t = 0; t < steps; t++) r = env.step(towards(env, target, gripper));
  return r;
}

function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);
}

describe('manipulation: registration and the env contract', () => {
  it.each(MANIPULATION_TASKS)('%s (dict observations) passes checkEnv', async (task) => {
    const env = await makeEnv(task, { flatten: false });
    expect(env.observationSpace.kind).toBe('dict');
    await checkEnv(env, { steps: 30 });
  });

  it.each(MANIPULATION_TASKS)('%s is registered flattened by default and passes checkEnv', async (task) => {
    const env = await makeEnv(task);
    const dictEnv = await createManipulationEnv(task);
    const spaces = dictEnv.observationSpace.spaces;
    const size = (s: (typeof spaces)[string]) => (s.kind === 'box' ? s.shape[0]! : 0);
    expect(env.observationSpace).toMatchObject({ kind: 'box', shape: [size(spaces.achieved_goal!) + size(spaces.desired_goal!) + size(spaces.observation!)] });
    dictEnv.close();
    await checkEnv(env, { steps: 20 });
  });

  it('episodes last 50 steps (door-open 100), are truncated and never terminated', async () => {
    for (const [task, limit] of [['reach', 50], ['door-open', 100]] as const) {
      const env = await makeEnv<Env>(task);
      await env.reset({ seed: 0 });
      const rng = new Rng(1);
      let steps = 0;
      let r: StepResult;
      do {
        r = await env.step([rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)]);
        steps++;
        expect(r.terminated).toBe(false);
      } while (!r.truncated);
      expect(steps).toBe(limit);
      await env.close();
    }
  });

  it('the action is Box(−1, 1, 4) and observations follow Fetch sizes (reach 10, cube tasks 25, door 18)', async () => {
    for (const [task, obs, goal] of [['reach', 10, 3], ['push', 25, 3], ['pick-place', 25, 3], ['door-open', 18, 1]] as const) {
      const env = await createManipulationEnv(task);
      expect(env.actionSpace).toEqual({ kind: 'box', shape: [4], low: -1, high: 1 });
      const { obs: o } = env.reset({ seed: 3 });
      const d = o as { observation: Float32Array; achieved_goal: Float32Array; desired_goal: Float32Array };
      expect(d.observation.length).toBe(obs);
      expect(d.achieved_goal.length).toBe(goal);
      expect(d.desired_goal.length).toBe(goal);
      env.close();
    }
  });

  it('goals are sampled per episode from the seeded RNG within Fetch target range of the start', async () => {
    const env = await createManipulationEnv('reach');
    const goals: number[][] = [];
    for (let i = 0; i < 20; i++) {
      const { obs } = env.reset(i === 0 ? { seed: 5 } : undefined);
      const g = Array.from((obs as { desired_goal: Float32Array }).desired_goal);
      goals.push(g);
      for (let k = 0; k < 3; k++) expect(Math.abs(g[k]! - [0.55, 0, 0.6][k]!)).toBeLessThanOrEqual(MANIPULATION.targetRange + 1e-6);
    }
    expect(new Set(goals.map((g) => g.join())).size).toBe(20);
    const again = env.reset({ seed: 5 });
    expect(Array.from((again.obs as { desired_goal: Float32Array }).desired_goal)).toEqual(goals[0]);
    env.close();
  });

  it('rewards: sparse is −1 until the goal is within 0.05 m, then 0; dense is −distance', async () => {
    const sparse = await createManipulationEnv('reach', { reward: 'sparse' });
    const dense = await createManipulationEnv('reach', { reward: 'dense' });
    const goal = [0.62, 0.08, 0.55];
    sparse.reset({ seed: 0, options: { goal } });
    dense.reset({ seed: 0, options: { goal } });
    const first = sparse.step([0, 0, 0, 0]);
    expect(first.reward).toBe(-1);
    expect(first.info.isSuccess).toBe(false);
    const d = dense.step([0, 0, 0, 0]);
    expect(d.reward).toBeCloseTo(-distance(dense.world.kin.gripPos, goal), 12);
    const last = drive(sparse, goal, 0, 20);
    expect(last.reward).toBe(0);
    expect(last.info.isSuccess).toBe(true);
    sparse.close();
    dense.close();
  });

  it('stepping before the first reset is an error', async () => {
    const env = await createManipulationEnv('reach');
    expect(() => env.step([0, 0, 0, 0])).toThrow(/reach: call reset\(\) before step\(\)/);
    env.close();
  });

  it('a goal outside the workspace in the reset options is an error naming it', async () => {
    const env = await createManipulationEnv('reach');
    expect(() => env.reset({ seed: 0, options: { goal: [2, 0, 0.6] } })).toThrow(EnvOptionsError);
    expect(() => env.reset({ seed: 0, options: { goal: [2, 0, 0.6] } })).toThrow(/reset option goal: \[2, 0, 0\.6\] is outside the workspace \(x = 2/);
    expect(() => env.reset({ options: { goal: [0.5, 0] } })).toThrow(/goal/);
    const push = await createManipulationEnv('push');
    expect(() => push.reset({ seed: 0, options: { goal: [0.6, 0, 0.7] } })).toThrow(/goal.*outside the workspace.*z = 0\.7/);
    expect(() => push.reset({ seed: 0, options: { object: [0.6, 3] } })).toThrow(/object/);
    const door = await createManipulationEnv('door-open');
    expect(() => door.reset({ seed: 0, options: { goal: 2 } })).toThrow(/goal.*2 rad/);
    await expect(createManipulationEnv('reach', { reward: 'shaped' } as never)).rejects.toThrow(/reward/);
    for (const e of [env, push, door]) e.close();
  });
});

describe('manipulation: snapshots', () => {
  it.each(MANIPULATION_TASKS)('%s: restoring a mid-episode snapshot replays the same steps bit for bit', async (task) => {
    const env = await makeEnv<Env & { getSnapshot(): unknown; setSnapshot(s: unknown): void }>(task);
    await env.reset({ seed: 11 });
    const rng = new Rng(12);
    const actions = Array.from({ length: 30 }, () => [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)]);
    for (let t = 0; t < 10; t++) await env.step(actions[t]!);
    const snapshot = JSON.parse(JSON.stringify(env.getSnapshot()));
    const first: Float32Array[] = [];
    for (let t = 10; t < 30; t++) first.push((await env.step(actions[t]!)).obs as Float32Array);
    env.setSnapshot(snapshot);
    for (let t = 10; t < 30; t++) expect((await env.step(actions[t]!)).obs).toEqual(first[t - 10]);
    // The RNG continues from where the snapshot was taken: the next episode's goal is the same too.
    const goalAfter = (await env.reset()).obs;
    env.setSnapshot(snapshot);
    for (let t = 10; t < 30; t++) await env.step(actions[t]!);
    expect((await env.reset()).obs).toEqual(goalAfter);
    await env.close();
  });
});

describe('manipulation: the arm', () => {
  it('the home posture puts the grip point at the task start with the hand pointing down', () => {
    const q = homePosture([0.55, 0, 0.6]);
    const kin = new ArmKinematics();
    kin.compute(q);
    expect(distance(kin.gripPos, [0.55, 0, 0.6])).toBeLessThan(1e-6);
    for (let i = 0; i < 9; i++) expect(kin.handRot[i]!).toBeCloseTo(HAND_DOWN[i]!, 5);
  });

  it('DLS IK brings the grip point within 1 cm of reachable points across the workspace', () => {
    const rng = new Rng(7);
    const ik = new DlsIk();
    const kin = new ArmKinematics();
    for (let n = 0; n < 50; n++) {
      const target = [0, 1, 2].map((i) => rng.uniform(WORKSPACE.low[i]! + 0.05, WORKSPACE.high[i]! - 0.1));
      const q = homePosture([0.55, 0, 0.6]);
      for (let k = 0; k < 40; k++) ik.solve(q, target);
      kin.compute(q);
      expect(distance(kin.gripPos, target)).toBeLessThan(0.01);
    }
  });

  it('commanded through the env, the end effector reaches a reachable point within 1 cm', async () => {
    const env = await createManipulationEnv('reach');
    env.reset({ seed: 0 });
    for (const target of [[0.65, 0.1, 0.5], [0.4, -0.2, 0.7], [0.7, -0.25, 0.45]]) {
      drive(env, target, 0, 25);
      expect(distance(env.world.kin.gripPos, target)).toBeLessThan(0.01);
    }
    env.close();
  });

  it('joint limits hold under random actions and unreachable targets', async () => {
    const env = await createManipulationEnv('pick-place');
    env.reset({ seed: 2 });
    const rng = new Rng(3);
    let maxSpeed = 0;
    for (let t = 0; t < 300; t++) {
      const far = t % 100 < 50 ? [3, 3, 3] : [-3, -3, 0];
      env.step(t % 2 ? towards(env, far, 1) : [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)]);
      for (let i = 0; i < 7; i++) {
        expect(env.jointAngles[i]!).toBeGreaterThanOrEqual(ARM.lower[i]!);
        expect(env.jointAngles[i]!).toBeLessThanOrEqual(ARM.upper[i]!);
        maxSpeed = Math.max(maxSpeed, Math.abs(env.world.qd[i]!));
      }
      const g = env.world.kin.gripPos;
      expect(g[2]!).toBeGreaterThan(TABLE.topZ);
    }
    expect(maxSpeed).toBeLessThanOrEqual(ARM.maxSpeed);
    env.close();
  });

  it('the gripper holds a cube while lifting it', async () => {
    const env = await createManipulationEnv('pick-place');
    const at = [0.6, 0.05];
    env.reset({ seed: 1, options: { object: at, goal: [0.6, 0.05, 0.7] } });
    const w = env.world;
    drive(env, [at[0]!, at[1]!, 0.5], 1, 15);
    drive(env, [at[0]!, at[1]!, WORKSPACE.low[2]], 1, 15);
    drive(env, [at[0]!, at[1]!, WORKSPACE.low[2]], -1, 10);
    // Closed on the cube: the fingers stop at its faces, not at their closed limit.
    expect(w.finger[0]! + w.finger[1]!).toBeGreaterThan(0.01);
    const before = w.cubePos[2]!;
    const r = drive(env, [at[0]!, at[1]!, 0.7], -1, 25);
    expect(w.cubePos[2]! - before).toBeGreaterThan(0.2);
    expect(Math.abs(w.cubePos[2]! - w.kin.gripPos[2]!)).toBeLessThan(0.03);
    expect(r.info.isSuccess).toBe(true);
    // Opening the hand drops it back onto the table.
    drive(env, [at[0]!, at[1]!, 0.7], 1, 25);
    expect(w.cubePos[2]!).toBeCloseTo(TABLE.topZ + CUBE.halfSize, 2);
    env.close();
  });

  it('pushing with the closed gripper moves the cube along the table', async () => {
    const env = await createManipulationEnv('push');
    env.reset({ seed: 1, options: { object: [0.6, 0], goal: [0.7, 0, TABLE.topZ + CUBE.halfSize] } });
    drive(env, [0.52, 0, 0.45], 0, 20);
    drive(env, [0.68, 0, 0.45], 0, 20);
    expect(env.world.cubePos[0]!).toBeGreaterThan(0.66);
    expect(env.world.cubePos[2]!).toBeCloseTo(TABLE.topZ + CUBE.halfSize, 2);
    env.close();
  });

  it('the door opens when pushed at the handle, past the goal angle', async () => {
    const env = await createManipulationEnv('door-open');
    env.reset({ seed: 1, options: { goal: 0.5 } });
    const w = env.world;
    const h = w.handlePosition();
    drive(env, [h[0]! - 0.05, h[1]!, h[2]!], -1, 20);
    expect(w.doorAngle).toBeLessThan(0.01);
    let r!: StepResult;
    for (let t = 0; t < 15; t++) {
      const handle = w.handlePosition();
      r = env.step(towards(env, [handle[0]! + 0.03, handle[1]!, handle[2]!], -1));
    }
    expect(w.doorAngle).toBeGreaterThan(0.5);
    expect(w.doorAngle).toBeLessThan(DOOR.maxAngle + 0.1);
    expect(r.info.isSuccess).toBe(true);
    env.close();
  });

  it('the door stays shut when left alone', async () => {
    const env = await createManipulationEnv('door-open');
    env.reset({ seed: 4 });
    const r = drive(env, [0.35, 0, 0.6], 0, 30);
    expect(env.world.doorAngle).toBeLessThan(0.01);
    expect(r.info.isSuccess).toBe(false);
    env.close();
  });
});

describe('manipulation: replay scenes', () => {
  it.each(MANIPULATION_TASKS)('%s: one transform per dynamic body of the scene', async (task) => {
    const env = await createManipulationEnv(task);
    env.reset({ seed: 0 });
    env.step([0.5, 0, -0.5, 0]);
    const scene = manipulationScene(env);
    const frame = manipulationTransforms(env);
    expect(frame.length).toBe(scene.dynamicBodies.length * TRANSFORM_SIZE);
    expect(frame.every(Number.isFinite)).toBe(true);
    // The palm is drawn at the hand frame's palm offset: between the wrist and the grip point.
    const palm = scene.dynamicBodies.findIndex((b) => b.name === 'palm');
    const p = frame.subarray(palm * TRANSFORM_SIZE, palm * TRANSFORM_SIZE + 3);
    expect(distance(p, env.world.kin.gripPos)).toBeCloseTo(ARM.gripOffset - 0.1, 5);
    env.close();
  });
});
