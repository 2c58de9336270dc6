/**
 * Pixels for agents, after Gymnasium: `withRenderMode` gives an env `render()` returning an
 * `rgb_array` (height × width × 3 bytes); `PixelObservation` replaces (or extends) its observations with
 * the rendered frame (Gymnasium's `AddRenderObservation`: `renderOnly` true → the frame alone; false →
 * a dict `{ state, pixels }`); `PixelObservationVec` does the same for a vector env, rendering all of
 * its envs in one batch per step.
 *
 * Pixel observations are Float32Array values 0–255 (the platform's observation type) in a
 * `box([height, width, 3], 0, 255)` space, rows top to bottom.
 */
import {
  box,
  dict,
  isMultiAgent,
  mapMaybe,
  Wrapper,
  type AnyEnv,
  type MaybePromise,
  type Observation,
  type ResetParams,
  type Space,
  type VecEnvLike,
  type VecInfo,
  type VecStepResult,
  type CarballState,
} from '@rewardlab/sim';
import type { CameraOption } from './camera';
import { RenderInputError } from './errors';
import { sceneSourceOf } from './frames';
import type { FrameRenderer } from './renderer';

type AnyReset = Awaited<ReturnType<Wrapper['reset']>>;
type AnyStep = Awaited<ReturnType<Wrapper['step']>>;

export interface PixelOptions {
  renderer: FrameRenderer;
  width: number;
  height: number;
  camera?: CameraOption;
}

/** One `rgb_array` frame: height × width × 3 bytes, rows top to bottom. */
export interface RgbFrame {
  data: Uint8Array;
  width: number;
  height: number;
}

/** An env with Gymnasium's `render_mode="rgb_array"`: `render()` draws its current state. */
export class RenderModeEnv extends Wrapper {
  readonly renderMode = 'rgb_array';
  constructor(
    env: AnyEnv,
    readonly pixels: PixelOptions,
  ) {
    super(env);
    sceneSourceOf(env);
  }

  async render(): Promise<RgbFrame> {
    const { renderer, width, height, camera } = this.pixels;
    const data = await renderer.renderEnvs([this.env], { width, height, camera });
    return { data, width, height };
  }

  asEnv(): AnyEnv & { render(): Promise<RgbFrame>; renderMode: 'rgb_array' } {
    return this as unknown as AnyEnv & { render(): Promise<RgbFrame>; renderMode: 'rgb_array' };
  }
}

/** `env` with `render()` returning rgb_array frames (Gymnasium's render_mode="rgb_array"). */
export function withRenderMode(env: AnyEnv, pixels: PixelOptions): AnyEnv & { render(): Promise<RgbFrame>; renderMode: 'rgb_array' } {
  return new RenderModeEnv(env, pixels).asEnv();
}

export function pixelSpace(width: number, height: number): Space {
  return box([height, width, 3], 0, 255);
}

function toFloats(bytes: Uint8Array, out = new Float32Array(bytes.length)): Float32Array {
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]!;
  return out;
}

export interface PixelObservationOptions extends PixelOptions {
  /** Gymnasium's `render_only`: true (default) → the frame is the observation; false → `{ state, pixels }`. */
  renderOnly?: boolean;
  /** Dict keys (Gymnasium's `render_key`, default "pixels", and "state"). */
  renderKey?: string;
  stateKey?: string;
}

/**
 * Observations from pixels. A multi-agent env's agents all see the same frame (one camera); with
 * `renderOnly: false` each keeps its own state observation beside it.
 */
export class PixelObservation extends Wrapper {
  private readonly options: Required<Omit<PixelObservationOptions, 'camera'>> & { camera?: CameraOption };
  private readonly space: Space;

  constructor(env: AnyEnv, options: PixelObservationOptions) {
    super(env);
    this.options = { renderOnly: true, renderKey: 'pixels', stateKey: 'state', ...options };
    if (this.options.renderKey === this.options.stateKey) throw new RenderInputError(`the pixel and state keys must differ (both "${this.options.renderKey}")`);
    sceneSourceOf(env);
    const pixels = pixelSpace(options.width, options.height);
    this.space = this.options.renderOnly ? pixels : dict({ [this.options.stateKey]: env.observationSpace, [this.options.renderKey]: pixels });
  }

  override get observationSpace(): Space {
    return this.space;
  }

  private async observe(obs: Observation | Observation[]): Promise<Observation | Observation[]> {
    const { renderer, width, height, camera } = this.options;
    const pixels = toFloats(await renderer.renderEnvs([this.env], { width, height, camera }));
    const one = (o: Observation): Observation => (this.options.renderOnly ? pixels : { [this.options.stateKey]: o as Float32Array, [this.options.renderKey]: pixels });
    return Array.isArray(obs) && isMultiAgent(this.env) ? obs.map(one) : one(obs as Observation);
  }

  override reset(params?: ResetParams): MaybePromise<AnyReset> {
    return mapMaybe(this.env.reset(params), async (r) => ({ ...r, obs: await this.observe(r.obs) }) as AnyReset) as MaybePromise<AnyReset>;
  }

