/**
 * Wrappers, one concern each (Gymnasium's `TimeLimit`, `RecordEpisodeStatistics`, `NormalizeObservation`,
 * `FlattenObservation`, and a frame-skip `RepeatAction`). Each works on single- and multi-agent envs and
 * stays synchronous over a synchronous env (no promise per step unless the inner env returns one).
 * `wrapper(env)` returns the same type of env it was given.
 */
import {
  InvalidActionError,
  isMultiAgent,
  supportsSnapshot,
  type AnyEnv,
  type EnvMetadata,
  type Info,
  type MultiAgentResetResult,
  type MultiAgentStepResult,
  type Observation,
  type ResetParams,
  type ResetResult,
  type StepResult,
} from './env';
import { FLOAT32_MAX, boxBounds, formatSpace, whyNotContained, boxSize, flattenInto, flattenSpace, flatDim, type Space, type SpaceValue } from './spaces';

export type MaybePromise<T> = T | Promise<T>;
type AnyReset = ResetResult | MultiAgentResetResult;
type AnyStep = StepResult | MultiAgentStepResult;

/** Applies `f` to a value or to the value a promise resolves to, staying synchronous where it can. */
export function mapMaybe<T, U>(x: MaybePromise<T>, f: (value: T) => U | Promise<U>): MaybePromise<U> {
  return x instanceof Promise ? x.then(f) : f(x);
}

/** Forwards everything to the inner env; subclasses override what they change. */
export class Wrapper {
  constructor(readonly env: AnyEnv) {}
  get id(): string {
    return this.env.id;
  }
  get observationSpace(): Space {
    return this.env.observationSpace;
  }
  get actionSpace(): Space {
    return this.env.actionSpace;
  }
  get metadata(): EnvMetadata | undefined {
    return this.env.metadata;
  }
  /** Present (an array) only when the inner env is multi-agent, so `isMultiAgent` sees through wrappers. */
  get agents(): readonly string[] | undefined {
    return isMultiAgent(this.env) ? this.env.agents : undefined;
  }
  /** The innermost env. */
  get unwrapped(): AnyEnv {
    return this.env instanceof Wrapper ? this.env.unwrapped : this.env;
  }
  reset(params?: ResetParams): MaybePromise<AnyReset> {
    return this.env.reset(params);
  }
  /** True when the inner env (and so this wrapper) can save and restore its state. */
  get snapshotSupported(): boolean {
    return supportsSnapshot(this.env);
  }
  getSnapshot(): unknown {
    if (!supportsSnapshot(this.env)) throw new Error(`${this.id}: the env does not support snapshots`);
    return { inner: this.env.getSnapshot(), own: this.ownSnapshot() };
  }
  setSnapshot(snapshot: unknown): void {
    if (!supportsSnapshot(this.env)) throw new Error(`${this.id}: the env does not support snapshots`);
    const s = snapshot as { inner: unknown; own: unknown };
    if (!s || typeof s !== 'object' || !('inner' in s)) throw new Error(`${this.id}: malformed wrapper snapshot`);
    this.env.setSnapshot(s.inner);
    this.restoreOwn(s.own);
  }
  /** A wrapper's own counters, for snapshots. */
  protected ownSnapshot(): unknown {
    return null;
  }
  protected restoreOwn(_own: unknown): void {}
  step(action: unknown): MaybePromise<AnyStep> {
    return (this.env.step as (a: unknown) => MaybePromise<AnyStep>)(action);
  }
  close(): void | Promise<void> {
    return this.env.close();
  }
}

