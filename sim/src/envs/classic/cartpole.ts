/**
 * CartPole-v1, with Gymnasium's dynamics (Barto, Sutton & Anderson 1983, as in
 * gymnasium/envs/classic_control/cartpole.py): explicit Euler integration at tau = 0.02 s, force ±10 N,
 * termination at |x| > 2.4 m or |theta| > 12°, reward +1 on every step including the terminating one,
 * initial state uniform in [−0.05, 0.05]⁴, episodes truncated at 500 steps by the registry's TimeLimit.
 * State is kept in float64 and returned as float32, as Gymnasium does.
 */
import { BaseEnv, EnvOptionsError, type ResetParams, type ResetResult, type StepResult } from '../../env';
import { parseOptions, z } from '../../options';
import { box, discrete, FLOAT32_MAX } from '../../spaces';
import type { RngState } from '../../rng';

export const CARTPOLE = {
  gravity: 9.8,
  massCart: 1.0,
  massPole: 0.1,
  /** Half the pole's length (m). */
  length: 0.5,
  forceMag: 10.0,
  tau: 0.02,
  thetaThresholdRadians: (12 * 2 * Math.PI) / 360,
  xThreshold: 2.4,
} as const;

const resetOptionsSchema = z
  .object({
    low: z.number().finite().optional(),
    high: z.number().finite().optional(),
  })
  .strict();

export class CartPoleEnv extends BaseEnv<number> {
  readonly id = 'CartPole-v1';
  readonly observationSpace = box(
    [4],
    [-CARTPOLE.xThreshold * 2, -FLOAT32_MAX, -CARTPOLE.thetaThresholdRadians * 2, -FLOAT32_MAX],
    [CARTPOLE.xThreshold * 2, FLOAT32_MAX, CARTPOLE.thetaThresholdRadians * 2, FLOAT32_MAX],
  );
  readonly actionSpace = discrete(2);
  readonly metadata = { secondsPerStep: CARTPOLE.tau, description: 'Balance a pole on a cart (Gymnasium CartPole-v1).' };
  /** x, x_dot, theta, theta_dot */
  readonly state = new Float64Array(4);
  private stepsBeyondTerminated: number | null = null;

  reset(params?: ResetParams): ResetResult {
    const options = parseOptions(this.id, 'reset option', resetOptionsSchema, this.beginReset(params));
    const low = options.low ?? -0.05;
    const high = options.high ?? 0.05;
    if (low > high) throw new Error(`${this.id}: reset option low (${low}) exceeds high (${high})`);
    for (let i = 0; i < 4; i++) this.state[i] = this.random.uniform(low, high);
    this.stepsBeyondTerminated = null;
    return { obs: Float32Array.from(this.state), info: {} };
  }

  getSnapshot(): { state: number[]; rng: RngState | null; stepsBeyondTerminated: number | null } {
    return { state: Array.from(this.state), rng: this.rngSnapshot(), stepsBeyondTerminated: this.stepsBeyondTerminated };
  }

  setSnapshot(snapshot: unknown): void {
    const s = snapshot as ReturnType<CartPoleEnv['getSnapshot']>;
    if (!s || !Array.isArray(s.state) || s.state.length !== 4 || !s.state.every(Number.isFinite)) throw new EnvOptionsError(this.id, 'snapshot.state must be 4 finite numbers');
    this.state.set(s.state);
    this.restoreRng(s.rng);
    this.stepsBeyondTerminated = s.stepsBeyondTerminated ?? null;
  }

  step(action: number): StepResult {
    this.checkAction(action);
    const c = CARTPOLE;
    let [x, xDot, theta, thetaDot] = this.state as unknown as [number, number, number, number];
    const force = action === 1 ? c.forceMag : -c.forceMag;
    const cosTheta = Math.cos(theta);
    const sinTheta = Math.sin(theta);
    const totalMass = c.massPole + c.massCart;
    const poleMassLength = c.massPole * c.length;
    const temp = (force + poleMassLength * thetaDot ** 2 * sinTheta) / totalMass;
    const thetaAcc = (c.gravity * sinTheta - cosTheta * temp) / (c.length * (4.0 / 3.0 - (c.massPole * cosTheta ** 2) / totalMass));
    const xAcc = temp - (poleMassLength * thetaAcc * cosTheta) / totalMass;
    // Euler, in Gymnasium's order: positions use the old velocities.
    x = x + c.tau * xDot;
    xDot = xDot + c.tau * xAcc;
    theta = theta + c.tau * thetaDot;
    thetaDot = thetaDot + c.tau * thetaAcc;
    this.state[0] = x;
    this.state[1] = xDot;
    this.state[2] = theta;
    this.state[3] = thetaDot;

    const terminated = x < -c.xThreshold || x > c.xThreshold || theta < -c.thetaThresholdRadians || theta > c.thetaThresholdRadians;
    let reward: number;
    if (!terminated) reward = 1.0;
    else if (this.stepsBeyondTerminated === null) {
      this.stepsBeyondTerminated = 0;
      reward = 1.0;
    } else {
      // Stepping past termination is a caller bug; Gymnasium warns and pays 0.
      this.stepsBeyondTerminated += 1;
      reward = 0.0;
    }
    return { obs: Float32Array.from(this.state), reward, terminated, truncated: false, info: {} };
  }
}
