import type { CarballState, CarState, Vec3 } from '../src';

/** A yaw-only orientation (rotation by ψ about +z) as a quaternion (x, y, z, w). */
export function yawQuat(psi: number): [number, number, number, number] {
  return [0, 0, Math.sin(psi / 2), Math.cos(psi / 2)];
}

export function car(team: 0 | 1, pos: Vec3, vel: Vec3 = [0, 0, 0], yaw = 0, boost = 33): CarState {
  return { id: 0, team, pos, vel, angVel: [0, 0, 0], quat: yawQuat(yaw), boost, onGround: true, demolished: false };
}

export function state(ball: { pos: Vec3; vel?: Vec3 }, cars: CarState[]): CarballState {
  return { tick: 0, score: [0, 0], ball: { pos: ball.pos, vel: ball.vel ?? [0, 0, 0], angVel: [0, 0, 0] }, cars: cars.map((c, i) => ({ ...c, id: i })) };
}

/**
 * The same situation seen from the other side: rotate the field by π about z (x → −x, y → −y) and swap
 * the teams. Every term must pay each car the same as before. The quaternion is q_z(π) ⊗ q.
 */
export function mirror(s: CarballState): CarballState {
  const flip = (v: Vec3): Vec3 => [-v[0], -v[1], v[2]];
  return {
    ...s,
    score: [s.score[1], s.score[0]],
    ball: { pos: flip(s.ball.pos), vel: flip(s.ball.vel), angVel: flip(s.ball.angVel) },
    cars: s.cars.map((c) => {
      const [x, y, z, w] = c.quat;
      return { ...c, team: (1 - c.team) as 0 | 1, pos: flip(c.pos), vel: flip(c.vel), angVel: flip(c.angVel), quat: [-y, x, w, -z] };
    }),
  };
}

export const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
export const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const len = (a: Vec3): number => Math.hypot(a[0], a[1], a[2]);
export const cos = (a: Vec3, b: Vec3): number => dot(a, b) / (len(a) * len(b));
