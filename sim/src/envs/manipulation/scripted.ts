/**
 * Scripted demonstrators for the manipulation tasks: closed-loop controllers on the dict observation
 * (Fetch's `_get_obs` layout, env.ts) that solve `door-open`, `pick-place` and `push`, and say which step
 * of the task they are in. The phase labels are the ground truth for step discovery in perceptual
 * rewards learned from demonstrations (Sermanet, Xu & Levine 2016).
 *
 * Each controller is a pure function `(obs, phase) → { action, phase }` of the current observation and
 * the phase it was in at the previous state (0 at reset): phases only move forward, one rule per phase
 * says when the next begins. `createDemonstrator` wraps one with that bit of memory and optional
 * Gaussian action noise from a seeded `Rng` (so demonstrations differ), and `runDemonstration` plays an
 * episode in a dict env.
 *
 * Phases:
 * - `door-open`: 0 approach (the closed gripper goes to a spot 7.5 cm in front of the handle on the
 *   robot's side, then in to the handle's face, until the door has moved 0.02 rad), 1 open (push the
 *   handle along the door's normal, following its arc, slowing down as the angle nears 0.1 rad past
 *   the goal; then hold still: nothing pulls the door back).
 * - `pick-place`: 0 reach (above the cube with the gripper open, then down around it), 1 grasp and lift
 *   (close, and once the fingers have stopped on the cube, lift), 2 carry and place (the cube 2 cm
 *   clear of the table: carry it at max(goal height, 5 cm up) to above the goal, lower it onto the goal,
 *   hold it there).
 * - `push` (gripper held closed): 0 approach (over the cube to the spot behind the face whose normal points
 *   most towards the goal, then down to the table, until the fingers are in place there), 1 push (along
 *   that normal; then, if needed, round to the next face and along the other axis; stop within 2 cm).
 */
import { Rng } from '../../rng';
import { CUBE, DOOR, GRIPPER, TABLE, WORKSPACE } from './world';
import { MANIPULATION, TASKS, type ManipulationTask } from './env';

export type ScriptedTask = Extract<ManipulationTask, 'door-open' | 'pick-place' | 'push'>;
export const SCRIPTED_TASKS: readonly ScriptedTask[] = ['door-open', 'pick-place', 'push'];

/** The phase names of each demonstrator, in order (phase k is `SCRIPTED_PHASES[task][k]`). */
export const SCRIPTED_PHASES: Readonly<Record<ScriptedTask, readonly string[]>> = {
  'door-open': ['approach', 'open'],
  'pick-place': ['reach', 'grasp-lift', 'carry-place'],
  push: ['approach', 'push'],
};

/** A manipulation env's dict observation (Float32Arrays from the env, or any numbers). */
export interface ManipulationObservation {
  observation: ArrayLike<number>;
  achieved_goal: ArrayLike<number>;
  desired_goal: ArrayLike<number>;
}

export interface ScriptedStep {
  /** The env action: grip displacement (dx, dy, dz) in units of 5 cm, gripper (+1 open, −1 closed). */
  action: Float32Array;
  /** The phase this observation belongs to (≥ the phase passed in). */
  phase: number;
}