/** Truncates episodes after `maxEpisodeSteps` steps (Gymnasium's TimeLimit: `truncated = true`, even on a terminal step). */
export class TimeLimit extends Wrapper {
  private elapsedSteps = 0;
  constructor(
    env: AnyEnv,
    readonly maxEpisodeSteps: number,
  ) {
    super(env);
    if (!Number.isInteger(maxEpisodeSteps) || maxEpisodeSteps <= 0) throw new RangeError(`TimeLimit: maxEpisodeSteps must be a positive integer, got ${maxEpisodeSteps}`);
  }
  get elapsed(): number {
    return this.elapsedSteps;
  }
  protected override ownSnapshot(): unknown {
    return this.elapsedSteps;
  }
  protected override restoreOwn(own: unknown): void {
    this.elapsedSteps = Number(own) || 0;
  }
  override reset(params?: ResetParams): MaybePromise<AnyReset> {
    return mapMaybe(super.reset(params), (r) => {
      this.elapsedSteps = 0;
      return r;
    });
  }
  override step(action: unknown): MaybePromise<AnyStep> {
    return mapMaybe(super.step(action), (r) => {
      this.elapsedSteps += 1;
      if (this.elapsedSteps >= this.maxEpisodeSteps) r.truncated = true;
      return r;
    });
  }
}

export interface EpisodeStatistics {
  /** Undiscounted return: a number, or one per agent slot for a multi-agent env. */
  return: number | number[];
  length: number;
  /** Wall-clock seconds since the episode's reset. */
  seconds: number;
}

/** Adds `info.episode` ({ return, length, seconds }) on the step an episode ends. */
export class RecordEpisodeStatistics extends Wrapper {
  private episodeReturn: number[] = [];
  private episodeLength = 0;
  private startedAt = 0;
  protected override ownSnapshot(): unknown {
    return { episodeReturn: [...this.episodeReturn], episodeLength: this.episodeLength };
  }
  protected override restoreOwn(own: unknown): void {
    const o = own as { episodeReturn: number[]; episodeLength: number };
    this.episodeReturn = [...o.episodeReturn];
    this.episodeLength = o.episodeLength;
    this.startedAt = performance.now();
  }
  override reset(params?: ResetParams): MaybePromise<AnyReset> {
    return mapMaybe(super.reset(params), (r) => {
      this.episodeReturn = new Array(isMultiAgent(this.env) ? this.env.agents.length : 1).fill(0);
      this.episodeLength = 0;
      this.startedAt = performance.now();
      return r;
    });
  }
  override step(action: unknown): MaybePromise<AnyStep> {
    return mapMaybe(super.step(action), (r) => {
      const rewards = typeof r.reward === 'number' ? [r.reward] : r.reward;
      for (let i = 0; i < rewards.length; i++) this.episodeReturn[i] = (this.episodeReturn[i] ?? 0) + rewards[i]!;
      this.episodeLength += 1;
      if (r.terminated || r.truncated) {
        const episode: EpisodeStatistics = {
          return: typeof r.reward === 'number' ? this.episodeReturn[0]! : [...this.episodeReturn],
          length: this.episodeLength,
          seconds: (performance.now() - this.startedAt) / 1000,
        };
        r.info = { ...r.info, episode };
      }
      return r;
    });
  }
}

function mapObservation<R extends { obs: Observation | Observation[] }>(r: R, f: (obs: Observation) => Float32Array): R {
  r.obs = Array.isArray(r.obs) ? r.obs.map(f) : f(r.obs as Observation);
  return r;
}

/** Flattens dict (or multi-dimensional box) observations into one Float32Array (Gymnasium's FlattenObservation). */
export class FlattenObservation extends Wrapper {
  private readonly flatSpace: Space;
  private readonly size: number;
  constructor(env: AnyEnv) {
    super(env);
    this.flatSpace = flattenSpace(env.observationSpace);
    this.size = flatDim(env.observationSpace);
  }
  override get observationSpace(): Space {
    return this.flatSpace;
  }
  private flatten = (obs: Observation): Float32Array => {
    const out = new Float32Array(this.size);
    flattenInto(this.env.observationSpace, obs as SpaceValue, out, 0);
    return out;
  };
  override reset(params?: ResetParams): MaybePromise<AnyReset> {
    return mapMaybe(super.reset(params), (r) => mapObservation(r, this.flatten));
  }
  override step(action: unknown): MaybePromise<AnyStep> {
    return mapMaybe(super.step(action), (r) => mapObservation(r, this.flatten));
  }
}

