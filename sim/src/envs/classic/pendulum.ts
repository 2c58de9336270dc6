/**
 * Pendulum-v1, with Gymnasium's dynamics (gymnasium/envs/classic_control/pendulum.py): semi-implicit
 * Euler at dt = 0.05 s, torque clipped to ±2, angular speed clipped to ±8, reward
 * −(normalised θ² + 0.1·θ̇² + 0.001·u²), start uniform in θ ∈ [−π, π], θ̇ ∈ [−1, 1], never terminated,
 * truncated at 200 steps by the registry's TimeLimit. Observation (cos θ, sin θ, θ̇) in float32.
 */
import { BaseEnv, EnvOptionsError, type ResetParams, type ResetResult, type StepResult } from '../../env';
import { parseOptions, z } from '../../options';
import { box, type BoxValue } from '../../spaces';
import type { RngState } from '../../rng';

export const PENDULUM = {
  maxSpeed: 8,
  maxTorque: 2.0,
  dt: 0.05,
  gravity: 10.0,
  mass: 1.0,
  length: 1.0,
  defaultX: Math.PI,
  defaultY: 1.0,
} as const;

/** Wraps an angle to [−π, π) with Python's modulo (the result takes the divisor's sign). */
export function angleNormalize(x: number): number {
  const period = 2 * Math.PI;
  const shifted = x + Math.PI;
  return shifted - period * Math.floor(shifted / period) - Math.PI;
}

const envOptionsSchema = z.object({ g: z.number().finite().positive().optional() }).strict();
const resetOptionsSchema = z
  .object({
    x_init: z.number().finite().optional(),
    y_init: z.number().finite().optional(),
  })
  .strict();

export class PendulumEnv extends BaseEnv<BoxValue> {
  readonly id = 'Pendulum-v1';
  readonly observationSpace = box([3], [-1, -1, -PENDULUM.maxSpeed], [1, 1, PENDULUM.maxSpeed]);
  readonly actionSpace = box([1], -PENDULUM.maxTorque, PENDULUM.maxTorque);
  readonly metadata = { secondsPerStep: PENDULUM.dt, description: 'Swing a pendulum up and hold it (Gymnasium Pendulum-v1).' };
  readonly gravity: number;
  /** theta, theta_dot */
  readonly state = new Float64Array(2);

  constructor(options: { g?: number } = {}) {
    super();
    this.gravity = parseOptions('Pendulum-v1', 'option', envOptionsSchema, options).g ?? PENDULUM.gravity;
  }

  reset(params?: ResetParams): ResetResult {
    const options = parseOptions(this.id, 'reset option', resetOptionsSchema, this.beginReset(params));
    const x = options.x_init ?? PENDULUM.defaultX;
    const y = options.y_init ?? PENDULUM.defaultY;
    this.state[0] = this.random.uniform(-x, x);
    this.state[1] = this.random.uniform(-y, y);
    return { obs: this.observation(), info: {} };
  }

  getSnapshot(): { state: number[]; rng: RngState | null } {
    return { state: Array.from(this.state), rng: this.rngSnapshot() };
  }

  setSnapshot(snapshot: unknown): void {
    const s = snapshot as ReturnType<PendulumEnv['getSnapshot']>;
    if (!s || !Array.isArray(s.state) || s.state.length !== 2 || !s.state.every(Number.isFinite)) throw new EnvOptionsError(this.id, 'snapshot.state must be 2 finite numbers');
    this.state.set(s.state);
    this.restoreRng(s.rng);
  }

  step(action: BoxValue): StepResult {
    this.checkAction(action);
    const { maxSpeed, maxTorque, dt, mass: m, length: l } = PENDULUM;
    const g = this.gravity;
    const th = this.state[0]!;
    const thDot = this.state[1]!;
    // Gymnasium casts the action to float32 (the action space's dtype) before clipping.
    const u = Math.min(Math.max(Math.fround(action[0]!), -maxTorque), maxTorque);
    // u is a float32 in Gymnasium, so its cost term is computed in float32 (NumPy's scalar promotion).
    const torqueCost = Math.fround(Math.fround(0.001) * Math.fround(u * u));
    const costs = angleNormalize(th) ** 2 + 0.1 * thDot ** 2 + torqueCost;
    let newThDot = thDot + ((3 * g) / (2 * l) * Math.sin(th) + (3.0 / (m * l ** 2)) * u) * dt;
    newThDot = Math.min(Math.max(newThDot, -maxSpeed), maxSpeed);
    const newTh = th + newThDot * dt;
    this.state[0] = newTh;
    this.state[1] = newThDot;
    return { obs: this.observation(), reward: -costs, terminated: false, truncated: false, info: {} };
  }

  private observation(): Float32Array {
    const th = this.state[0]!;
    return Float32Array.of(Math.cos(th), Math.sin(th), this.state[1]!);
  }
}