/** Tuning of the demonstrators (m, rad, action units). */
export const SCRIPTED = {
  /** Largest displacement a demonstrator commands per step, in action units (1 = 5 cm). */
  maxAction: 1,
  /** Proportional gain: action = gain · (target − grip) / 5 cm, clipped. */
  gain: 1,
  door: {
    /** The approach spot: this far from the handle's centre along the door's normal, on the robot's side. */
    standoff: 0.075,
    /** Lined up with the handle: within this of the handle's normal line, in the plane and in height. */
    arrive: 0.015,
    approachSpeed: 0.6,
    /** The contact offset: the grip point's distance from the handle's centre at the handle's face (m). */
    contact: DOOR.handleHalf[0] + GRIPPER.fingerHalf[0],
    /** The approach ends (phase 1, open) once the door has moved this far (rad). */
    moved: 0.02,
    /** Push speed: this many action units per radian still to go, within [minSpeed, pushSpeed]. */
    speedPerRad: 0.3,
    minSpeed: 0.04,
    pushSpeed: 0.6,
    /** The fingers meet the handle at no more than this speed (the door takes their speed at the impact). */
    touchSpeed: 0.15,
    /** Push to this far past the goal angle (rad), then hold still: nothing pulls the door back. */
    overshoot: 0.1,
  },
  pick: {
    /** Height above the cube's centre of the approach from above. */
    hover: 0.1,
    /** Descend once the grip is this close to the cube in xy. */
    alignXy: 0.02,
    /** Reach ends when the grip is within this of its grasp spot in xy and in z. */
    arrive: 0.012,
    /** The fingers have stopped on the cube: both speeds (m per step) below this. */
    fingersStill: 0.0008,
    /** … and their sum below this (closing on the 5 cm cube leaves ~2.5 cm each). */
    fingersClosedOn: 0.07,
    /** Lifted once the cube's centre is this far above its resting height. */
    lifted: 0.02,
    /** Carry at least this far above the resting height. */
    carryClearance: 0.05,
    /** Lower onto the goal within this xy distance of it. */
    placeXy: 0.02,
  },
  push: {
    /** Grip-to-cube distance of the spot behind the cube where pushing starts. */
    behind: 0.065,
    /** Height of the grip point above the cube's resting centre while moving over it. */
    over: 0.1,
    /** Grip height above the cube's resting centre while pushing. */
    height: 0.02,
    arrive: 0.015,
    /** Grip-to-cube-centre distance while in contact. */
    contact: CUBE.halfSize + GRIPPER.fingerHalf[0] + 0.003,
    /** How far ahead of the contact spot the push aims (m). */
    lead: 0.02,
    /** Stop within this distance of the goal (m). */
    done: 0.02,
    /** A leg ends when the goal is no more than this further along the pushed face's normal. */
    legDone: 0.008,
    pushSpeed: 0.4,
  },
} as const;

const CUBE_REST_Z = TABLE.topZ + CUBE.halfSize;
/** The lowest grip height the env commands (fingertips clear of the table). */
const LOW_Z = WORKSPACE.low[2];
/** The grip height while pushing: the fingers (±3 cm about it) cover the cube's side from 1.5 cm above the table. */
const PUSH_Z = Math.max(LOW_Z, CUBE_REST_Z + SCRIPTED.push.height);

function clip(x: number, limit: number): number {
  return x < -limit ? -limit : x > limit ? limit : x;
}

/** The action that moves the grip point from `grip` towards `target` (P control, clipped to `speed`). */
function towards(grip: ArrayLike<number>, target: ArrayLike<number>, gripper: number, speed: number = SCRIPTED.maxAction): Float32Array {
  const a = new Float32Array(4);
  for (let i = 0; i < 3; i++) a[i] = clip((SCRIPTED.gain * (target[i]! - grip[i]!)) / MANIPULATION.maxDisplacement, speed);
  a[3] = gripper;
  return a;
}

/**
 * `door-open`: approach the handle from the robot's side, then push it along the door's normal past the
 * goal angle. Observation (18): grip 0–2, fingers 3–4, grip velocity 5–7, finger velocities 8–9,
 * handle 10–12, handle − grip 13–15, door angle 16, hinge speed 17; desired_goal[0] the goal angle.
 */