/**
 * Running mean and variance of a stream of vectors (Chan et al.'s parallel update, as Gymnasium's
 * RunningMeanStd, starting from count = epsilon so the first batch dominates).
 */
export class RunningMeanStd {
  readonly mean: Float64Array;
  readonly var: Float64Array;
  count: number;
  constructor(
    readonly size: number,
    epsilon = 1e-4,
  ) {
    this.mean = new Float64Array(size);
    this.var = new Float64Array(size).fill(1);
    this.count = epsilon;
  }
  /** Adds `batchCount` rows of `size` values laid out one after another in `x`. */
  update(x: ArrayLike<number>, batchCount = 1): void {
    const n = this.size;
    const batchMean = new Float64Array(n);
    const batchVar = new Float64Array(n);
    for (let r = 0; r < batchCount; r++) for (let i = 0; i < n; i++) batchMean[i]! += x[r * n + i]! / batchCount;
    for (let r = 0; r < batchCount; r++) for (let i = 0; i < n; i++) batchVar[i]! += (x[r * n + i]! - batchMean[i]!) ** 2 / batchCount;
    const total = this.count + batchCount;
    for (let i = 0; i < n; i++) {
      const delta = batchMean[i]! - this.mean[i]!;
      const m2 = this.var[i]! * this.count + batchVar[i]! * batchCount + (delta * delta * this.count * batchCount) / total;
      this.mean[i] = this.mean[i]! + (delta * batchCount) / total;
      this.var[i] = m2 / total;
    }
    this.count = total;
  }
  toJSON(): { mean: number[]; var: number[]; count: number } {
    return { mean: Array.from(this.mean), var: Array.from(this.var), count: this.count };
  }
  static fromJSON(json: { mean: number[]; var: number[]; count: number }): RunningMeanStd {
    const rms = new RunningMeanStd(json.mean.length);
    rms.mean.set(json.mean);
    rms.var.set(json.var);
    rms.count = json.count;
    return rms;
  }
}

/** Normalises box observations to zero mean and unit variance with running statistics (Gymnasium's NormalizeObservation). */
export class NormalizeObservation extends Wrapper {
  readonly stats: RunningMeanStd;
  /** Set false to freeze the statistics (evaluation). */
  updateStats = true;
  protected override ownSnapshot(): unknown {
    return this.stats.toJSON();
  }
  protected override restoreOwn(own: unknown): void {
    const o = own as { mean: number[]; var: number[]; count: number };
    this.stats.mean.set(o.mean);
    this.stats.var.set(o.var);
    this.stats.count = o.count;
  }
  constructor(
    env: AnyEnv,
    readonly epsilon = 1e-8,
  ) {
    super(env);
    if (env.observationSpace.kind !== 'box') throw new TypeError(`NormalizeObservation needs a box observation space; ${env.id} has ${env.observationSpace.kind} (wrap it in FlattenObservation first)`);
    this.stats = new RunningMeanStd(boxSize(env.observationSpace));
  }
  override get observationSpace(): Space {
    return { kind: 'box', shape: (this.env.observationSpace as { shape: readonly number[] }).shape, low: -FLOAT32_MAX, high: FLOAT32_MAX };
  }
  private normalize = (obs: Observation): Float32Array => {
    const x = obs as Float32Array;
    if (this.updateStats) this.stats.update(x, 1);
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = (x[i]! - this.stats.mean[i]!) / Math.sqrt(this.stats.var[i]! + this.epsilon);
    return out;
  };
  override reset(params?: ResetParams): MaybePromise<AnyReset> {
    return mapMaybe(super.reset(params), (r) => mapObservation(r, this.normalize));
  }
  override step(action: unknown): MaybePromise<AnyStep> {
    return mapMaybe(super.step(action), (r) => mapObservation(r, this.normalize));
  }
}

/**
 * Repeats each action `repeat` times (frame skip), summing rewards and stopping early when the episode
 * ends; the observation and info are the last step's.
 */
