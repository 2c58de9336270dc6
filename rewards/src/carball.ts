/**
 * Carball geometry for the reward terms: the state contract, RLGym's field constants (REFERENCES.md §1,
 * RLGym `common_values`) and the small vector helpers the terms are written with. Every number is in uu.
 */
import { z } from 'zod';

import type { CarballState, Vec3, Quat } from '@rewardlab/sim';
export type { BallState, CarState, CarballEvents, CarballState, Quat, Vec3 } from '@rewardlab/sim';
export { CARBALL_EVENT_NAMES } from '@rewardlab/sim';
import { CARBALL_EVENT_NAMES } from '@rewardlab/sim';

/** RLGym's `common_values` (REFERENCES.md §1): the constants the reward formulas are written against. */
export const RLGYM = {
  ballRadius: 91.25,
  carMaxSpeed: 2300,
  ballMaxSpeed: 6000,
  backWallY: 5120,
  backNetY: 6000,
  goalHeight: 642.775,
} as const;

/** The back of a goal's net, at half the goal's height (RLGym's BLUE_GOAL_BACK / ORANGE_GOAL_BACK). */
export const BLUE_GOAL_BACK: Vec3 = [0, -RLGYM.backNetY, RLGYM.goalHeight / 2];
export const ORANGE_GOAL_BACK: Vec3 = [0, RLGYM.backNetY, RLGYM.goalHeight / 2];

/** Team 0 (blue) defends y = −5120 and attacks +y; team 1 (orange) the reverse. */
export function ownGoalBack(team: 0 | 1): Vec3 {
  return team === 0 ? BLUE_GOAL_BACK : ORANGE_GOAL_BACK;
}
export function opponentGoalBack(team: 0 | 1): Vec3 {
  return team === 0 ? ORANGE_GOAL_BACK : BLUE_GOAL_BACK;
}

export function sub(a: Vec3, b: Vec3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}
export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
export function norm(a: Vec3): number {
  return Math.sqrt(dot(a, a));
}
/** a / |a|, or the zero vector for a zero vector (RLGym divides by |a| and would produce NaN there). */
export function unit(a: Vec3): Vec3 {
  const n = norm(a);
  return n === 0 ? [0, 0, 0] : [a[0] / n, a[1] / n, a[2] / n];
}
/** cos of the angle between a and b (0 when either is the zero vector). */
export function cosineSimilarity(a: Vec3, b: Vec3): number {
  return dot(unit(a), unit(b));
}

/** The car's forward vector: the quaternion (x, y, z, w) applied to the local +x axis. */
export function forwardOf(q: Quat): Vec3 {
  const [x, y, z, w] = q;
  return [1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y)];
}

const vec3 = z.tuple([z.number().finite(), z.number().finite(), z.number().finite()]);

const carSchema = z.strictObject({
  id: z.number().int(),
  team: z.union([z.literal(0), z.literal(1)]),
  pos: vec3,
  vel: vec3,
  angVel: vec3,
  quat: z.tuple([z.number().finite(), z.number().finite(), z.number().finite(), z.number().finite()]),
  boost: z.number().min(0).max(100),
  onGround: z.boolean(),
  demolished: z.boolean(),
  supersonic: z.boolean().optional(),
  hasFlip: z.boolean().optional(),
});

/** The DESIGN.md "Carball state" JSON shape, for `rewardlab reward eval` lines and state setters. */
export const carballStateSchema = z.strictObject({
  tick: z.number().int().min(0),
  score: z.tuple([z.number().int().min(0), z.number().int().min(0)]),
  ball: z.strictObject({ pos: vec3, vel: vec3, angVel: vec3 }),
  cars: z.array(carSchema).min(1),
});

export const carballEventsSchema = z.strictObject(
  Object.fromEntries(CARBALL_EVENT_NAMES.map((k) => [k, z.number().finite().min(0).optional()])) as Record<(typeof CARBALL_EVENT_NAMES)[number], z.ZodOptional<z.ZodNumber>>,
);

export function isCarballState(x: unknown): x is CarballState {
  return typeof x === 'object' && x !== null && 'ball' in x && 'cars' in x && Array.isArray((x as CarballState).cars);
}

/** A deep copy (the env may reuse its state object between steps). */
export function cloneCarballState(s: CarballState): CarballState {
  return {
    tick: s.tick,
    score: [s.score[0], s.score[1]],
    ball: { pos: [...s.ball.pos], vel: [...s.ball.vel], angVel: [...s.ball.angVel] },
    cars: s.cars.map((c) => ({
      id: c.id,
      team: c.team,
      pos: [...c.pos],
      vel: [...c.vel],
      angVel: [...c.angVel],
      quat: [...c.quat],
      boost: c.boost,
      onGround: c.onGround,
      demolished: c.demolished,
    })),
  };
}
