/**
 * Arena layout and the game's response curves (REFERENCES.md §1), as data. Everything is in uu, seconds
 * and radians, in the public frame: x across the field, y along it (blue defends −y), z up.
 */
import { CARBALL } from './state';

/** A piecewise-linear curve given as [x, y] knots with increasing x; clamped outside the knots. */
export type Curve = readonly (readonly [number, number])[];

export function evalCurve(curve: Curve, x: number): number {
  const first = curve[0]!;
  if (x <= first[0]) return first[1];
  for (let i = 1; i < curve.length; i++) {
    const k = curve[i]!;
    if (x <= k[0]) {
      const p = curve[i - 1]!;
      return p[1] + ((k[1] - p[1]) * (x - p[0])) / (k[0] - p[0]);
    }
  }
  return curve[curve.length - 1]![1];
}

/** Car-model constants beyond `CARBALL` (the game's values as documented by RocketSim, REFERENCES.md §1). */
export const CAR_MODEL = {
  /** Drive torque factor by forward speed: throttle alone tops out near 1410 uu/s. */
  driveTorqueBySpeed: [[0, 1], [1400, 0.1], [1410, 0]] as Curve,
  /**
   * Throttle acceleration at factor 1 (uu/s²). *Unverified*: RLBot's measured 1600 uu/s² at rest, not a
   * REFERENCES.md constant; no test depends on its exact value.
   */
  throttleAccelUu: 1600,
  /** Braking deceleration (uu/s²), *unverified* (RLBot's measured 3500); coasting brakes at 0.15 of it. */
  brakeAccelUu: 3500,
  coastBrakeFactor: 0.15,
  /** Below this forward speed, coasting brakes fully. */
  coastFullBrakeBelowUu: 25,
  maxSteerAngleBySpeed: [[0, 0.53356], [500, 0.3193], [1000, 0.18203], [1500, 0.1057], [1750, 0.08507], [3000, 0.03454]] as Curve,
  powerslideSteerAngleBySpeed: [[0, 0.39235], [2500, 0.1261]] as Curve,
  /**
   * Octane wheelbase (front axle 51.25 ahead of the origin, rear 33.75 behind), so that the turning
   * curvature is tan(steer angle) / wheelbase (a bicycle model): 1/145 uu at rest, as in the game.
   */
  wheelbaseUu: 85,
  powerslideRisePerSecond: 5,
  powerslideFallPerSecond: 2,
  /** Share of the tyres' lateral grip left while powersliding. */
  powerslideLateralFriction: 0.1,
  minBoostSeconds: 0.1,
  flip: {
    torqueSeconds: 0.65,
    pitchLockSeconds: 1,
    initialVelocityUu: 500,
    forwardImpulseScale: 1,
    sideImpulseScale: 1.9,
    backwardImpulseScale: 2.5,
    /** Stick deflection needed for the second jump to be a flip rather than a double jump. */
    deadzone: 0.5,
  },
  airControl: {
    /** Torque for (pitch, yaw, roll) and damping, in the game's rotator units. */
    torque: [130, 95, 400] as const,
    damping: [30, 20, 50] as const,
    /** Rotator units to rad/s²: 2π / 2¹⁶ × 1000 (the game's angle unit is 2π / 65536). */
    torqueScale: ((2 * Math.PI) / 65536) * 1000,
  },
  /** Ball hit: extra impulse factor by relative speed; direction z scaled by 0.35, forward part by 0.65. */
  ballHitFactorBySpeed: [[0, 0.65], [500, 0.65], [2300, 0.55], [4600, 0.3]] as Curve,
  ballHitZScale: 0.35,
  ballHitForwardScale: 0.65,
  ballHitMaxRelSpeedUu: 4600,
  /**
   * Octane hitbox centre relative to the car's origin (the game's value): at rest height the box floats
   * 18.4 uu above the floor, held there by the suspension, which this model replaces by holding a
   * grounded car's origin at rest height (so cars never touch the floor collider).
   */
  hitboxOffset: [13.88, 0, 20.75] as const,
  /** A car counts as on the ground while its origin is this close to rest height and it is upright. */
  groundToleranceUu: 4,
  groundMinUpZ: 0.7,
  /** Bumps (non-demolishing car–car hits): the victim's velocity change by the bumper's speed. */
  bumpVelocityBySpeed: [[0, 0.83], [1400, 1100], [2200, 1530]] as Curve,
  bumpUpwardVelocityBySpeed: [[0, 0.33], [1400, 278], [2200, 417]] as Curve,
  bumpAirborneTicks: 6,
  /** Turtle recovery applies below this origin height and speed. */
  turtleMaxHeightUu: 120,
  turtleMaxSpeedUu: 200,
  /** Contact distance for touches (ball to hitbox) and car–car contacts. */
  touchToleranceUu: 4,
  /** Cars whose origins are closer than this are checked for contact (demolitions and bumps). */
  demoCandidateDistanceUu: 250,
} as const;

