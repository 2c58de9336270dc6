/**
 * The carball scene (uu, z up), drawn to read like a Rocket League field at a glance: a striped pitch
 * with white markings, team-coloured goal lines, goal frames and nets, 34 boost pads that dim while
 * they respawn, transparent walls with the goal mouths open, the ball with a ground marker under it,
 * and cars as vehicles (team-coloured chassis, dark cabin, four wheels, a flame while boosting).
 *
 * Dynamic bodies, in order: the ball, each car in agent-slot order, then the ball's ground marker.
 * Signals: `pad-0` … `pad-33` (1 while the pad is available, `BOOST_PADS` order) and `boost-0` …
 * (1 while that car boosts). Browser-safe: only the plain-data state and arena modules.
 */
import { BOOST_PADS } from '../envs/carball/arena';
import { CARBALL, type CarballState } from '../envs/carball/state';
import { TRANSFORM_SIZE, writeTransform, type BodyPart, type DynamicBody, type ReplayQuat, type ReplayScene, type ReplayVec3, type StaticBody } from './format';

export const CARBALL_TEAM_COLORS = ['#1f6feb', '#f0883e'] as const;
/** Colours a frame reader can look for: pads when available and while respawning, the ball, the pitch. */
export const CARBALL_COLORS = {
  padOn: '#ffc21a',
  padOff: '#4a4a3c',
  ball: '#f4f4f4',
  pitch: '#2f7a34',
  pitchStripe: '#37873c',
  marking: '#e8f0e8',
  wall: '#56657a',
  background: '#16202c',
  cabin: '#1c2128',
  wheel: '#111111',
  flame: '#ff8a1f',
  ballMarker: '#1d4d21',
} as const;

/** Sizes of the drawn pieces (uu); the physics uses the hitboxes and pad cylinders of `CARBALL`. */
export const CARBALL_DRAWN = {
  postRadius: 32,
  bigPadRadius: 150,
  smallPadRadius: 95,
  padHalfHeight: 6,
  bigPadOrbRadius: 55,
  bigPadOrbZ: 95,
  wheelRadius: 17,
  wheelHalfWidth: 7,
  markerRadius: 110,
  lineHalfWidth: 22,
  centreCircleRadius: 1000,
  boardHeight: 260,
} as const;

const QUAT_IDENTITY: ReplayQuat = [0, 0, 0, 1];
/** Rotation by `angle` about the x, y or z axis. */
function about(axis: 0 | 1 | 2, angle: number): ReplayQuat {
  const q: ReplayQuat = [0, 0, 0, Math.cos(angle / 2)];
  q[axis] = Math.sin(angle / 2);
  return q;
}

function box(name: string, half: ReplayVec3, position: ReplayVec3, color: string, extra: Partial<StaticBody> = {}): StaticBody {
  return { name, shape: { kind: 'box', halfExtents: half }, color, position, ...extra };
}

function pitch(): StaticBody[] {
  const { sideWallX, backWallY, cornerCut } = CARBALL.arena;
  const { halfWidth, netBackY } = CARBALL.goal;
  const w = CARBALL_DRAWN.lineHalfWidth;
  // The pitch as ten mown bands of 1024 uu across the field, alternately lighter (side by side, so no
  // pixel of the floor is drawn twice).
  const bodies: StaticBody[] = [];
  for (let i = 0; i < 10; i++) bodies.push(box('pitch', [sideWallX, 512, 5], [0, -backWallY + 512 + i * 1024, -5], i % 2 ? CARBALL_COLORS.pitchStripe : CARBALL_COLORS.pitch));
  // Markings: halfway line, centre circle and spot, the boundary, a box in front of each goal.
  bodies.push(box('halfway-line', [sideWallX, w, 1], [0, 0, 1.5], CARBALL_COLORS.marking));
  const r = CARBALL_DRAWN.centreCircleRadius;
  bodies.push({ name: 'centre-circle', shape: { kind: 'ring', innerRadius: r - 2 * w, outerRadius: r }, color: CARBALL_COLORS.marking, position: [0, 0, 1.6] });
  bodies.push(box('touch-line', [w, backWallY - cornerCut, 1], [-sideWallX + w, 0, 1.5], CARBALL_COLORS.marking), box('touch-line', [w, backWallY - cornerCut, 1], [sideWallX - w, 0, 1.5], CARBALL_COLORS.marking));
  const boxHalfX = 1800;
  const boxDepth = 1400;
  for (const s of [-1, 1]) {
    const team = s < 0 ? 0 : 1;
    bodies.push(box(`goal-line-${team}`, [sideWallX - cornerCut, w * 1.5, 1], [0, s * (backWallY - w * 1.5), 1.5], CARBALL_TEAM_COLORS[team]));
    bodies.push(box('box-line', [boxHalfX, w, 1], [0, s * (backWallY - boxDepth), 1.5], CARBALL_COLORS.marking));
    bodies.push(box('box-side', [w, boxDepth / 2, 1], [-boxHalfX, s * (backWallY - boxDepth / 2), 1.5], CARBALL_COLORS.marking), box('box-side', [w, boxDepth / 2, 1], [boxHalfX, s * (backWallY - boxDepth / 2), 1.5], CARBALL_COLORS.marking));
    // The goal's own floor, in its team's colour.
    bodies.push(box(`goal-floor-${team}`, [halfWidth, (netBackY - backWallY) / 2, 1], [0, s * (backWallY + (netBackY - backWallY) / 2), 1], CARBALL_TEAM_COLORS[team]));
  }
  // The corner cuts: the floor stays a rectangle, a diagonal wall closes each corner.
  return bodies;
}

