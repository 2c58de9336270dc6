/**
 * Goal-conditioned manipulation tasks with Gymnasium-Robotics Fetch conventions (REFERENCES.md §2):
 * action Box(−1, 1, 4) = grip displacement (dx, dy, dz) × 5 cm + gripper, 25 Hz control; dict
 * observations { achieved_goal, desired_goal, observation }; success within 0.05 m of the goal (door:
 * the door angle at or past the goal angle); never terminated (the registry truncates: 50 steps, door 100);
 * reward sparse −1/0 (Fetch's default) or dense −distance (option `reward: 'dense'`); `info.isSuccess`.
 *
 * - `reach`: bring the grip point to a goal sampled in a 15 cm cube around its start (gripper held closed).
 * - `push`: push a 5 cm cube to a goal on the table (gripper held closed).
 * - `pick-place`: move the cube to a goal that is in the air half of the time (gripper free).
 * - `door-open`: push a hinged door (handle near its free edge) open past a goal angle.
 *
 * The observation vector follows Fetch's `_get_obs`: grip position; then the object's position, its
 * position relative to the grip, finger openings, object rotation (Euler xyz), object linear velocity
 * relative to the grip × dt, object angular velocity × dt, grip velocity × dt, finger velocities × dt. Reach has no
 * object: grip position, finger openings, grip velocity × dt, finger velocities × dt (10 numbers). The
 * door's "object" is the handle and its state the door angle and hinge speed.
 */
import { BaseEnv, EnvOptionsError, type ResetParams, type ResetResult, type StepResult } from '../../env';
import { parseOptions, z } from '../../options';
import { box, dict, FLOAT32_MAX, type BoxValue, type DictSpace } from '../../spaces';
import { describeValue, type RngState } from '../../rng';
import type { Rapier } from '../carball/rapier';
import { homePosture } from './arm';
import { CONTROL_DT, CUBE, DOOR, GRIPPER, ManipulationWorld, TABLE, WORKSPACE, type ManipulationWorldSnapshot, type Prop } from './world';
import { manipulationReplaySource } from './scene';
import type { ReplaySource } from '../../replay/scenes';

export type ManipulationTask = 'reach' | 'push' | 'pick-place' | 'door-open';
export const MANIPULATION_TASKS: readonly ManipulationTask[] = ['reach', 'push', 'pick-place', 'door-open'];

export interface TaskSpec {
  prop: Prop;
  /** The grip point's position at reset (m). */
  initialGrip: readonly [number, number, number];
  /** Fetch's `block_gripper`: the fingers stay closed and the action's fourth entry is ignored. */
  blockGripper: boolean;
  obsSize: number;
  goalSize: number;
  maxEpisodeSteps: number;
  description: string;
}

const CUBE_REST_Z = TABLE.topZ + CUBE.halfSize;

export const TASKS: Record<ManipulationTask, TaskSpec> = {
  reach: { prop: 'none', initialGrip: [0.55, 0, 0.6], blockGripper: true, obsSize: 10, goalSize: 3, maxEpisodeSteps: 50, description: 'Move the gripper to a goal position (Fetch Reach conventions).' },
  push: { prop: 'cube', initialGrip: [0.55, 0, 0.55], blockGripper: true, obsSize: 25, goalSize: 3, maxEpisodeSteps: 50, description: 'Push a cube to a goal on the table (Fetch Push conventions).' },
  'pick-place': { prop: 'cube', initialGrip: [0.55, 0, 0.55], blockGripper: false, obsSize: 25, goalSize: 3, maxEpisodeSteps: 50, description: 'Pick a cube up and place it at a goal, in the air half of the time (Fetch PickAndPlace conventions).' },
  'door-open': { prop: 'door', initialGrip: [0.35, 0, 0.6], blockGripper: false, obsSize: 18, goalSize: 1, maxEpisodeSteps: 100, description: 'Push a hinged door open past a goal angle.' },
};

