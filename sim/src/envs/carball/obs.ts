/**
 * RLGym's AdvancedObs for carball (REFERENCES.md §1): positions and velocities divided by 2300, angular
 * velocities by π; ball (9) + previous action (8) + 34 boost pads + the observing car (25) + 31 per other
 * car (its 25-value block and its position and velocity relative to the observer), allies first:
 * 107 / 169 / 231 floats for 1v1 / 2v2 / 3v3. Team 1 sees the field rotated 180° about z
 * ((x, y, z) → (−x, −y, z), pads in reverse order), so every agent attacks +y in its own frame.
 */
import { BOOST_PADS } from './arena';
import { NUM_CONTROLS, type CarballWorld } from './world';

export const POS_STD = 2300;
export const ANG_STD = Math.PI;
const CAR_BLOCK = 25;
const OTHER_BLOCK = CAR_BLOCK + 6;
const NUM_PADS = BOOST_PADS.length;

/**
 * `advanced`: RLGym's AdvancedObs. `advanced-local`: the same, then the ball's position and velocity
 * relative to the observing car in that car's own frame (forward, left, up; ÷ 2300): 6 more floats. In
 * AdvancedObs the ball's offset is in field axes, so turning toward the ball is a product of it and the
 * car's forward axis that a small MLP learns slowly; in the car's frame it is one input's sign.
 */
export const CARBALL_OBS_BUILDERS = ['advanced', 'advanced-local'] as const;
export type CarballObsBuilder = (typeof CARBALL_OBS_BUILDERS)[number];
const LOCAL_BLOCK = 6;

export function advancedObsSize(teamSize: number, builder: CarballObsBuilder = 'advanced'): number {
  return 9 + NUM_CONTROLS + NUM_PADS + CAR_BLOCK + OTHER_BLOCK * (2 * teamSize - 1) + (builder === 'advanced-local' ? LOCAL_BLOCK : 0);
}

/** Writes the observation of car `c` of arena `a` by `builder` (see writeAdvancedObs). */
export function writeCarballObs(builder: CarballObsBuilder, w: CarballWorld, a: number, c: number, prevAction: Float32Array, prevOffset: number, out: Float32Array, offset: number): void {
  writeAdvancedObs(w, a, c, prevAction, prevOffset, out, offset);
  if (builder === 'advanced-local') writeLocalBall(w, a, a * w.numCars + c, out, offset + advancedObsSize(w.teamSize));
}

/** The ball relative to car g in the car's frame: position then velocity along its forward, left and up axes. */
function writeLocalBall(w: CarballWorld, a: number, g: number, out: Float32Array, o: number): void {
  const q = w.carQuat;
  const qx = q[4 * g]!, qy = q[4 * g + 1]!, qz = q[4 * g + 2]!, qw = q[4 * g + 3]!;
  // the columns of the car's rotation matrix: forward (local x), left (local y), up (local z)
  const fx = 1 - 2 * (qy * qy + qz * qz), fy = 2 * (qx * qy + qw * qz), fz = 2 * (qx * qz - qw * qy);
  const lx = 2 * (qx * qy - qw * qz), ly = 1 - 2 * (qx * qx + qz * qz), lz = 2 * (qy * qz + qw * qx);
  const ux = 2 * (qx * qz + qw * qy), uy = 2 * (qy * qz - qw * qx), uz = 1 - 2 * (qx * qx + qy * qy);
  const b = 3 * a;
  const dx = w.ballPos[b]! - w.carPos[3 * g]!, dy = w.ballPos[b + 1]! - w.carPos[3 * g + 1]!, dz = w.ballPos[b + 2]! - w.carPos[3 * g + 2]!;
  const vx = w.ballVel[b]! - w.carVel[3 * g]!, vy = w.ballVel[b + 1]! - w.carVel[3 * g + 1]!, vz = w.ballVel[b + 2]! - w.carVel[3 * g + 2]!;
  out[o] = (dx * fx + dy * fy + dz * fz) / POS_STD;
  out[o + 1] = (dx * lx + dy * ly + dz * lz) / POS_STD;
  out[o + 2] = (dx * ux + dy * uy + dz * uz) / POS_STD;
  out[o + 3] = (vx * fx + vy * fy + vz * fz) / POS_STD;
  out[o + 4] = (vx * lx + vy * ly + vz * lz) / POS_STD;
  out[o + 5] = (vx * ux + vy * uy + vz * uz) / POS_STD;
}

/**
 * Writes car `c` of arena `a`'s observation into `out` at `offset`. `prevAction` holds that car's last
 * controls (NUM_CONTROLS floats at `prevOffset`).
 */
