/**
 * Scene descriptions and per-frame transforms of the built-in envs, read from their public state:
 * CartPole's and Pendulum's `state` arrays, carball's `getState()`. Browser-safe (the carball import is
 * the plain-data state module).
 */
import { CARBALL, type CarballState } from '../envs/carball/state';
import { TRANSFORM_SIZE, type ReplayScene } from './format';

/** Quaternion (x, y, z, w) of a rotation by `angle` about the world y axis. */
function aboutY(angle: number): [number, number, number, number] {
  return [0, Math.sin(angle / 2), 0, Math.cos(angle / 2)];
}

function writeTransform(out: Float32Array, body: number, p: ArrayLike<number>, q: ArrayLike<number>): void {
  const o = body * TRANSFORM_SIZE;
  out[o] = p[0]!;
  out[o + 1] = p[1]!;
  out[o + 2] = p[2]!;
  out[o + 3] = q[0]!;
  out[o + 4] = q[1]!;
  out[o + 5] = q[2]!;
  out[o + 6] = q[3]!;
}

// CartPole (Gymnasium geometry, metres, z up): the cart slides along x; the pole (half length 0.5 m)
// hinges on the cart's top, θ measured from upright, positive towards +x.
const CART_HALF: [number, number, number] = [0.25, 0.15, 0.075];
const POLE_HALF_LENGTH = 0.5;

export function cartPoleScene(): ReplayScene {
  return {
    up: 'z',
    units: 'm',
    camera: { target: [0, 0, 0.4], distance: 4 },
    staticBodies: [{ name: 'track', shape: { kind: 'box', halfExtents: [2.4, 0.05, 0.01] }, color: '#8b949e', position: [0, 0, -CART_HALF[2] - 0.01] }],
    dynamicBodies: [
      { name: 'cart', shape: { kind: 'box', halfExtents: CART_HALF }, color: '#1f2328', agent: 0 },
      { name: 'pole', shape: { kind: 'capsule', radius: 0.04, halfLength: POLE_HALF_LENGTH }, color: '#c9a227' },
    ],
    agents: ['agent'],
  };
}

/** `state` = [x, ẋ, θ, θ̇] (CartPole's public state array). */
export function cartPoleTransforms(state: ArrayLike<number>, out = new Float32Array(2 * TRANSFORM_SIZE)): Float32Array {
  const x = state[0]!;
  const theta = state[2]!;
  writeTransform(out, 0, [x, 0, 0], [0, 0, 0, 1]);
  const pivotZ = CART_HALF[2];
  writeTransform(out, 1, [x + Math.sin(theta) * POLE_HALF_LENGTH, 0, pivotZ + Math.cos(theta) * POLE_HALF_LENGTH], aboutY(theta));
  return out;
}

// Pendulum (Gymnasium geometry): a 1 m rod about a pivot at the origin, θ = 0 upright, positive
// counter-clockwise seen from −y (the rod's tip at (−sin θ, cos θ) in the x–z plane).
export function pendulumScene(): ReplayScene {
  return {
    up: 'z',
    units: 'm',
    camera: { target: [0, 0, 0], distance: 3.5 },
    staticBodies: [{ name: 'pivot', shape: { kind: 'sphere', radius: 0.06 }, color: '#1f2328', position: [0, -0.05, 0] }],
    dynamicBodies: [{ name: 'rod', shape: { kind: 'capsule', radius: 0.05, halfLength: 0.5 }, color: '#cf222e', agent: 0 }],
    agents: ['agent'],
  };
}

/** `state` = [θ, θ̇] (Pendulum's public state array). */
export function pendulumTransforms(state: ArrayLike<number>, out = new Float32Array(TRANSFORM_SIZE)): Float32Array {
  const theta = state[0]!;
  writeTransform(out, 0, [-Math.sin(theta) * 0.5, 0, Math.cos(theta) * 0.5], aboutY(-theta));
  return out;
}

// Carball (uu, z up): the field's floor, walls and goals as static boxes; the ball and the cars
// (Octane hitboxes) as dynamic bodies in agent-slot order after the ball.
const TEAM_COLORS = ['#1f6feb', '#f0883e'] as const;