  override step(action: unknown): MaybePromise<AnyStep> {
    return mapMaybe((this.env as { step(a: unknown): MaybePromise<AnyStep> }).step(action), async (r) => ({ ...r, obs: await this.observe(r.obs) }) as AnyStep) as MaybePromise<AnyStep>;
  }
}

/** How to draw every env of a vector env now: its env instances, or carball's vector states. */
function vecFrames(vec: VecEnvLike): { renderAll: (renderer: FrameRenderer, size: { width: number; height: number; camera?: CameraOption }) => Promise<Uint8Array> } {
  const withEnvs = vec as VecEnvLike & { envs?: readonly AnyEnv[] };
  if (Array.isArray(withEnvs.envs)) {
    const envs = withEnvs.envs;
    envs.forEach((e) => sceneSourceOf(e));
    return { renderAll: (r, size) => r.renderEnvs(envs, size) };
  }
  const carball = vec as VecEnvLike & { getState?: (i: number) => CarballState };
  if (typeof carball.getState === 'function') {
    return {
      renderAll: (r, size) => r.render(Array.from({ length: vec.numEnvs }, (_, i) => carball.getState!(i)), { env: vec.envId, ...size }),
    };
  }
  throw new RenderInputError(`vector env of ${vec.envId} exposes neither its envs nor getState(i): nothing to render`);
}

/**
 * A vector env whose observations are pixels: after every reset and step all envs are drawn in one
 * renderer batch. Every agent slot of an env gets that env's frame; with `renderOnly: false` a slot's
 * flat observation is its state observation followed by the frame's values (obsSize = state + h·w·3).
 *
 * Next-step autoreset only: a same-step reset replaces a finished env's state before it could be drawn.
 */
export class PixelObservationVec implements VecEnvLike {
  readonly obsSize: number;
  readonly singleObservationSpace: Space;
  private readonly frameSize: number;
  private readonly source: ReturnType<typeof vecFrames>;
  private readonly obs: Float32Array;
  private readonly renderOnly: boolean;

  constructor(
    readonly vec: VecEnvLike,
    readonly options: PixelObservationOptions,
  ) {
    if (vec.autoresetMode !== 'next-step') throw new RenderInputError(`PixelObservationVec needs next-step autoreset; ${vec.envId}'s vector env resets in the same step`);
    this.renderOnly = options.renderOnly ?? true;
    this.frameSize = options.width * options.height * 3;
    this.obsSize = this.renderOnly ? this.frameSize : vec.obsSize + this.frameSize;
    const pixels = pixelSpace(options.width, options.height);
    this.singleObservationSpace = this.renderOnly ? pixels : dict({ [options.stateKey ?? 'state']: vec.singleObservationSpace, [options.renderKey ?? 'pixels']: pixels });
    this.source = vecFrames(vec);
    this.obs = new Float32Array(vec.numSlots * this.obsSize);
  }

  get envId(): string {
    return this.vec.envId;
  }
  get numEnvs(): number {
    return this.vec.numEnvs;
  }
  get numAgents(): number {
    return this.vec.numAgents;
  }
  get numSlots(): number {
    return this.vec.numSlots;
  }
  get actionSize(): number {
    return this.vec.actionSize;
  }
  get singleActionSpace(): Space {
    return this.vec.singleActionSpace;
  }
  get autoresetMode(): 'next-step' {
    return 'next-step';
  }
  createActionBuffer(): Float32Array | Int32Array {
    return this.vec.createActionBuffer();
  }

  private async observe(stateObs: Float32Array): Promise<Float32Array> {
    const { renderer, width, height, camera } = this.options;
    const frames = await this.source.renderAll(renderer, { width, height, camera });
    const agents = this.vec.numAgents;
    for (let slot = 0; slot < this.vec.numSlots; slot++) {
      const env = Math.floor(slot / agents);
      const o = slot * this.obsSize;
      if (!this.renderOnly) this.obs.set(stateObs.subarray(slot * this.vec.obsSize, (slot + 1) * this.vec.obsSize), o);
      const p = this.renderOnly ? o : o + this.vec.obsSize;
      const f = env * this.frameSize;
      for (let i = 0; i < this.frameSize; i++) this.obs[p + i] = frames[f + i]!;
    }
    return this.obs;
  }

  async reset(params?: { seed?: number; options?: Record<string, unknown> }): Promise<{ obs: Float32Array; info: VecInfo }> {
    const r = await this.vec.reset(params);
    return { ...r, obs: await this.observe(r.obs) };
  }

  async step(actions: ArrayLike<number>): Promise<VecStepResult> {
    const r = await this.vec.step(actions);
    const obs = await this.observe(r.obs);
    // Next-step autoreset: a finished env's observation this step is its final one, so the final
    // observations are the pixel observations of the slots that finished.
    if (r.info.episodes.length || r.info.autoreset.some((x) => x)) {
      this.finalObs ??= new Float32Array(this.obs.length);
      this.finalObs.set(obs);
    }
    return { ...r, obs, info: { ...r.info, finalObs: this.finalObs ?? (this.finalObs = new Float32Array(this.obs.length)) } };
  }

  private finalObs: Float32Array | null = null;

  close(): Promise<void> {
    return this.vec.close();
  }
}
