/**
 * The environment contract (DESIGN.md, Gymnasium / PettingZoo semantics).
 *
 * - `reset({ seed, options })` starts an episode. With a seed the env's RNG is reseeded, so the same seed
 *   and the same actions give the same trajectory bit for bit; without one the RNG continues its stream
 *   (an env that was never seeded draws its first seed from the OS, as Gymnasium does).
 * - `step(action)` advances one step. `terminated` means the MDP reached a terminal state (the value of
 *   the next state is 0); `truncated` means the episode was cut short from outside the MDP (a time
 *   limit), so the next state still has a value. After either, the caller must `reset`.
 * - Observations are `Float32Array`s (dict observation spaces: an object of them). An env returns a fresh
 *   array from every call unless it sets `metadata.reusesObsBuffer`, in which case the caller must copy.
 * - `step`, `reset` and `close` may return promises; callers await them. `close` may be called twice.
 * - Invalid input (an action outside the action space, NaN, the wrong length; reset options of the wrong
 *   type) throws an error that names the env, the agent slot and the bad value; the env is left as it was.
 *
 * Multi-agent envs follow PettingZoo's parallel API with agent slots in a fixed order: one action per slot
 * in, observations and rewards as arrays in slot order out; spaces describe one agent (every slot shares
 * them, so a vector env can lay all slots out in flat arrays); per-agent events are in `info.agents[i]`.
 * All slots of a multi-agent env end their episode together.
 */
import { randomInt } from 'node:crypto';
import type { Space, SpaceValue } from './spaces';
import { whyNotContained } from './spaces';
import { assertSeed, describeValue, Rng, type RngState } from './rng';

export type Observation = Float32Array | { readonly [key: string]: Float32Array };
export type Info = Record<string, unknown>;

export interface ResetParams {
  seed?: number;
  options?: Record<string, unknown>;
}

export interface ResetResult {
  obs: Observation;
  info: Info;
}

export interface StepResult {
  obs: Observation;
  reward: number;
  terminated: boolean;
  truncated: boolean;
  info: Info;
}

export interface MultiAgentResetResult {
  obs: Observation[];
  info: Info;
}

export interface MultiAgentStepResult {
  obs: Observation[];
  reward: number[];
  terminated: boolean;
  truncated: boolean;
  info: Info;
}

export interface EnvMetadata {
  /** True when `reset`/`step` hand back the same observation arrays each call (the caller must copy). */
  readonly reusesObsBuffer?: boolean;
  /** Simulated seconds per `step`, where the env has a clock. */
  readonly secondsPerStep?: number;
  readonly description?: string;
  readonly [key: string]: unknown;
}

export interface Env<A extends SpaceValue = SpaceValue> {
  readonly id: string;
  readonly observationSpace: Space;
  readonly actionSpace: Space;
  readonly metadata?: EnvMetadata;
  reset(params?: ResetParams): ResetResult | Promise<ResetResult>;
  step(action: A): StepResult | Promise<StepResult>;
  close(): void | Promise<void>;
}

export interface MultiAgentEnv<A extends SpaceValue = SpaceValue> {
  readonly id: string;
  /** Agent names in slot order (for carball: `blue-0`, `orange-0`, …). */
  readonly agents: readonly string[];
  /** One agent's observation space; every slot shares it. */
  readonly observationSpace: Space;
  /** One agent's action space; every slot shares it. */
  readonly actionSpace: Space;
  readonly metadata?: EnvMetadata;
  reset(params?: ResetParams): MultiAgentResetResult | Promise<MultiAgentResetResult>;
  step(actions: readonly A[]): MultiAgentStepResult | Promise<MultiAgentStepResult>;
  close(): void | Promise<void>;
}

export type AnyEnv = Env | MultiAgentEnv;

/**
 * Envs that can save and restore their complete state (dynamics, RNG stream, counters), so a training
 * run resumed from a checkpoint continues exactly where it stopped. Snapshots are JSON-safe.
 */
export interface Snapshotable {
  getSnapshot(): unknown;
  setSnapshot(snapshot: unknown): void;
  /** Wrappers report whether everything beneath them supports snapshots. */
  readonly snapshotSupported?: boolean;
}

export function supportsSnapshot(env: unknown): env is Snapshotable {
  const e = env as Partial<Snapshotable> | null;
  return !!e && typeof e.getSnapshot === 'function' && typeof e.setSnapshot === 'function' && e.snapshotSupported !== false;
}

export function isMultiAgent(env: AnyEnv): env is MultiAgentEnv {
  return Array.isArray((env as MultiAgentEnv).agents);
}