export function carballScene(state: Pick<CarballState, 'cars'>): ReplayScene {
  const { sideWallX, backWallY, ceilingZ } = CARBALL.arena;
  const { halfWidth, height, netBackY } = CARBALL.goal;
  const wall = '#30363d';
  const goalDepth = (netBackY - backWallY) / 2;
  const hitbox = CARBALL.car.hitbox;
  return {
    up: 'z',
    units: 'uu',
    camera: { target: [0, 0, 0], distance: 9000 },
    staticBodies: [
      { name: 'floor', shape: { kind: 'box', halfExtents: [sideWallX, backWallY, 5] }, color: '#2d5a27', position: [0, 0, -5] },
      { name: 'wall-left', shape: { kind: 'box', halfExtents: [5, backWallY, ceilingZ / 2] }, color: wall, position: [-sideWallX - 5, 0, ceilingZ / 2], opacity: 0.25 },
      { name: 'wall-right', shape: { kind: 'box', halfExtents: [5, backWallY, ceilingZ / 2] }, color: wall, position: [sideWallX + 5, 0, ceilingZ / 2], opacity: 0.25 },
      { name: 'wall-blue', shape: { kind: 'box', halfExtents: [sideWallX, 5, ceilingZ / 2] }, color: wall, position: [0, -backWallY - 5, ceilingZ / 2], opacity: 0.25 },
      { name: 'wall-orange', shape: { kind: 'box', halfExtents: [sideWallX, 5, ceilingZ / 2] }, color: wall, position: [0, backWallY + 5, ceilingZ / 2], opacity: 0.25 },
      { name: 'goal-blue', shape: { kind: 'box', halfExtents: [halfWidth, goalDepth, height / 2] }, color: TEAM_COLORS[0], position: [0, -backWallY - goalDepth, height / 2], opacity: 0.4 },
      { name: 'goal-orange', shape: { kind: 'box', halfExtents: [halfWidth, goalDepth, height / 2] }, color: TEAM_COLORS[1], position: [0, backWallY + goalDepth, height / 2], opacity: 0.4 },
    ],
    dynamicBodies: [
      { name: 'ball', shape: { kind: 'sphere', radius: CARBALL.ball.radius }, color: '#e6edf3' },
      ...state.cars.map((car, slot) => ({
        name: `car-${slot}`,
        shape: { kind: 'box' as const, halfExtents: [hitbox[0] / 2, hitbox[1] / 2, hitbox[2] / 2] as [number, number, number] },
        color: TEAM_COLORS[car.team],
        agent: slot,
      })),
    ],
    agents: state.cars.map((car, slot) => `${car.team === 0 ? 'blue' : 'orange'}-${slot}`),
  };
}

export function carballTransforms(state: CarballState, out = new Float32Array((1 + state.cars.length) * TRANSFORM_SIZE)): Float32Array {
  writeTransform(out, 0, state.ball.pos, [0, 0, 0, 1]);
  state.cars.forEach((car, i) => writeTransform(out, i + 1, car.pos, car.quat));
  return out;
}

/** What a recorder needs to turn one env's state into replay frames. */
export interface ReplaySource {
  hz: number;
  scene(): ReplayScene;
  transforms(): Float32Array;
}

/**
 * A replay source for an unwrapped built-in env (duck-typed on its public state), or null when the
 * env is not one the replay format knows how to draw.
 */
export function replaySourceFor(envId: string, unwrapped: unknown, secondsPerStep?: number): ReplaySource | null {
  const env = unwrapped as { state?: ArrayLike<number>; getState?: () => CarballState; replaySource?: () => ReplaySource };
  // Envs that describe their own scene (the manipulation envs) say so through `replaySource()`.
  if (typeof env.replaySource === 'function') return env.replaySource();
  const hz = secondsPerStep ? 1 / secondsPerStep : 30;
  if (envId.startsWith('CartPole') && env.state && env.state.length === 4) {
    return { hz, scene: cartPoleScene, transforms: () => cartPoleTransforms(env.state!) };
  }
  if (envId.startsWith('Pendulum') && env.state && env.state.length === 2) {
    return { hz, scene: pendulumScene, transforms: () => pendulumTransforms(env.state!) };
  }
  if (envId.startsWith('carball') && typeof env.getState === 'function') {
    return { hz, scene: () => carballScene(env.getState!()), transforms: () => carballTransforms(env.getState!()) };
  }
  return null;
}
