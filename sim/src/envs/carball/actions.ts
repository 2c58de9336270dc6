/**
 * Action parsers (RLGym conventions, REFERENCES.md §1): each turns one agent's action into the 8
 * controls (throttle, steer, pitch, yaw, roll, jump, boost, handbrake).
 * - `lookup` (default): `discrete(90)`, RLGym's LookupAction table of useful combinations.
 * - `continuous`: a box of 8 in [−1, 1]; jump, boost and handbrake are on when > 0.
 * - `multi-discrete`: nvec [3, 3, 3, 3, 3, 2, 2, 2]; the first five map {0, 1, 2} to {−1, 0, 1}.
 */
import { box, discrete, multiDiscrete, type Space } from '../../spaces';
import { NUM_CONTROLS } from './world';

export type CarballActionParser = 'lookup' | 'continuous' | 'multi-discrete';
export const CARBALL_ACTION_PARSERS = ['lookup', 'continuous', 'multi-discrete'] as const;

/**
 * The 90-row lookup table. Ground rows (24): throttle, steer ∈ {−1, 0, 1}, boost, handbrake ∈ {0, 1},
 * boost only with throttle 1. Aerial rows (66): pitch, yaw, roll ∈ {−1, 0, 1}, jump, boost ∈ {0, 1},
 * without jump + yaw (roll makes the side flips) and without pitch = roll = jump = 0 (ground
 * duplicates); handbrake set when jumping with any rotation (wavedashes).
 */
function buildLookupTable(): Float32Array {
  const rows: number[][] = [];
  const tri = [-1, 0, 1];
  for (const throttle of tri) {
    for (const steer of tri) {
      for (const boost of [0, 1]) {
        for (const handbrake of [0, 1]) {
          if (boost === 1 && throttle !== 1) continue;
          rows.push([throttle || boost, steer, 0, steer, 0, 0, boost, handbrake]);
        }
      }
    }
  }
  for (const pitch of tri) {
    for (const yaw of tri) {
      for (const roll of tri) {
        for (const jump of [0, 1]) {
          for (const boost of [0, 1]) {
            if (jump === 1 && yaw !== 0) continue;
            if (pitch === 0 && roll === 0 && jump === 0) continue;
            const handbrake = jump === 1 && (pitch !== 0 || yaw !== 0 || roll !== 0) ? 1 : 0;
            rows.push([boost, yaw, pitch, yaw, roll, jump, boost, handbrake]);
          }
        }
      }
    }
  }
  return Float32Array.from(rows.flat());
}

/** Row-major, NUM_CONTROLS per row. */
export const LOOKUP_TABLE: Float32Array = buildLookupTable();
export const LOOKUP_TABLE_SIZE = LOOKUP_TABLE.length / NUM_CONTROLS;

export function actionSpaceOf(parser: CarballActionParser): Space {
  switch (parser) {
    case 'lookup':
      return discrete(LOOKUP_TABLE_SIZE);
    case 'continuous':
      return box([NUM_CONTROLS], -1, 1);
    case 'multi-discrete':
      return multiDiscrete([3, 3, 3, 3, 3, 2, 2, 2]);
  }
}

/** Writes the 8 controls of a (validated) action into `out` at `offset`. */
export function parseAction(parser: CarballActionParser, action: unknown, out: Float32Array, offset: number): void {
  if (parser === 'lookup') {
    const row = (action as number) * NUM_CONTROLS;
    for (let k = 0; k < NUM_CONTROLS; k++) out[offset + k] = LOOKUP_TABLE[row + k]!;
    return;
  }
  const a = action as ArrayLike<number>;
  if (parser === 'continuous') {
    for (let k = 0; k < 5; k++) out[offset + k] = a[k]!;
    for (let k = 5; k < NUM_CONTROLS; k++) out[offset + k] = a[k]! > 0 ? 1 : 0;
    return;
  }
  for (let k = 0; k < 5; k++) out[offset + k] = a[k]! - 1;
  for (let k = 5; k < NUM_CONTROLS; k++) out[offset + k] = a[k]!;
}

/** Parses one slot's action out of a flat vector-env action buffer (`actionSize` numbers per slot). */
export function parseFlatAction(parser: CarballActionParser, actions: ArrayLike<number>, slot: number, out: Float32Array, offset: number): void {
  if (parser === 'lookup') {
    const row = actions[slot]! * NUM_CONTROLS;
    for (let k = 0; k < NUM_CONTROLS; k++) out[offset + k] = LOOKUP_TABLE[row + k]!;
    return;
  }
  const base = slot * NUM_CONTROLS;
  if (parser === 'continuous') {
    for (let k = 0; k < 5; k++) out[offset + k] = actions[base + k]!;
    for (let k = 5; k < NUM_CONTROLS; k++) out[offset + k] = actions[base + k]! > 0 ? 1 : 0;
    return;
  }
  for (let k = 0; k < 5; k++) out[offset + k] = actions[base + k]! - 1;
  for (let k = 5; k < NUM_CONTROLS; k++) out[offset + k] = actions[base + k]!;
}

/** The lookup row closest to 8 controls (for scripted policies that think in controls). */
export function nearestLookupAction(controls: ArrayLike<number>): number {
  let best = 0;
  let bestD = Infinity;
  for (let r = 0; r < LOOKUP_TABLE_SIZE; r++) {
    let d = 0;
    for (let k = 0; k < NUM_CONTROLS; k++) {
      const e = LOOKUP_TABLE[r * NUM_CONTROLS + k]! - controls[k]!;
      d += e * e;
    }
    if (d < bestD) {
      bestD = d;
      best = r;
    }
  }
  return best;
}