export function writeAdvancedObs(w: CarballWorld, a: number, c: number, prevAction: Float32Array, prevOffset: number, out: Float32Array, offset: number): void {
  const team = c < w.teamSize ? 0 : 1;
  const m = team === 0 ? 1 : -1;
  let o = offset;
  const b = 3 * a;
  const bpx = w.ballPos[b]!, bpy = w.ballPos[b + 1]!, bpz = w.ballPos[b + 2]!;
  const bvx = w.ballVel[b]!, bvy = w.ballVel[b + 1]!, bvz = w.ballVel[b + 2]!;
  out[o++] = (m * bpx) / POS_STD;
  out[o++] = (m * bpy) / POS_STD;
  out[o++] = bpz / POS_STD;
  out[o++] = (m * bvx) / POS_STD;
  out[o++] = (m * bvy) / POS_STD;
  out[o++] = bvz / POS_STD;
  out[o++] = (m * w.ballAngVel[b]!) / ANG_STD;
  out[o++] = (m * w.ballAngVel[b + 1]!) / ANG_STD;
  out[o++] = w.ballAngVel[b + 2]! / ANG_STD;
  for (let k = 0; k < NUM_CONTROLS; k++) out[o++] = prevAction[prevOffset + k]!;
  const p0 = a * NUM_PADS;
  for (let p = 0; p < NUM_PADS; p++) out[o++] = w.padTimer[p0 + (team === 0 ? p : NUM_PADS - 1 - p)]! > 0 ? 0 : 1;
  const g = a * w.numCars + c;
  o = writeCarBlock(w, g, m, bpx, bpy, bpz, bvx, bvy, bvz, out, o);
  // Allies first, then opponents, each in slot order.
  for (let pass = 0; pass < 2; pass++) {
    for (let k = 0; k < w.numCars; k++) {
      if (k === c || ((k < w.teamSize ? 0 : 1) === team) !== (pass === 0)) continue;
      const h = a * w.numCars + k;
      o = writeCarBlock(w, h, m, bpx, bpy, bpz, bvx, bvy, bvz, out, o);
      out[o++] = (m * (w.carPos[3 * h]! - w.carPos[3 * g]!)) / POS_STD;
      out[o++] = (m * (w.carPos[3 * h + 1]! - w.carPos[3 * g + 1]!)) / POS_STD;
      out[o++] = (w.carPos[3 * h + 2]! - w.carPos[3 * g + 2]!) / POS_STD;
      out[o++] = (m * (w.carVel[3 * h]! - w.carVel[3 * g]!)) / POS_STD;
      out[o++] = (m * (w.carVel[3 * h + 1]! - w.carVel[3 * g + 1]!)) / POS_STD;
      out[o++] = (w.carVel[3 * h + 2]! - w.carVel[3 * g + 2]!) / POS_STD;
    }
  }
}

function writeCarBlock(w: CarballWorld, g: number, m: number, bpx: number, bpy: number, bpz: number, bvx: number, bvy: number, bvz: number, out: Float32Array, o: number): number {
  const px = w.carPos[3 * g]!, py = w.carPos[3 * g + 1]!, pz = w.carPos[3 * g + 2]!;
  const vx = w.carVel[3 * g]!, vy = w.carVel[3 * g + 1]!, vz = w.carVel[3 * g + 2]!;
  const q = w.carQuat;
  const qx = q[4 * g]!, qy = q[4 * g + 1]!, qz = q[4 * g + 2]!, qw = q[4 * g + 3]!;
  out[o++] = (m * (bpx - px)) / POS_STD;
  out[o++] = (m * (bpy - py)) / POS_STD;
  out[o++] = (bpz - pz) / POS_STD;
  out[o++] = (m * (bvx - vx)) / POS_STD;
  out[o++] = (m * (bvy - vy)) / POS_STD;
  out[o++] = (bvz - vz) / POS_STD;
  out[o++] = (m * px) / POS_STD;
  out[o++] = (m * py) / POS_STD;
  out[o++] = pz / POS_STD;
  // Forward (local x) and up (local z) axes.
  out[o++] = m * (1 - 2 * (qy * qy + qz * qz));
  out[o++] = m * (2 * (qx * qy + qw * qz));
  out[o++] = 2 * (qx * qz - qw * qy);
  out[o++] = m * (2 * (qx * qz + qw * qy));
  out[o++] = m * (2 * (qy * qz - qw * qx));
  out[o++] = 1 - 2 * (qx * qx + qy * qy);
  out[o++] = (m * vx) / POS_STD;
  out[o++] = (m * vy) / POS_STD;
  out[o++] = vz / POS_STD;
  out[o++] = (m * w.carAngVel[3 * g]!) / ANG_STD;
  out[o++] = (m * w.carAngVel[3 * g + 1]!) / ANG_STD;
  out[o++] = w.carAngVel[3 * g + 2]! / ANG_STD;
  out[o++] = w.carBoost[g]! / 100;
  out[o++] = w.carOnGround[g]!;
  out[o++] = w.carHasFlip[g]!;
  out[o++] = w.carDemolished[g]!;
  return o;
}