/**
 * The walls as opaque boards along the foot of the arena's walls (the physics walls go up to the
 * ceiling; drawing them whole, even see-through, would cover most of every frame and hide nothing
 * but cost the most fill).
 */
function walls(): StaticBody[] {
  const { sideWallX, backWallY, cornerCut } = CARBALL.arena;
  const { halfWidth } = CARBALL.goal;
  const op = {};
  const wallH = CARBALL_DRAWN.boardHeight / 2;
  const sideLen = backWallY - cornerCut;
  const backHalf = sideWallX - cornerCut;
  const besideGoal = (backHalf - halfWidth) / 2;
  const bodies: StaticBody[] = [
    box('wall-side', [5, sideLen, wallH], [-sideWallX - 5, 0, wallH], CARBALL_COLORS.wall, op),
    box('wall-side', [5, sideLen, wallH], [sideWallX + 5, 0, wallH], CARBALL_COLORS.wall, op),
  ];
  for (const s of [-1, 1]) {
    const y = s * (backWallY + 5);
    // The back wall beside the goal mouth, on both sides.
    bodies.push(box('wall-back', [besideGoal, 5, wallH], [-(halfWidth + besideGoal), y, wallH], CARBALL_COLORS.wall, op));
    bodies.push(box('wall-back', [besideGoal, 5, wallH], [halfWidth + besideGoal, y, wallH], CARBALL_COLORS.wall, op));
    // Corner walls: 45° across the cut, one per corner.
    for (const sx of [-1, 1]) {
      const len = (cornerCut * Math.SQRT2) / 2;
      const angle = sx * s > 0 ? -Math.PI / 4 : Math.PI / 4;
      bodies.push(box('wall-corner', [len, 5, wallH], [sx * (sideWallX - cornerCut / 2), s * (backWallY - cornerCut / 2), wallH], CARBALL_COLORS.wall, { ...op, quat: about(2, angle) }));
    }
  }
  return bodies;
}

function goals(): StaticBody[] {
  const { backWallY } = CARBALL.arena;
  const { halfWidth, height, netBackY } = CARBALL.goal;
  const r = CARBALL_DRAWN.postRadius;
  const depth = netBackY - backWallY;
  const bodies: StaticBody[] = [];
  for (const team of [0, 1] as const) {
    const s = team === 0 ? -1 : 1;
    const color = CARBALL_TEAM_COLORS[team];
    const mouthY = s * (backWallY + r);
    // The frame: two posts and the crossbar on the goal line, opaque in the team's colour.
    for (const x of [-halfWidth - r, halfWidth + r]) bodies.push({ name: `goal-post-${team}`, shape: { kind: 'cylinder', radius: r, halfLength: height / 2 }, color, position: [x, mouthY, height / 2] });
    bodies.push({ name: `goal-crossbar-${team}`, shape: { kind: 'cylinder', radius: r, halfLength: halfWidth + 2 * r }, color, position: [0, mouthY, height + r], quat: about(1, Math.PI / 2) });
    // The net: back, sides and roof, see-through.
    const net = { opacity: 0.35 };
    bodies.push(box(`goal-net-${team}`, [halfWidth, 4, height / 2], [0, s * netBackY, height / 2], color, net));
    for (const x of [-halfWidth, halfWidth]) bodies.push(box(`goal-net-${team}`, [4, depth / 2, height / 2], [x, s * (backWallY + depth / 2), height / 2], color, net));
    bodies.push(box(`goal-net-${team}`, [halfWidth, depth / 2, 4], [0, s * (backWallY + depth / 2), height], color, net));
  }
  return bodies;
}

function pads(): StaticBody[] {
  const d = CARBALL_DRAWN;
  const bodies: StaticBody[] = [];
  BOOST_PADS.forEach((pad, i) => {
    const toggle = { signal: `pad-${i}`, offColor: CARBALL_COLORS.padOff };
    const radius = pad.big ? d.bigPadRadius : d.smallPadRadius;
    bodies.push({ name: pad.big ? 'pad-big' : 'pad-small', shape: { kind: 'cylinder', radius, halfLength: d.padHalfHeight }, color: CARBALL_COLORS.padOn, position: [pad.x, pad.y, d.padHalfHeight], toggle });
    if (pad.big) bodies.push({ name: 'pad-orb', shape: { kind: 'sphere', radius: d.bigPadOrbRadius }, color: CARBALL_COLORS.padOn, position: [pad.x, pad.y, d.bigPadOrbZ], toggle: { signal: `pad-${i}` } });
  });
  return bodies;
}