export const MANIPULATION = {
  /** Fetch: the action's displacement is scaled by 0.05 m. */
  maxDisplacement: 0.05,
  /** Success radius (m): Fetch's `distance_threshold`. */
  distanceThreshold: 0.05,
  /** Goals and cube positions are sampled within this distance of the initial grip point (Fetch's target_range, obj_range). */
  targetRange: 0.15,
  objectRange: 0.15,
  /** A sampled cube starts at least this far (xy) from the grip point (Fetch's rejection rule). */
  minObjectDistance: 0.1,
  /** In pick-place, half of the goals are lifted by up to this height (Fetch: 0.45; less here, within reach). */
  maxGoalHeight: 0.3,
  /** Door goal angles (rad), sampled uniformly. */
  doorGoalRange: [0.35, 0.7] as const,
} as const;

export const manipulationOptionsSchema = z
  .object({
    reward: z.enum(['sparse', 'dense']).optional(),
    rapier: z.enum(['simd', 'compat']).optional(),
  })
  .strict();
export type ManipulationOptions = z.input<typeof manipulationOptionsSchema>;

const vec = (n: number) => z.array(z.number().finite()).length(n);
const resetSchemas = {
  position: z.object({ goal: vec(3).optional(), object: vec(2).optional() }).strict(),
  door: z.object({ goal: z.number().finite().optional() }).strict(),
};

const OBS_LIMIT = FLOAT32_MAX;

export class ManipulationEnv extends BaseEnv<BoxValue> {
  readonly id: string;
  readonly observationSpace: DictSpace;
  readonly actionSpace = box([4], -1, 1);

  /** What the trainers' replay recorder draws for this env (its scene and per-frame transforms). */
  replaySource(): ReplaySource {
    return manipulationReplaySource(this);
  }
  readonly metadata: { secondsPerStep: number; description: string; maxEpisodeSteps: number };
  readonly spec: TaskSpec;
  readonly rewardType: 'sparse' | 'dense';
  readonly world: ManipulationWorld;
  /** The episode's goal (position, or door angle in the first entry). */
  readonly goal = new Float64Array(3);
  private readonly home: Float64Array;
  private readonly delta = new Float64Array(3);
  private readonly handle = new Float64Array(3);

  constructor(
    R: Rapier,
    readonly task: ManipulationTask,
    options: ManipulationOptions = {},
  ) {
    super();
    this.id = task;
    const parsed = parseOptions(task, 'option', manipulationOptionsSchema, options);
    this.rewardType = parsed.reward ?? 'sparse';
    this.spec = TASKS[task];
    this.metadata = { secondsPerStep: CONTROL_DT, description: this.spec.description, maxEpisodeSteps: this.spec.maxEpisodeSteps };
    const goalSpace = box([this.spec.goalSize], -OBS_LIMIT, OBS_LIMIT);
    this.observationSpace = dict({ achieved_goal: goalSpace, desired_goal: goalSpace, observation: box([this.spec.obsSize], -OBS_LIMIT, OBS_LIMIT) });
    this.world = new ManipulationWorld(R, this.spec.prop);
    this.home = homePosture(this.spec.initialGrip);
  }

  reset(params?: ResetParams): ResetResult {
    const raw = this.beginReset(params);
    const rng = this.random;
    const { targetRange, objectRange, minObjectDistance } = MANIPULATION;
    const g0 = this.spec.initialGrip;
    const opening = this.spec.blockGripper ? 0 : GRIPPER.maxOpening;
    if (this.spec.prop === 'door') {
      const options = parseOptions(this.id, 'reset option', resetSchemas.door, raw);
      const [lo, hi] = MANIPULATION.doorGoalRange;
      if (options.goal !== undefined && !(options.goal > 0 && options.goal <= DOOR.maxAngle)) {
        throw new EnvOptionsError(this.id, `reset option goal: door angle ${describeValue(options.goal)} rad is outside the door's range (0, ${DOOR.maxAngle}]`);
      }
      this.goal[0] = options.goal ?? rng.uniform(lo, hi);
      this.world.build(this.home, opening);
      return { obs: this.observation(), info: { isSuccess: this.isSuccess() } };
    }
    const options = parseOptions(this.id, 'reset option', resetSchemas.position, raw);
    if (options.goal) this.checkGoal(options.goal);
    let cube: number[] | undefined;
    if (this.spec.prop === 'cube') {
      if (options.object) {
        const [x, y] = options.object as [number, number];
        if (!(x >= WORKSPACE.low[0] && x <= WORKSPACE.high[0] && y >= WORKSPACE.low[1] && y <= WORKSPACE.high[1])) {
          throw new EnvOptionsError(this.id, `reset option object: [${x}, ${y}] is outside the workspace (x in [${WORKSPACE.low[0]}, ${WORKSPACE.high[0]}], y in [${WORKSPACE.low[1]}, ${WORKSPACE.high[1]}])`);
        }
        cube = [x, y, CUBE_REST_Z];
      } else {
        let dx = 0;
        let dy = 0;
        do {
          dx = rng.uniform(-objectRange, objectRange);
          dy = rng.uniform(-objectRange, objectRange);
        } while (Math.hypot(dx, dy) < minObjectDistance);
        cube = [g0[0] + dx, g0[1] + dy, CUBE_REST_Z];
      }
    }
    if (options.goal) {
      this.goal.set(options.goal);
    } else if (this.task === 'reach') {
      for (let i = 0; i < 3; i++) this.goal[i] = g0[i]! + rng.uniform(-targetRange, targetRange);
    } else {
      this.goal[0] = g0[0] + rng.uniform(-targetRange, targetRange);
      this.goal[1] = g0[1] + rng.uniform(-targetRange, targetRange);
      this.goal[2] = CUBE_REST_Z;
      if (this.task === 'pick-place' && rng.random() < 0.5) this.goal[2] += rng.uniform(0, MANIPULATION.maxGoalHeight);
    }
    this.world.build(this.home, opening, cube);
    return { obs: this.observation(), info: { isSuccess: this.isSuccess() } };
  }