export function doorOpenPolicy(obs: ManipulationObservation, phase = 0): ScriptedStep {
  const o = obs.observation;
  const grip = [o[0]!, o[1]!, o[2]!];
  const handle = [o[10]!, o[11]!, o[12]!];
  const angle = o[16]!;
  const goal = obs.desired_goal[0]!;
  const c = SCRIPTED.door;
  let p = phase;
  if (p === 0 && angle > c.moved) p = 1;
  // The door's normal away from the robot: its local +x axis turned by the door angle.
  const n = [Math.cos(angle), Math.sin(angle), 0];
  // Where the grip is relative to the handle: along the normal (negative: on the robot's side) and off it.
  const rel = [grip[0]! - handle[0]!, grip[1]! - handle[1]!, grip[2]! - handle[2]!];
  const along = rel[0]! * n[0]! + rel[1]! * n[1]!;
  const lateral = Math.hypot(rel[0]! - along * n[0]!, rel[1]! - along * n[1]!);
  const lined = along < -c.contact + 0.01 && lateral < c.arrive && Math.abs(rel[2]!) < c.arrive;
  if (p === 0 && !lined) {
    const spot = [0, 1, 2].map((i) => handle[i]! - n[i]! * c.standoff);
    return { action: towards(grip, spot, -1, c.approachSpeed), phase: 0 };
  }
  const target = goal + c.overshoot;
  if (angle >= target) return { action: Float32Array.of(0, 0, 0, -1), phase: p };
  // Push along the normal, aiming ahead of the contact spot on the handle's face. The hinge's friction
  // is a damper (time constant ~0.6 s) with no spring, so the door coasts on by ω·0.6 s once left: the
  // push speed falls in proportion to the angle still to go and the door comes to rest near the target.
  const speed = Math.min(p === 0 ? c.touchSpeed : c.pushSpeed, Math.max(c.minSpeed, c.speedPerRad * (target - angle)));
  const aim = [0, 1, 2].map((i) => handle[i]! - n[i]! * c.contact + n[i]! * MANIPULATION.maxDisplacement);
  aim[2] = handle[2]!;
  return { action: towards(grip, aim, -1, speed), phase: p };
}

/**
 * `pick-place`: reach above the cube, descend, close, lift, carry to the goal, hold. Observation (25):
 * grip 0–2, cube 3–5, cube − grip 6–8, fingers 9–10, …, finger velocities × dt 23–24; desired_goal the
 * goal position.
 */
export function pickPlacePolicy(obs: ManipulationObservation, phase = 0): ScriptedStep {
  const o = obs.observation;
  const grip = [o[0]!, o[1]!, o[2]!];
  const cube = [o[3]!, o[4]!, o[5]!];
  const goal = [obs.desired_goal[0]!, obs.desired_goal[1]!, obs.desired_goal[2]!];
  const c = SCRIPTED.pick;
  const graspZ = Math.max(cube[2]!, LOW_Z);
  let p = phase;
  if (p === 0) {
    const xy = Math.hypot(cube[0]! - grip[0]!, cube[1]! - grip[1]!);
    if (xy < c.arrive && Math.abs(grip[2]! - graspZ) < c.arrive) p = 1;
    else {
      const z = xy < c.alignXy ? graspZ : cube[2]! + c.hover;
      return { action: towards(grip, [cube[0]!, cube[1]!, z], 1), phase: 0 };
    }
  }
  if (p === 1) {
    if (cube[2]! > CUBE_REST_Z + c.lifted) p = 2;
    else {
      const still = Math.abs(o[23]!) < c.fingersStill && Math.abs(o[24]!) < c.fingersStill;
      const closed = o[9]! + o[10]! < c.fingersClosedOn;
      const z = still && closed ? cube[2]! + 0.05 : graspZ;
      return { action: towards(grip, [cube[0]!, cube[1]!, z], -1), phase: 1 };
    }
  }
  // Carry: command the cube (held at a fixed offset from the grip) rather than the grip.
  const carryZ = Math.max(goal[2]!, CUBE_REST_Z + c.carryClearance);
  const xy = Math.hypot(goal[0]! - cube[0]!, goal[1]! - cube[1]!);
  const cubeTarget = xy > c.placeXy ? [goal[0]!, goal[1]!, carryZ] : goal;
  // Lifting before moving sideways keeps the cube off the table.
  if (xy > c.placeXy && cube[2]! < carryZ - 0.03) cubeTarget[0] = cube[0]! + clip(goal[0]! - cube[0]!, 0.01);
  if (xy > c.placeXy && cube[2]! < carryZ - 0.03) cubeTarget[1] = cube[1]! + clip(goal[1]! - cube[1]!, 0.01);
  const target = [0, 1, 2].map((i) => grip[i]! + cubeTarget[i]! - cube[i]!);
  return { action: towards(grip, target, -1), phase: p };
}

