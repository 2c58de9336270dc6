/**
 * The "ball chaser": a scripted baseline opponent for evaluations. It drives at the ball, boosts when
 * pointed at it and not yet supersonic, powerslides through sharp turns, and jumps when the ball is
 * close and above the car's roof.
 */
import { nearestLookupAction } from './actions';
import type { CarballState } from './state';

/** Tuning of the chaser, in uu, rad and seconds. */
export const BALL_CHASER = {
  steerGain: 2.5,
  boostWithinRad: 0.3,
  powerslideBeyondRad: 1.8,
  jumpWithinUu: 300,
  jumpBallAboveUu: 180,
  boostBelowSpeedUu: 2200,
} as const;

/** The chaser's 8 controls (throttle, steer, pitch, yaw, roll, jump, boost, handbrake) for car `carId`. */
export function ballChaserControls(state: CarballState, carId: number): Float32Array {
  const car = state.cars.find((c) => c.id === carId);
  if (!car) throw new RangeError(`ballChaser: no car with id ${carId} (ids ${state.cars.map((c) => c.id).join(', ')})`);
  const out = new Float32Array(8);
  if (car.demolished) return out;
  const [qx, qy, qz, qw] = car.quat;
  const yaw = Math.atan2(2 * (qx * qy + qw * qz), 1 - 2 * (qy * qy + qz * qz));
  const dx = state.ball.pos[0] - car.pos[0];
  const dy = state.ball.pos[1] - car.pos[1];
  const dz = state.ball.pos[2] - car.pos[2];
  let angle = Math.atan2(dy, dx) - yaw;
  angle = Math.atan2(Math.sin(angle), Math.cos(angle));
  // Steer +1 turns right, i.e. towards negative angles.
  const steer = Math.max(-1, Math.min(1, -BALL_CHASER.steerGain * angle));
  const speed = Math.hypot(car.vel[0], car.vel[1], car.vel[2]);
  const dist = Math.hypot(dx, dy);
  out[0] = 1;
  out[1] = steer;
  out[3] = steer;
  out[6] = car.onGround && Math.abs(angle) < BALL_CHASER.boostWithinRad && speed < BALL_CHASER.boostBelowSpeedUu && car.boost > 0 ? 1 : 0;
  out[7] = car.onGround && Math.abs(angle) > BALL_CHASER.powerslideBeyondRad ? 1 : 0;
  out[5] = car.onGround && dist < BALL_CHASER.jumpWithinUu && dz > BALL_CHASER.jumpBallAboveUu ? 1 : 0;
  return out;
}

/** The chaser's action as an index into the 90-row lookup table. */
export function ballChaser(state: CarballState, carId: number): number {
  return nearestLookupAction(ballChaserControls(state, carId));
}
