/**
 * `withReward(env, spec)`: replaces an env's reward with a spec's total and reports every component in
 * `info.rewardComponents` (name → value per agent slot). One concern, as sim's wrappers: spaces, agents,
 * single/multi-agent shape and synchronous stepping are the inner env's.
 *
 * Terms see the previous and next state: for carball the raw env's `getState()` (copied, since the env
 * may reuse it), elsewhere the observation(s); the actions; per-agent events from `info.agents[slot].events`;
 * and the env's own reward (for the `native` term).
 */
import { isMultiAgent, mapMaybe, numAgentsOf, Wrapper, type AnyEnv, type MaybePromise, type MultiAgentResetResult, type MultiAgentStepResult, type Observation, type ResetParams, type ResetResult, type StepResult } from '@rewardlab/sim';
import { cloneCarballState, isCarballState, type CarballState } from './carball';
import { RewardFunction, type RewardDomain } from './reward';
import type { RewardSpecLike } from './spec';
import { componentArrays, copyCarballState, eventsOf } from './step-info';
import type { RewardState } from './terms';
import { frameOf, sceneSourceOf } from '@rewardlab/render';
import { FrameScoring, type FrameScoringOptions } from './vlm/frame-scoring';
import type { ReplayScene, ReplaySource } from '@rewardlab/sim';

/** The raw env of a carball-like env exposes its state. */
interface StatefulEnv {
  getState(): CarballState;
}

function hasState(env: AnyEnv): env is AnyEnv & StatefulEnv {
  return typeof (env as Partial<StatefulEnv>).getState === 'function';
}

/** The domain of an env's states: carball when its raw env has `getState()`. */
export function rewardDomainOf(env: AnyEnv): RewardDomain {
  const raw = env instanceof Wrapper ? env.unwrapped : env;
  return hasState(raw) ? 'carball' : 'generic';
}

function copyObservation(obs: Observation): Observation {
  if (obs instanceof Float32Array) return obs.slice();
  return Object.fromEntries(Object.entries(obs).map(([k, v]) => [k, v.slice()]));
}

/** What reward terms see of an env after reset or step: a copy of the raw env's carball state, else of the observations. */
export function rewardStateOf(env: AnyEnv, obs: Observation | Observation[]): RewardState {
  const raw = env instanceof Wrapper ? env.unwrapped : env;
  if (hasState(raw)) return copyCarballState(raw.getState(), `${env.id}: getState()`);
  return Array.isArray(obs) ? obs.map(copyObservation) : copyObservation(obs);
}

export interface WithRewardOptions extends FrameScoringOptions {
  /** Overrides the spec's shaping γ (pass the learner's γ for Ng et al.'s policy invariance with γ < 1). */
  gamma?: number;
}

type AnyReset = ResetResult | MultiAgentResetResult;
type AnyStep = StepResult | MultiAgentStepResult;

export class RewardWrapper extends Wrapper {
  readonly reward: RewardFunction;
  private readonly multi: boolean;
  private readonly numSlots: number;
  private readonly raw: AnyEnv;
  private prevState: RewardState = null;
  /** Frame-scored (`vlm`) terms: the env's frames are drawn and embedded before the reward is evaluated. */
  private readonly frames: FrameScoring;
  private source: { source: ReplaySource; scene: ReplayScene } | null = null;

  constructor(env: AnyEnv, spec: RewardSpecLike, options: WithRewardOptions = {}) {
    super(env);
    this.multi = isMultiAgent(env);
    this.numSlots = numAgentsOf(env);
    this.raw = env instanceof Wrapper ? env.unwrapped : env;
    this.reward = new RewardFunction(spec, { numSlots: this.numSlots, domain: rewardDomainOf(env), envId: env.id, ...(options.gamma !== undefined ? { gamma: options.gamma } : {}) });
    this.frames = new FrameScoring(this.reward, options);
    if (this.frames.active) {
      // Fails here, naming the env, when the env has no scene to draw.
      const source = sceneSourceOf(env);
      this.source = { source, scene: source.scene() };
    }
  }

  /** Scores the frame-scored terms at `state` (the env's state now), then returns `value`. */
  private scored<T>(state: RewardState, value: T): MaybePromise<T> {
    if (!this.source || state === null || typeof state !== 'object') return value;
    const frame = frameOf(this.source.source);
    return this.frames.scoreStates([state as object], this.source.scene, [frame]).then(() => value);
  }

  private stateAfter(obs: Observation | Observation[]): RewardState {
    return rewardStateOf(this.raw, obs);
  }

  /** The previous state (what the next step's terms compare against) travels in env snapshots, as JSON. */
  protected override ownSnapshot(): unknown {
    const toJson = (x: unknown): unknown => (x instanceof Float32Array ? { float32: Array.from(x) } : Array.isArray(x) ? x.map(toJson) : x);
    return { prevState: toJson(this.prevState) };
  }
  protected override restoreOwn(own: unknown): void {
    const fromJson = (x: unknown): unknown =>
      Array.isArray(x) ? x.map(fromJson) : x && typeof x === 'object' && Array.isArray((x as { float32?: unknown }).float32) ? Float32Array.from((x as { float32: number[] }).float32) : x;
    const prev = (own as { prevState?: unknown } | null)?.prevState;
    this.prevState = prev === undefined ? null : isCarballState(prev) ? cloneCarballState(prev) : fromJson(prev);
  }

  override reset(params?: ResetParams): MaybePromise<AnyReset> {
    return mapMaybe(super.reset(params), (r) => {
      this.prevState = this.stateAfter(r.obs);
      // The first state is scored too: a potential over a vlm term needs Φ(s₀).
      return this.scored(this.prevState, r);
    });
  }

  override step(action: unknown): MaybePromise<AnyStep> {
    // A previous state restored from a snapshot has no frame score yet: the env still shows it, so draw it now.
    if (this.source && !this.reward.hasFrameScores(this.prevState)) {
      const prev = this.scored(this.prevState, null);
      if (prev instanceof Promise) return prev.then(() => this.step(action));
    }
    return mapMaybe(super.step(action), (r) => {
      const next = this.stateAfter(r.obs);
      return mapMaybe(this.scored(next, r), (r) => this.pay(r, action, next));
    });
  }

  override close(): void | Promise<void> {
    if (!this.frames.active) return super.close();
    return this.frames.close().then(() => super.close());
  }

  private pay(r: AnyStep, action: unknown, next: RewardState): AnyStep {
    const { total, components } = this.reward.evaluate({
      prev: this.prevState,
      next,
      actions: this.multi ? (action as unknown[]) : [action],
      events: eventsOf(r.info, this.numSlots),
      nativeReward: typeof r.reward === 'number' ? [r.reward] : r.reward,
      terminated: r.terminated,
    });
    this.prevState = next;
    const rewardComponents = componentArrays(components);
    // Keep what the env itself paid, so learners can still report the env's own return.
    const nativeReward = typeof r.reward === 'number' ? [r.reward] : [...r.reward];
    r.reward = (this.multi ? Array.from(total) : total[0]!) as never;
    r.info = { ...r.info, rewardComponents, nativeReward };
    return r;
  }
}

/**
 * Wraps an env so that its reward is the spec's total, with `info.rewardComponents` (component name →
 * one value per agent slot) on every step. Works on any env; carball terms need a carball env.
 */
export function withReward<E extends AnyEnv>(env: E, spec: RewardSpecLike, options: WithRewardOptions = {}): E {
  return new RewardWrapper(env, spec, options) as unknown as E;
}