/** A car's drawn parts in its frame (x forward, y left, z up; the origin at the hitbox centre). */
export function carParts(team: 0 | 1, slot: number): BodyPart[] {
  const [length, width, height] = CARBALL.car.hitbox;
  const d = CARBALL_DRAWN;
  const color = CARBALL_TEAM_COLORS[team];
  const wheelAxis = about(0, Math.PI / 2);
  const wheelZ = -height / 2 + 2;
  const parts: BodyPart[] = [
    { name: 'chassis', shape: { kind: 'box', halfExtents: [length / 2, width / 2, height / 2 - 4] }, color, position: [0, 0, 4] },
    { name: 'cabin', shape: { kind: 'box', halfExtents: [length * 0.15, width * 0.35, 11] }, color: CARBALL_COLORS.cabin, position: [-length * 0.1, 0, height / 2 + 8] },
  ];
  for (const [x, y] of [[length * 0.34, width / 2], [length * 0.34, -width / 2], [-length * 0.3, width / 2], [-length * 0.3, -width / 2]] as const) {
    parts.push({ name: 'wheel', shape: { kind: 'cylinder', radius: d.wheelRadius, halfLength: d.wheelHalfWidth }, color: CARBALL_COLORS.wheel, position: [x, y, wheelZ], quat: wheelAxis });
  }
  parts.push({ name: 'boost-flame', shape: { kind: 'cylinder', radius: 14, halfLength: 45 }, color: CARBALL_COLORS.flame, position: [-length / 2 - 45, 0, 4], quat: about(1, Math.PI / 2), toggle: { signal: `boost-${slot}` } });
  return parts;
}

export function carballScene(state: Pick<CarballState, 'cars'>): ReplayScene {
  const hitbox = CARBALL.car.hitbox;
  const dynamicBodies: DynamicBody[] = [
    { name: 'ball', shape: { kind: 'sphere', radius: CARBALL.ball.radius }, color: CARBALL_COLORS.ball },
    ...state.cars.map((car, slot) => ({
      name: `car-${slot}`,
      shape: { kind: 'box' as const, halfExtents: [hitbox[0] / 2, hitbox[1] / 2, hitbox[2] / 2] as ReplayVec3 },
      color: CARBALL_TEAM_COLORS[car.team],
      agent: slot,
      parts: carParts(car.team, slot),
    })),
    { name: 'ball-marker', shape: { kind: 'ring', innerRadius: 0, outerRadius: CARBALL_DRAWN.markerRadius }, color: CARBALL_COLORS.ballMarker },
  ];
  return {
    up: 'z',
    units: 'uu',
    background: CARBALL_COLORS.background,
    camera: { target: [0, 0, 0], distance: 9000 },
    cameras: {
      // From beside the halfway line, up in the stands: the length of the field, blue's goal on the left.
      broadcast: { position: [7400, 0, 4400], target: [0, 0, 0], fovDeg: 68, up: [0, 0, 1] },
      // Straight down, orange's goal at the top of the frame.
      top: { position: [0, 0, 11200], target: [0, 0, 0], fovDeg: 60, up: [0, 1, 0] },
      // Behind blue's goal, looking up the field (the usual game view of a blue player).
      'behind-blue': { position: [0, -9200, 2600], target: [0, 0, 0], fovDeg: 70, up: [0, 0, 1] },
      'behind-orange': { position: [0, 9200, 2600], target: [0, 0, 0], fovDeg: 70, up: [0, 0, 1] },
    },
    staticBodies: [...pitch(), ...walls(), ...goals(), ...pads()],
    dynamicBodies,
    agents: state.cars.map((car, slot) => `${car.team === 0 ? 'blue' : 'orange'}-${slot}`),
    signals: [...BOOST_PADS.map((_, i) => `pad-${i}`), ...state.cars.map((_, slot) => `boost-${slot}`)],
  };
}


/** Transforms of `carballScene(state)`'s dynamic bodies. A demolished car is drawn far below the floor. */
export function carballTransforms(state: CarballState, out = new Float32Array((2 + state.cars.length) * TRANSFORM_SIZE)): Float32Array {
  const [bx, by, bz] = state.ball.pos;
  writeTransform(out, 0, bx, by, bz, QUAT_IDENTITY);
  state.cars.forEach((car, i) => {
    const [x, y, z] = car.pos;
    writeTransform(out, i + 1, x, y, car.demolished ? z - 10_000 : z, car.quat);
  });
  writeTransform(out, state.cars.length + 1, bx, by, 2, QUAT_IDENTITY);
  return out;
}

/** Signals of `carballScene(state)`: pad availability, then each car's boost flame. */
export function carballSignals(state: CarballState, out = new Float32Array(BOOST_PADS.length + state.cars.length)): Float32Array {
  for (let p = 0; p < BOOST_PADS.length; p++) out[p] = (state.boostPads?.[p] ?? 0) > 0 ? 0 : 1;
  state.cars.forEach((car, i) => (out[BOOST_PADS.length + i] = car.boosting && !car.demolished ? 1 : 0));
  return out;
}