/** Number of agent slots: 1 for a single-agent env. */
export function numAgentsOf(env: AnyEnv): number {
  return isMultiAgent(env) ? env.agents.length : 1;
}

/** An action that is not a member of the env's action space (or a wrong number of actions). */
export class InvalidActionError extends Error {
  override name = 'InvalidActionError';
  constructor(
    readonly envId: string,
    readonly slot: number | null,
    readonly value: unknown,
    readonly reason: string,
  ) {
    super(`${envId}${slot === null ? '' : `, agent slot ${slot}`}: invalid action ${describeValue(value)}: ${reason}`);
  }
}

/** Bad constructor or reset options. */
export class EnvOptionsError extends Error {
  override name = 'EnvOptionsError';
  constructor(
    readonly envId: string,
    reason: string,
  ) {
    super(`${envId}: ${reason}`);
  }
}

/** Throws an InvalidActionError unless `action` is in `space`. */
export function assertAction(envId: string, space: Space, action: unknown, slot: number | null = null): void {
  const why = whyNotContained(space, action);
  if (why !== null) throw new InvalidActionError(envId, slot, action, why);
}

/** Checks a multi-agent action list: one valid action per slot. */
export function assertActions(envId: string, space: Space, actions: unknown, numAgents: number): void {
  if (!Array.isArray(actions)) {
    throw new InvalidActionError(envId, null, actions, `expected an array of ${numAgents} actions (one per agent slot)`);
  }
  if (actions.length !== numAgents) {
    throw new InvalidActionError(envId, null, actions, `expected ${numAgents} actions (one per agent slot), got ${actions.length}`);
  }
  for (let i = 0; i < numAgents; i++) assertAction(envId, space, actions[i], i);
}

/** Validates `reset` parameters and returns the seed to use (undefined: keep the stream). */
export function parseResetParams(envId: string, params: unknown): { seed: number | undefined; options: Record<string, unknown> } {
  if (params === undefined || params === null) return { seed: undefined, options: {} };
  if (typeof params !== 'object' || Array.isArray(params)) throw new EnvOptionsError(envId, `reset expects { seed?, options? }, got ${describeValue(params)}`);
  const { seed, options, ...rest } = params as ResetParams & Record<string, unknown>;
  const unknownKeys = Object.keys(rest);
  if (unknownKeys.length) throw new EnvOptionsError(envId, `reset got unknown parameter ${unknownKeys.map((k) => JSON.stringify(k)).join(', ')} (expected seed, options)`);
  if (seed !== undefined) {
    try {
      assertSeed(seed, 'reset seed');
    } catch (err) {
      throw new EnvOptionsError(envId, (err as Error).message);
    }
  }
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new EnvOptionsError(envId, `reset options must be an object, got ${describeValue(options)}`);
  }
  return { seed, options: options ?? {} };
}

/**
 * Shared plumbing for built-in single-agent envs: the seeded RNG with Gymnasium's reseeding rule, action
 * validation, and idempotent close. Subclasses implement the dynamics.
 */
export abstract class BaseEnv<A extends SpaceValue = SpaceValue> implements Env<A> {
  abstract readonly id: string;
  abstract readonly observationSpace: Space;
  abstract readonly actionSpace: Space;
  protected rng: Rng | null = null;
  protected closed = false;

  /** Applies the reset parameters' seed and returns the validated options. */
  protected beginReset(params: ResetParams | undefined): Record<string, unknown> {
    this.assertOpen();
    const { seed, options } = parseResetParams(this.id, params);
    if (seed !== undefined) this.rng = new Rng(seed);
    else if (this.rng === null) this.rng = new Rng(randomInt(0, 2 ** 48 - 1));
    return options;
  }

  protected get random(): Rng {
    if (this.rng === null) throw new Error(`${this.id}: call reset() before step()`);
    return this.rng;
  }

  protected assertOpen(): void {
    if (this.closed) throw new Error(`${this.id}: the env is closed`);
  }

  /** The RNG's state for a subclass's snapshot (null before the first reset). */
  protected rngSnapshot(): RngState | null {
    return this.rng ? this.rng.getState() : null;
  }

  protected restoreRng(state: RngState | null | undefined): void {
    this.rng = state ? Rng.fromState(state) : null;
  }

  protected checkAction(action: unknown): void {
    this.assertOpen();
    assertAction(this.id, this.actionSpace, action);
  }

  abstract reset(params?: ResetParams): ResetResult | Promise<ResetResult>;
  abstract step(action: A): StepResult | Promise<StepResult>;

  close(): void {
    this.closed = true;
  }
}