export interface BoostPad {
  x: number;
  y: number;
  z: number;
  big: boolean;
}

function padList(): BoostPad[] {
  const pads: BoostPad[] = [];
  const add = (x: number, y: number, big: boolean): void => {
    pads.push({ x, y, z: big ? 73 : 70, big });
  };
  const signs = (v: number): number[] => (v === 0 ? [0] : [-v, v]);
  for (const [x, y] of [[3584, 0], [3072, 4096]] as const) for (const sx of signs(x)) for (const sy of signs(y)) add(sx, sy, true);
  const small = [[0, 4240], [1792, 4184], [940, 3308], [0, 2816], [3584, 2484], [1788, 2300], [2048, 1036], [0, 1024], [1024, 0]] as const;
  for (const [x, y] of small) for (const sx of signs(x)) for (const sy of signs(y)) add(sx, sy, false);
  // Sorted by (y, x): the point mirror (x, y) → (−x, −y) then maps pad i to pad 33 − i, which is how
  // RLGym mirrors the pad block of the observation (reversed order).
  return pads.sort((a, b) => a.y - b.y || a.x - b.x);
}

/** The 34 boost pads (6 big, 28 small). */
export const BOOST_PADS: readonly BoostPad[] = padList();
export const PAD_RADIUS_UU = { big: 208, small: 144 } as const;
export const PAD_HEIGHT_UU = 95;

/** Blue kickoff spawns (x, y, yaw); orange uses the point mirror (−x, −y, yaw + π). */
export const KICKOFF_SPAWNS: readonly (readonly [number, number, number])[] = [
  [-2048, -2560, Math.PI / 4],
  [2048, -2560, (3 * Math.PI) / 4],
  [-256, -3840, Math.PI / 2],
  [256, -3840, Math.PI / 2],
  [0, -4608, Math.PI / 2],
];
/** Blue respawns after a demolition. */
export const RESPAWN_SPAWNS: readonly (readonly [number, number, number])[] = [
  [-2304, -4608, Math.PI / 2],
  [-2688, -4608, Math.PI / 2],
  [2304, -4608, Math.PI / 2],
  [2688, -4608, Math.PI / 2],
];

/** An axis-aligned (or z-rotated) static box of the arena: centre, half extents, rotation about z. */
export interface ArenaBox {
  c: [number, number, number];
  h: [number, number, number];
  yaw: number;
}

/**
 * The arena's 20 static wall boxes: side walls, back walls around the goal mouths, the four 45° corner
 * cuts, and each goal's side walls, back net and roof. Walls are thick so fast bodies cannot tunnel
 * through them at 120 Hz. The floor (z = 0) and the ceiling are half-spaces that every arena of a world
 * shares (cheaper contacts than boxes).
 */
export function arenaBoxes(): ArenaBox[] {
  const { sideWallX: X, backWallY: Y, ceilingZ: Z, cornerCut } = CARBALL.arena;
  const { halfWidth: gw, height: gh, netBackY: NY } = CARBALL.goal;
  const T = 500; // half thickness
  const boxes: ArenaBox[] = [];
  const add = (c: [number, number, number], h: [number, number, number], yaw = 0): void => {
    boxes.push({ c, h, yaw });
  };
  for (const s of [-1, 1]) {
    add([s * (X + T), 0, Z / 2], [T, Y + 2 * T, Z / 2 + T]); // side walls
    const sideHalf = (X - gw) / 2;
    for (const sx of [-1, 1]) add([sx * (gw + sideHalf), s * (Y + T), Z / 2], [sideHalf, T, Z / 2]); // back wall beside the goal
    add([0, s * (Y + T), (gh + Z) / 2], [gw, T, (Z - gh) / 2]); // above the goal mouth
    // Goal: side walls, back net, roof.
    const depth = NY - Y;
    for (const sx of [-1, 1]) add([sx * (gw + T), s * (Y + depth / 2), gh / 2], [T, depth / 2, gh / 2]);
    add([0, s * (NY + T), gh / 2], [gw + 2 * T, T, gh / 2 + T]);
    add([0, s * (Y + depth / 2), gh + T], [gw + 2 * T, depth / 2, T]);
  }
  // Corner cuts: the plane |x| + |y| = X + Y − cornerCut, with the box's inner face on it.
  const d = (X + Y - cornerCut) / Math.SQRT2; // distance of the plane from the centre along the diagonal
  for (const sx of [-1, 1]) {
    for (const sy of [-1, 1]) {
      const nx = (sx * Math.SQRT1_2), ny = (sy * Math.SQRT1_2);
      add([nx * (d + T), ny * (d + T), Z / 2], [T, 2000, Z / 2], Math.atan2(ny, nx));
    }
  }
  return boxes;
}