export class RepeatAction extends Wrapper {
  constructor(
    env: AnyEnv,
    readonly repeat: number,
  ) {
    super(env);
    if (!Number.isInteger(repeat) || repeat < 1) throw new RangeError(`RepeatAction: repeat must be a positive integer, got ${repeat}`);
  }
  override step(action: unknown): MaybePromise<AnyStep> {
    let total: number[] | null = null;
    const loop = (k: number, r: AnyStep): MaybePromise<AnyStep> => {
      const rewards = typeof r.reward === 'number' ? [r.reward] : r.reward;
      total = total ?? new Array<number>(rewards.length).fill(0);
      for (let i = 0; i < rewards.length; i++) total[i]! += rewards[i]!;
      if (r.terminated || r.truncated || k + 1 >= this.repeat) {
        r.reward = (typeof r.reward === 'number' ? total[0]! : [...total]) as never;
        return r;
      }
      return mapMaybe(super.step(action), (next) => loop(k + 1, next));
    };
    return mapMaybe(super.step(action), (r) => loop(0, r));
  }
}

/**
 * Lets the agent act in [min, max] (default [−1, 1]) on every entry of a bounded box action space and maps
 * that linearly onto the env's bounds (Gymnasium's RescaleAction): a Gaussian policy starting at mean 0
 * then starts in the middle of the env's range instead of at one end.
 */
export class RescaleAction extends Wrapper {
  private readonly low: Float64Array;
  private readonly high: Float64Array;
  private readonly space: Space;
  constructor(
    env: AnyEnv,
    readonly min = -1,
    readonly max = 1,
  ) {
    super(env);
    const inner = env.actionSpace;
    if (inner.kind !== 'box') throw new TypeError(`RescaleAction needs a box action space; ${env.id} has ${inner.kind}`);
    if (!(min < max)) throw new RangeError(`RescaleAction: min (${min}) must be below max (${max})`);
    const b = boxBounds(inner);
    if ([...b.low, ...b.high].some((v) => !Number.isFinite(v) || Math.abs(v) >= FLOAT32_MAX)) throw new TypeError(`RescaleAction needs finite action bounds; ${env.id} has ${formatSpace(inner)}`);
    this.low = b.low;
    this.high = b.high;
    this.space = { kind: 'box', shape: [...inner.shape], low: min, high: max };
  }
  override get actionSpace(): Space {
    return this.space;
  }
  private toEnv(a: unknown, slot: number | null): Float32Array {
    const why = whyNotContained(this.space, a);
    if (why !== null) throw new InvalidActionError(this.id, slot, a, why);
    const x = a as ArrayLike<number>;
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = this.low[i]! + ((x[i]! - this.min) / (this.max - this.min)) * (this.high[i]! - this.low[i]!);
    return out;
  }
  override step(action: unknown): MaybePromise<AnyStep> {
    if (isMultiAgent(this.env)) {
      if (!Array.isArray(action)) throw new InvalidActionError(this.id, null, action, 'expected one action per agent slot');
      return super.step(action.map((a, slot) => this.toEnv(a, slot)));
    }
    return super.step(this.toEnv(action, null));
  }
}

/** Typed helpers: each returns the kind of env it was given. */
export const wrap = {
  timeLimit: <E extends AnyEnv>(env: E, maxEpisodeSteps: number): E => new TimeLimit(env, maxEpisodeSteps) as unknown as E,
  recordEpisodeStatistics: <E extends AnyEnv>(env: E): E => new RecordEpisodeStatistics(env) as unknown as E,
  flattenObservation: <E extends AnyEnv>(env: E): E => new FlattenObservation(env) as unknown as E,
  normalizeObservation: <E extends AnyEnv>(env: E, epsilon?: number): E => new NormalizeObservation(env, epsilon) as unknown as E,
  repeatAction: <E extends AnyEnv>(env: E, repeat: number): E => new RepeatAction(env, repeat) as unknown as E,
  rescaleAction: <E extends AnyEnv>(env: E, min?: number, max?: number): E => new RescaleAction(env, min, max) as unknown as E,
};

export type { Info };