  /** A goal must lie where the task can reach it: the grip workspace (reach) or on or above the table inside it (cube tasks). */
  private checkGoal(goal: readonly number[]): void {
    const low = [WORKSPACE.low[0], WORKSPACE.low[1], this.task === 'reach' ? WORKSPACE.low[2] : CUBE_REST_Z];
    const high = [WORKSPACE.high[0], WORKSPACE.high[1], this.task === 'push' ? CUBE_REST_Z : WORKSPACE.high[2]];
    const axes = ['x', 'y', 'z'];
    for (let i = 0; i < 3; i++) {
      if (!(goal[i]! >= low[i]! - 1e-9 && goal[i]! <= high[i]! + 1e-9)) {
        throw new EnvOptionsError(
          this.id,
          `reset option goal: [${goal.join(', ')}] is outside the workspace (${axes[i]} = ${goal[i]} not in [${low[i]}, ${high[i]}]; workspace x in [${low[0]}, ${high[0]}], y in [${low[1]}, ${high[1]}], z in [${low[2]}, ${high[2]}])`,
        );
      }
    }
  }

  step(action: BoxValue): StepResult {
    this.checkAction(action);
    if (!this.world.built) throw new Error(`${this.id}: call reset() before step()`);
    for (let i = 0; i < 3; i++) this.delta[i] = Math.min(Math.max(action[i]!, -1), 1) * MANIPULATION.maxDisplacement;
    const opening = this.spec.blockGripper ? null : ((Math.min(Math.max(action[3]!, -1), 1) + 1) / 2) * GRIPPER.maxOpening;
    this.world.control(this.delta, opening);
    const d = this.goalDistance();
    const success = this.isSuccessAt(d);
    const reward = this.rewardType === 'dense' ? -d : success ? 0 : -1;
    return { obs: this.observation(), reward, terminated: false, truncated: false, info: { isSuccess: success, taskMetrics: { goalDistance: d } } };
  }

  /** Distance from the achieved goal to the desired one (door: how far the angle falls short, rad). */
  goalDistance(): number {
    const w = this.world;
    if (this.spec.prop === 'door') return Math.max(0, this.goal[0]! - w.doorAngle);
    const a = this.spec.prop === 'cube' ? w.cubePos : w.kin.gripPos;
    return Math.hypot(a[0]! - this.goal[0]!, a[1]! - this.goal[1]!, a[2]! - this.goal[2]!);
  }

  private isSuccessAt(d: number): boolean {
    return this.spec.prop === 'door' ? d === 0 : d < MANIPULATION.distanceThreshold;
  }

  isSuccess(): boolean {
    return this.isSuccessAt(this.goalDistance());
  }

