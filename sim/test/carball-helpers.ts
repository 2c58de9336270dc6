/** Builders for carball tests: states written by hand in the public frame (uu). */
import { createCarballEnv, type CarballEnv, type CarballOptions, type CarballState, type CarState } from '../src';

export const REST_Z = 17; // car rest height (REFERENCES.md §1)
export const BALL_RADIUS = 91.25;

export function yawQuatOf(yaw: number): [number, number, number, number] {
  return [0, 0, Math.sin(yaw / 2), Math.cos(yaw / 2)];
}

export function carAt(id: number, team: 0 | 1, x: number, y: number, yaw: number, extra: Partial<CarState> = {}): CarState {
  return { id, team, pos: [x, y, REST_Z], vel: [0, 0, 0], angVel: [0, 0, 0], quat: yawQuatOf(yaw), boost: 0, onGround: true, demolished: false, ...extra };
}

/** A 1v1 state with the ball parked in a corner and the orange car out of the way. */
export function quietState(blue: Partial<CarState> & { x: number; y: number; yaw: number }, ball: Partial<CarballState['ball']> = {}): CarballState {
  const { x, y, yaw, ...rest } = blue;
  if (rest.pos) rest.onGround = false;
  return {
    tick: 0,
    score: [0, 0],
    ball: { pos: [3000, 4000, 93.15], vel: [0, 0, 0], angVel: [0, 0, 0], ...ball },
    cars: [carAt(0, 0, x, y, yaw, rest), carAt(1, 1, 3500, -3000, Math.PI / 2)],
  };
}

export async function carballEnv(options: CarballOptions = {}): Promise<CarballEnv> {
  return createCarballEnv({ noTouchTimeoutSeconds: 0, ...options });
}

/** 8 controls for the continuous parser. */
export function controls(c: Partial<Record<'throttle' | 'steer' | 'pitch' | 'yaw' | 'roll' | 'jump' | 'boost' | 'handbrake', number>>): Float32Array {
  return Float32Array.from([c.throttle ?? 0, c.steer ?? 0, c.pitch ?? 0, c.yaw ?? 0, c.roll ?? 0, c.jump ?? 0, c.boost ?? 0, c.handbrake ?? 0]);
}

export const IDLE = controls({});
export const speedOf = (v: readonly number[]): number => Math.hypot(v[0]!, v[1]!, v[2]!);
