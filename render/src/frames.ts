/**
 * From env states to scene frames: what `FrameRenderer.render(states, { env })` and the pixel
 * wrappers draw. Carball takes its public state (DESIGN's carball state JSON), CartPole and Pendulum
 * their public `state` arrays; any built-in env instance (manipulation included) gives its frame
 * through the replay source the recorder uses.
 */
import {
  carballScene,
  carballSignals,
  carballTeamSize,
  carballTransforms,
  cartPoleScene,
  cartPoleTransforms,
  pendulumScene,
  pendulumTransforms,
  replaySourceFor,
  BOOST_PADS,
  Wrapper,
  type AnyEnv,
  type CarballState,
  type ReplayScene,
  type ReplaySource,
} from '@rewardlab/sim';
import { RenderInputError } from './errors';
import type { RenderFrame } from './renderer';

export interface SceneFrames {
  scene: ReplayScene;
  frames: RenderFrame[];
}

const finiteArray = (v: unknown, n: number): boolean => (Array.isArray(v) || ArrayBuffer.isView(v)) && (v as ArrayLike<number>).length === n && Array.from(v as ArrayLike<number>).every((x) => typeof x === 'number' && Number.isFinite(x));

/**
 * A carball state as the renderer needs it: the public shape with finite numbers and one car per
 * agent slot of the env's teams, cars sorted by id. Unlike `setState` it does not hold the bodies to
 * the arena's bounds (a drawn ball may sit anywhere the physics left it).
 */
function carballStateForRender(envId: string, teamSize: number, value: unknown, k: number): CarballState {
  const fail = (reason: string): never => {
    throw new RenderInputError(`state ${k} is not a ${envId} state: ${reason}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`expected a carball state object, got ${JSON.stringify(value)?.slice(0, 60)}`);
  const state = value as CarballState;
  const vec = (v: unknown, n: number, field: string): void => {
    if (!finiteArray(v, n)) fail(`${field} must be ${n} finite numbers, got ${JSON.stringify(v)?.slice(0, 60)}`);
  };
  if (typeof state.ball !== 'object' || state.ball === null) fail('ball is missing');
  vec(state.ball.pos, 3, 'ball.pos');
  if (!Array.isArray(state.cars)) fail('cars must be an array');
  if (state.cars.length !== 2 * teamSize) fail(`it has ${state.cars.length} cars; ${envId} has ${2 * teamSize}`);
  const cars = [...state.cars].sort((a, b) => a?.id - b?.id);
  cars.forEach((car, slot) => {
    if (typeof car !== 'object' || car === null) fail(`cars[${slot}] must be an object`);
    if (car.id !== slot) fail(`the cars' ids must be 0 … ${2 * teamSize - 1} once each (found ${JSON.stringify(state.cars.map((c) => c?.id))})`);
    if (car.team !== (slot < teamSize ? 0 : 1)) fail(`car ${slot} must be on team ${slot < teamSize ? 0 : 1}`);
    vec(car.pos, 3, `car ${slot}'s pos`);
    vec(car.quat, 4, `car ${slot}'s quat`);
  });
  if (state.boostPads !== undefined && !finiteArray(state.boostPads, BOOST_PADS.length)) fail(`boostPads must be ${BOOST_PADS.length} finite numbers`);
  return { ...state, cars };
}

/** The scene and frames of `states` of env `envId`; throws a RenderInputError naming the first state that is not one of that env's. */
export function framesOfStates(envId: string, states: readonly unknown[]): SceneFrames {
  if (!Array.isArray(states) || states.length === 0) throw new RenderInputError('render needs at least one state');
  const teamSize = carballTeamSize(envId);
  if (teamSize !== null) {
    const valid = states.map((s, k) => carballStateForRender(envId, teamSize, s, k));
    return { scene: carballScene(valid[0]!), frames: valid.map((s) => ({ transforms: carballTransforms(s), signals: carballSignals(s) })) };
  }
  const classic: Record<string, { size: number; scene: () => ReplayScene; transforms: (s: ArrayLike<number>) => Float32Array; what: string }> = {
    CartPole: { size: 4, scene: cartPoleScene, transforms: (s) => cartPoleTransforms(s), what: '[x, ẋ, θ, θ̇]' },
    Pendulum: { size: 2, scene: pendulumScene, transforms: (s) => pendulumTransforms(s), what: '[θ, θ̇]' },
  };
  const family = Object.keys(classic).find((k) => envId.startsWith(`${k}-`));
  if (family) {
    const c = classic[family]!;
    states.forEach((s, k) => {
      if (!finiteArray(s, c.size)) throw new RenderInputError(`state ${k} is not a ${envId} state: expected ${c.size} finite numbers ${c.what}, got ${JSON.stringify(s)?.slice(0, 80)}`);
    });
    return { scene: c.scene(), frames: states.map((s) => ({ transforms: c.transforms(s as ArrayLike<number>) })) };
  }
  throw new RenderInputError(`no state renderer for env "${envId}": render(states) knows carball-*, CartPole-* and Pendulum-* states; draw other envs from their instances (renderEnvs, PixelObservation)`);
}

/** The replay source of a built-in env instance (through wrappers), or a RenderInputError saying it has no scene. */
export function sceneSourceOf(env: AnyEnv): ReplaySource {
  const unwrapped = env instanceof Wrapper ? env.unwrapped : env;
  const source = replaySourceFor(env.id, unwrapped, env.metadata?.secondsPerStep);
  if (!source) throw new RenderInputError(`env "${env.id}" has no scene to render (built-in envs do; a user env can add replaySource())`);
  return source;
}

/** The current frame of a scene source. */
export function frameOf(source: ReplaySource): RenderFrame {
  return { transforms: source.transforms(), signals: source.signals?.() };
}