/**
 * `push` (gripper held closed): the fingers are a point pusher, and a point pushing a face moves the cube
 * along the face's normal. So the cube goes to the goal along its own axes, the larger leg first: move
 * over the cube to the spot behind the face whose normal points most towards the goal, go down to the
 * table, push until the goal is no further along that normal; then, if the goal is still more than
 * 2 cm away, lift, go round to the next face and push again. Same observation layout as pick-place
 * (the cube's yaw at 13).
 */
export function pushPolicy(obs: ManipulationObservation, phase = 0): ScriptedStep {
  const o = obs.observation;
  const grip = [o[0]!, o[1]!, o[2]!];
  const cube = [o[3]!, o[4]!, o[5]!];
  const yaw = o[13]!;
  const goal = [obs.desired_goal[0]!, obs.desired_goal[1]!, obs.desired_goal[2]!];
  const c = SCRIPTED.push;
  const dx = goal[0]! - cube[0]!;
  const dy = goal[1]! - cube[1]!;
  const d = Math.hypot(dx, dy);
  const hold = Float32Array.of(0, 0, 0, 0);
  // The cube's four face normals in the plane; the remaining push along normal k.
  const normal = (k: number): [number, number] => [Math.cos(yaw + (k * Math.PI) / 2), Math.sin(yaw + (k * Math.PI) / 2)];
  const remaining = (f: readonly number[]): number => dx * f[0]! + dy * f[1]!;
  let best = 0;
  for (let k = 1; k < 4; k++) if (remaining(normal(k)) > remaining(normal(best))) best = k;
  // In contact: low, and behind one face (the grip's offset from the cube within 0.4 rad of minus its normal).
  const rx = cube[0]! - grip[0]!;
  const ry = cube[1]! - grip[1]!;
  const r = Math.hypot(rx, ry);
  let current = -1;
  if (Math.abs(grip[2]! - PUSH_Z) < c.arrive && r < c.behind + c.arrive) {
    for (let k = 0; k < 4; k++) {
      const f = normal(k);
      if ((rx * f[0] + ry * f[1]) / Math.max(r, 1e-9) > Math.cos(0.4)) current = k;
    }
  }
  let p = phase;
  if (p === 0 && current === best) p = 1;
  if (p === 1 && d < c.done) return { action: hold, phase: p };
  // Keep pushing the face in contact while the goal lies further along its normal.
  const face = current >= 0 && remaining(normal(current)) > c.legDone ? current : best;
  const f = normal(face);
  if (face === current) {
    const step = Math.min(remaining(f), c.lead);
    const target = [cube[0]! - f[0] * c.contact + f[0] * step, cube[1]! - f[1] * c.contact + f[1] * step, PUSH_Z];
    return { action: towards(grip, target, 0, c.pushSpeed), phase: p };
  }
  if (p === 1 && remaining(f) <= c.legDone) return { action: hold, phase: p };
  // Go round to the spot behind that face: up (clear of the cube), across, down.
  const behind = [cube[0]! - f[0] * c.behind, cube[1]! - f[1] * c.behind];
  const xyErr = Math.hypot(behind[0]! - grip[0]!, behind[1]! - grip[1]!);
  const overZ = CUBE_REST_Z + c.over;
  let target: number[];
  if (xyErr < c.arrive) target = [behind[0]!, behind[1]!, PUSH_Z];
  else if (grip[2]! > overZ - 0.02 || r > c.behind + 0.03) target = [behind[0]!, behind[1]!, overZ];
  else target = [grip[0]! - (rx / Math.max(r, 1e-9)) * 0.01, grip[1]! - (ry / Math.max(r, 1e-9)) * 0.01, overZ];
  return { action: towards(grip, target, 0), phase: p };
}

/** The pure controller of a task: `(obs, phase) → { action, phase }`. */
export function scriptedPolicy(task: ScriptedTask): (obs: ManipulationObservation, phase?: number) => ScriptedStep {
  switch (task) {
    case 'door-open':
      return doorOpenPolicy;
    case 'pick-place':
      return pickPlacePolicy;
    case 'push':
      return pushPolicy;
    default:
      throw new RangeError(`no scripted demonstrator for "${String(task)}" (there are: ${SCRIPTED_TASKS.join(', ')})`);
  }
}