  private observation(): { achieved_goal: Float32Array; desired_goal: Float32Array; observation: Float32Array } {
    const w = this.world;
    const g = w.kin.gripPos;
    const o = new Float32Array(this.spec.obsSize);
    const dt = CONTROL_DT;
    let k = 0;
    const put = (...xs: number[]) => {
      for (const x of xs) o[k++] = x;
    };
    put(g[0]!, g[1]!, g[2]!);
    if (this.spec.prop === 'none') {
      put(w.finger[0]!, w.finger[1]!);
      put(w.gripVel[0]! * dt, w.gripVel[1]! * dt, w.gripVel[2]! * dt);
      put(w.fingerVel[0]! * dt, w.fingerVel[1]! * dt);
      const achieved = Float32Array.of(g[0]!, g[1]!, g[2]!);
      return { achieved_goal: achieved, desired_goal: Float32Array.of(this.goal[0]!, this.goal[1]!, this.goal[2]!), observation: o };
    }
    if (this.spec.prop === 'cube') {
      const p = w.cubePos;
      const v = w.cubeVel;
      put(p[0]!, p[1]!, p[2]!);
      put(p[0]! - g[0]!, p[1]! - g[1]!, p[2]! - g[2]!);
      put(w.finger[0]!, w.finger[1]!);
      const e = quatToEulerXyz(w.cubeQuat);
      put(e[0], e[1], e[2]);
      // Fetch reports the object's velocity relative to the grip point (`object_velp -= grip_velp`).
      put((v[0]! - w.gripVel[0]!) * dt, (v[1]! - w.gripVel[1]!) * dt, (v[2]! - w.gripVel[2]!) * dt);
      put(w.cubeAngVel[0]! * dt, w.cubeAngVel[1]! * dt, w.cubeAngVel[2]! * dt);
      put(w.gripVel[0]! * dt, w.gripVel[1]! * dt, w.gripVel[2]! * dt);
      put(w.fingerVel[0]! * dt, w.fingerVel[1]! * dt);
      return { achieved_goal: Float32Array.of(p[0]!, p[1]!, p[2]!), desired_goal: Float32Array.of(this.goal[0]!, this.goal[1]!, this.goal[2]!), observation: o };
    }
    const h = w.handlePosition(this.handle);
    put(w.finger[0]!, w.finger[1]!);
    put(w.gripVel[0]! * dt, w.gripVel[1]! * dt, w.gripVel[2]! * dt);
    put(w.fingerVel[0]! * dt, w.fingerVel[1]! * dt);
    put(h[0]!, h[1]!, h[2]!);
    put(h[0]! - g[0]!, h[1]! - g[1]!, h[2]! - g[2]!);
    put(w.doorAngle, w.doorAngVel * dt);
    return { achieved_goal: Float32Array.of(w.doorAngle), desired_goal: Float32Array.of(this.goal[0]!), observation: o };
  }

  /** Exact snapshot (world, goal, RNG) for resuming training where it stopped. */
  getSnapshot(): ManipulationEnvSnapshot {
    return { task: this.task, world: this.world.getSnapshot(), goal: Array.from(this.goal), rng: this.rngSnapshot() };
  }

  setSnapshot(snapshot: unknown): void {
    const s = snapshot as ManipulationEnvSnapshot;
    if (!s || typeof s !== 'object' || s.task !== this.task || !Array.isArray(s.goal) || s.goal.length !== 3) throw new EnvOptionsError(this.id, `not a snapshot of a ${this.task} env`);
    this.world.setSnapshot(s.world);
    this.goal.set(s.goal);
    this.restoreRng(s.rng);
  }

  /** Joint angles of the arm (rad). */
  get jointAngles(): Float64Array {
    return this.world.q;
  }

  override close(): void {
    if (!this.closed) this.world.free();
    super.close();
  }
}

export interface ManipulationEnvSnapshot {
  task: ManipulationTask;
  world: ManipulationWorldSnapshot | null;
  goal: number[];
  rng: RngState | null;
}

/** Euler angles (x, y, z; rotation R = Rz·Ry·Rx) of a quaternion (x, y, z, w), as Fetch's `mat2euler`. */
export function quatToEulerXyz(q: ArrayLike<number>): [number, number, number] {
  const x = q[0]!, y = q[1]!, z = q[2]!, w = q[3]!;
  const sinp = 2 * (w * y - z * x);
  return [Math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y)), Math.abs(sinp) >= 1 ? Math.sign(sinp) * (Math.PI / 2) : Math.asin(sinp), Math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))];
}
