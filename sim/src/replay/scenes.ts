/**
 * Scene descriptions and per-frame transforms of the built-in envs, read from their public state:
 * CartPole's and Pendulum's `state` arrays, carball's `getState()`. Browser-safe (the carball import is
 * the plain-data state module).
 */
import type { CarballState } from '../envs/carball/state';
import { carballScene, carballSignals, carballTransforms } from './carball-scene';
import { TRANSFORM_SIZE, writeTransform, type ReplayScene } from './format';

/** Quaternion (x, y, z, w) of a rotation by `angle` about the world y axis. */
function aboutY(angle: number): [number, number, number, number] {
  return [0, Math.sin(angle / 2), 0, Math.cos(angle / 2)];
}


// CartPole as Gymnasium draws it (metres, z up, seen from −y): a white background, a black track line,
// a black cart 0.4 × 0.24 m, a tan pole 1 m long and 0.08 m thick hinged on a blue-grey axle a little
// above the cart's centre; θ measured from upright, positive towards +x. The camera sees x ∈ [−2.4, 2.4]
// (the termination bounds), as Gymnasium's 600-pixel-wide frame does.
const CART_HALF: [number, number, number] = [0.2, 0.1, 0.12];
const POLE_HALF_LENGTH = 0.5;
const POLE_HALF_WIDTH = 0.04;
const AXLE_Z = CART_HALF[2] / 2;
/** Gymnasium's colours: pole (202, 152, 101), axle (129, 132, 203). */
export const CLASSIC_COLORS = { background: '#ffffff', cart: '#000000', pole: '#ca9865', axle: '#8184cb', track: '#000000', rod: '#cc4d4d', pivot: '#000000' } as const;

export function cartPoleScene(): ReplayScene {
  return {
    up: 'z',
    units: 'm',
    background: CLASSIC_COLORS.background,
    lighting: 'flat',
    camera: { target: [0, 0, 0.4], distance: 4 },
    // A long lens from far away: close to Gymnasium's orthographic 2-D drawing.
    cameras: { side: { position: [0, -60, 0.45], target: [0, 0, 0.45], fovDeg: 4.6, up: [0, 0, 1] } },
    staticBodies: [{ name: 'track', shape: { kind: 'box', halfExtents: [3, 0.01, 0.004] }, color: CLASSIC_COLORS.track, position: [0, 0.2, -CART_HALF[2]] }],
    dynamicBodies: [
      { name: 'cart', shape: { kind: 'box', halfExtents: CART_HALF }, color: CLASSIC_COLORS.cart, agent: 0 },
      {
        name: 'pole',
        shape: { kind: 'box', halfExtents: [POLE_HALF_WIDTH, 0.02, POLE_HALF_LENGTH] },
        color: CLASSIC_COLORS.pole,
        parts: [
          { name: 'pole', shape: { kind: 'box', halfExtents: [POLE_HALF_WIDTH, 0.02, POLE_HALF_LENGTH] }, color: CLASSIC_COLORS.pole, position: [0, -CART_HALF[1] - 0.02, 0] },
          // The axle in front of the cart's face (the camera looks from −y).
          { name: 'axle', shape: { kind: 'cylinder', radius: POLE_HALF_WIDTH, halfLength: 0.01 }, color: CLASSIC_COLORS.axle, position: [0, -CART_HALF[1] - 0.02, -POLE_HALF_LENGTH], quat: [Math.SQRT1_2, 0, 0, Math.SQRT1_2] },
        ],
      },
    ],
    agents: ['agent'],
  };
}

/** `state` = [x, ẋ, θ, θ̇] (CartPole's public state array). */
export function cartPoleTransforms(state: ArrayLike<number>, out = new Float32Array(2 * TRANSFORM_SIZE)): Float32Array {
  const x = state[0]!;
  const theta = state[2]!;
  writeTransform(out, 0, x, 0, 0, [0, 0, 0, 1]);
  writeTransform(out, 1, x + Math.sin(theta) * POLE_HALF_LENGTH, 0, AXLE_Z + Math.cos(theta) * POLE_HALF_LENGTH, aboutY(theta));
  return out;
}

// Pendulum as Gymnasium draws it: a white background, a red rod 1 m long and 0.2 m wide with rounded
// ends about a black pivot at the origin, θ = 0 upright, positive counter-clockwise seen from −y (the
// rod's tip at (−sin θ, cos θ) in the x–z plane); the camera sees [−2.2, 2.2] on both axes.
export function pendulumScene(): ReplayScene {
  return {
    up: 'z',
    units: 'm',
    background: CLASSIC_COLORS.background,
    lighting: 'flat',
    camera: { target: [0, 0, 0], distance: 3.5 },
    cameras: { side: { position: [0, -60, 0], target: [0, 0, 0], fovDeg: 4.2, up: [0, 0, 1] } },
    staticBodies: [{ name: 'pivot', shape: { kind: 'cylinder', radius: 0.05, halfLength: 0.01 }, color: CLASSIC_COLORS.pivot, position: [0, -0.15, 0], quat: [Math.SQRT1_2, 0, 0, Math.SQRT1_2] }],
    dynamicBodies: [{ name: 'rod', shape: { kind: 'capsule', radius: 0.1, halfLength: 0.4 }, color: CLASSIC_COLORS.rod, agent: 0 }],
    agents: ['agent'],
  };
}

/** `state` = [θ, θ̇] (Pendulum's public state array). */
export function pendulumTransforms(state: ArrayLike<number>, out = new Float32Array(TRANSFORM_SIZE)): Float32Array {
  const theta = state[0]!;
  // The rod runs from the pivot to 1 m out: its centre half way, the caps' centres 0.1 m in from each end.
  writeTransform(out, 0, -Math.sin(theta) * 0.5, 0, Math.cos(theta) * 0.5, aboutY(-theta));
  return out;
}

export { carballScene, carballTransforms, carballSignals, carParts, CARBALL_COLORS, CARBALL_DRAWN, CARBALL_TEAM_COLORS } from './carball-scene';

/** What a recorder needs to turn one env's state into replay frames. */
export interface ReplaySource {
  hz: number;
  scene(): ReplayScene;
  transforms(): Float32Array;
  /** The scene's signals now (scenes with `signals` only). */
  signals?(): Float32Array;
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
    return { hz, scene: () => carballScene(env.getState!()), transforms: () => carballTransforms(env.getState!()), signals: () => carballSignals(env.getState!()) };
  }
  return null;
}