export interface DemonstratorOptions {
  /** Standard deviation of Gaussian noise added to the displacement actions (action units; default 0). */
  noise?: number;
  /** The noise's generator (default: a stream of its own drawn from `new Rng(seed ?? 0)`). */
  rng?: Rng;
  seed?: number;
}

/** A scripted demonstrator with its phase memory: call `reset()` at every episode start, then `act(obs)` per state. */
export interface ScriptedDemonstrator {
  readonly task: ScriptedTask;
  readonly phaseNames: readonly string[];
  /** The phase of the last observation passed to `act` (0 before any). */
  readonly phase: number;
  reset(): void;
  /** The action for `obs`; updates `phase` to the phase of `obs`. */
  act(obs: ManipulationObservation): Float32Array;
}

export function createDemonstrator(task: ScriptedTask, options: DemonstratorOptions = {}): ScriptedDemonstrator {
  const policy = scriptedPolicy(task);
  const noise = options.noise ?? 0;
  if (!(typeof noise === 'number' && Number.isFinite(noise) && noise >= 0)) throw new RangeError(`demonstrator noise must be a finite number ≥ 0, got ${String(noise)}`);
  // A stream of its own: the env's Rng(seed) draws the episode's goal.
  const rng = options.rng ?? new Rng(new Rng(options.seed ?? 0).nextSeed());
  let phase = 0;
  return {
    task,
    phaseNames: SCRIPTED_PHASES[task],
    get phase() {
      return phase;
    },
    reset() {
      phase = 0;
    },
    act(obs) {
      const step = policy(obs, phase);
      phase = step.phase;
      if (noise > 0) for (let i = 0; i < 3; i++) step.action[i] = clip(step.action[i]! + rng.normal(0, noise), 1);
      return step.action;
    },
  };
}

/** The part of a dict manipulation env `runDemonstration` drives (a `ManipulationEnv`, or one through wrappers). */
export interface DemonstrationEnv {
  reset(params?: { seed?: number; options?: Record<string, unknown> }): { obs: unknown; info: Record<string, unknown> };
  step(action: Float32Array): { obs: unknown; info: Record<string, unknown>; terminated: boolean; truncated: boolean };
}

export interface DemonstrationResult {
  /** `info.isSuccess` at the last step (Fetch's convention). */
  success: boolean;
  /** Whether any step was a success. */
  everSuccess: boolean;
  steps: number;
  /** The phase of every state: reset state first, then after each step (steps + 1 entries). */
  phases: number[];
}

/**
 * Plays one episode of `task`'s demonstrator in a dict env (`flatten: false`): reset with `seed`, then
 * `steps` steps (default the task's episode length: 50, door-open 100; fewer if the env ends the episode). `onState(k, phase)` is called at every state, the
 * reset state first (k = 0), before the next step: where a recorder captures frames.
 */
export function runDemonstration(
  env: DemonstrationEnv,
  task: ScriptedTask,
  options: DemonstratorOptions & { steps?: number; resetOptions?: Record<string, unknown>; onState?: (k: number, phase: number, obs: ManipulationObservation) => void } = {},
): DemonstrationResult {
  const demo = createDemonstrator(task, options);
  const limit = options.steps ?? TASKS[task].maxEpisodeSteps;
  const r0 = env.reset({ ...(options.seed !== undefined ? { seed: options.seed } : {}), ...(options.resetOptions ? { options: options.resetOptions } : {}) });
  let obs = r0.obs as ManipulationObservation;
  if (!obs || typeof obs !== 'object' || !('observation' in obs)) throw new TypeError('runDemonstration needs the dict env (make it with { flatten: false })');
  const phases: number[] = [];
  let success = r0.info.isSuccess === true;
  let everSuccess = success;
  let steps = 0;
  let ended = false;
  for (;;) {
    const action = demo.act(obs);
    phases.push(demo.phase);
    options.onState?.(steps, demo.phase, obs);
    if (ended || steps >= limit) break;
    const r = env.step(action);
    steps++;
    obs = r.obs as ManipulationObservation;
    success = r.info.isSuccess === true;
    everSuccess ||= success;
    ended = r.terminated || r.truncated;
  }
  return { success, everSuccess, steps, phases };
}
