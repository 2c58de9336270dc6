/**
 * VecEnv: N envs × A agent slots stepped as one batch, with observations, rewards and episode flags in
 * flat typed arrays allocated once (PufferLib / EnvPool style: slot s = env·A + agent, row s of `obs`
 * is that slot's observation).
 *
 * Autoreset (Gymnasium 1.x modes):
 * - `next-step` (default): on the step where an env's episode ends, `obs` holds its final observation;
 *   the next `step` resets that env instead of stepping it (its actions are ignored, its reward is 0 and
 *   `info.autoreset[env]` is 1).
 * - `same-step`: the env is reset within the ending step; `obs` holds the new episode's first
 *   observation, `info.envInfos[env]` the reset's info and its `final` the ending step's info (events,
 *   score: `CarballVecEnv` does the same).
 * In both modes `info.finalObs` holds the final observation of every slot whose episode ended on this
 * step (other rows are stale) and `info.episodes` lists the finished episodes with their returns.
 */
import { stepTaskMetrics } from './task-metrics';
import { assertSeed } from './rng';
import { InvalidActionError, isMultiAgent, supportsSnapshot, numAgentsOf, type AnyEnv, type Info, type Observation } from './env';
import { actionLength, boxSize, whyNotContained, formatSpace, type Space, type SpaceValue } from './spaces';
import { makeEnv, type MakeEnvOptions } from './registry';

export type AutoresetMode = 'next-step' | 'same-step';

export interface VecEnvOptions {
  autoreset?: AutoresetMode;
}

export interface FinishedEpisode {
  env: number;
  agent: number;
  /** Undiscounted sum of the env's rewards. */
  return: number;
  length: number;
  /** From the final step's `info.isSuccess` (or `info.agents[agent].isSuccess`), where the env reports it. */
  isSuccess?: boolean;
  /** The env's task metrics at the episode's end (sim/src/task-metrics.ts), where the env reports them. */
  metrics?: Record<string, number>;
}

export interface VecInfo {
  /** 1 for each env that this step reset instead of stepping (next-step mode). */
  autoreset: Uint8Array;
  /** Final observations of the slots whose episode ended on this step (rows of other slots are stale). */
  finalObs: Float32Array;
  episodes: FinishedEpisode[];
  /** Each env's latest info object (references, not copies). */
  envInfos: Info[];
}

export interface VecStepResult {
  obs: Float32Array;
  rewards: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  info: VecInfo;
}

/**
 * What a trainer needs from a vector env: the local `VecEnv`, a multi-arena carball vector or a remote
 * one over WebSockets all implement it, so rollouts run over any of them unchanged.
 */
export interface VecEnvLike {
  readonly envId: string;
  readonly numEnvs: number;
  readonly numAgents: number;
  readonly numSlots: number;
  readonly obsSize: number;
  readonly actionSize: number;
  readonly singleObservationSpace: Space;
  readonly singleActionSpace: Space;
  readonly autoresetMode: AutoresetMode;
  createActionBuffer(): Float32Array | Int32Array;
  reset(params?: { seed?: number; options?: Record<string, unknown> }): Promise<{ obs: Float32Array; info: VecInfo }>;
  step(actions: ArrayLike<number>): Promise<VecStepResult>;
  close(): Promise<void>;
  /** Exact save/restore of every env and the episode bookkeeping (for resuming training), where supported. */
  readonly snapshotSupported?: boolean;
  getSnapshot?(): unknown;
  setSnapshot?(snapshot: unknown): Promise<{ obs: Float32Array }> | { obs: Float32Array };
}

export class VecEnv implements VecEnvLike {
  readonly numEnvs: number;
  readonly numAgents: number;
  readonly numSlots: number;
  readonly singleObservationSpace: Space;
  readonly singleActionSpace: Space;
  readonly obsSize: number;
  readonly actionSize: number;
  readonly autoresetMode: AutoresetMode;
  readonly envId: string;

  readonly obs: Float32Array;
  readonly rewards: Float32Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  private readonly info: VecInfo;
  private readonly needsReset: Uint8Array;
  private readonly episodeReturn: Float64Array;
  private readonly episodeLength: Int32Array;
  private closed = false;
  private started = false;

  /** Builds `numEnvs` copies of a registered env. */
  static async make(id: string, numEnvs: number, options: MakeEnvOptions & VecEnvOptions = {}): Promise<VecEnv> {
    if (!Number.isInteger(numEnvs) || numEnvs < 1) throw new RangeError(`VecEnv.make(${id}): numEnvs must be a positive integer, got ${numEnvs}`);
    const { autoreset, ...makeOptions } = options;
    const envs: AnyEnv[] = [];
    for (let i = 0; i < numEnvs; i++) envs.push(await makeEnv(id, makeOptions));
    return new VecEnv(envs, { autoreset });
  }

  constructor(
    readonly envs: readonly AnyEnv[],
    options: VecEnvOptions = {},
  ) {
    if (envs.length === 0) throw new RangeError('VecEnv needs at least one env');
    const first = envs[0]!;
    this.envId = first.id;
    this.numEnvs = envs.length;
    this.numAgents = numAgentsOf(first);
    this.numSlots = this.numEnvs * this.numAgents;
    this.singleObservationSpace = first.observationSpace;
    this.singleActionSpace = first.actionSpace;
    if (first.observationSpace.kind !== 'box') {
      throw new TypeError(`VecEnv(${first.id}): observations must be a box to batch them; this env has ${formatSpace(first.observationSpace)} (wrap it in FlattenObservation)`);
    }
    const sameSpaces = JSON.stringify([first.observationSpace, first.actionSpace]);
    envs.forEach((env, i) => {
      if (numAgentsOf(env) !== this.numAgents || JSON.stringify([env.observationSpace, env.actionSpace]) !== sameSpaces) {
        throw new TypeError(`VecEnv: env ${i} (${env.id}) has different spaces or agent count from env 0 (${first.id})`);
      }
    });
    this.obsSize = boxSize(first.observationSpace);
    this.actionSize = actionLength(first.actionSpace);
    this.autoresetMode = options.autoreset ?? 'next-step';
    this.obs = new Float32Array(this.numSlots * this.obsSize);
    this.rewards = new Float32Array(this.numSlots);
    this.terminated = new Uint8Array(this.numSlots);
    this.truncated = new Uint8Array(this.numSlots);
    this.needsReset = new Uint8Array(this.numEnvs);
    this.episodeReturn = new Float64Array(this.numSlots);
    this.episodeLength = new Int32Array(this.numSlots);
    this.info = { autoreset: new Uint8Array(this.numEnvs), finalObs: new Float32Array(this.numSlots * this.obsSize), episodes: [], envInfos: new Array<Info>(this.numEnvs).fill({}) };
  }

  /** A flat action buffer of the right type and size: Float32Array for boxes, Int32Array otherwise. */
  createActionBuffer(): Float32Array | Int32Array {
    const n = this.numSlots * this.actionSize;
    return this.singleActionSpace.kind === 'box' ? new Float32Array(n) : new Int32Array(n);
  }

  /** Resets every env; with a seed, env i is seeded with seed + i. */
  async reset(params: { seed?: number; options?: Record<string, unknown> } = {}): Promise<{ obs: Float32Array; info: VecInfo }> {
    this.assertOpen();
    if (params.seed !== undefined) assertSeed(params.seed, `${this.envId} VecEnv reset seed`);
    const results = await Promise.all(
      this.envs.map((env, i) => env.reset({ ...(params.seed !== undefined ? { seed: params.seed + i } : {}), ...(params.options ? { options: params.options } : {}) })),
    );
    results.forEach((r, i) => {
      this.writeObs(i, r.obs, this.obs);
      this.info.envInfos[i] = r.info;
    });
    this.rewards.fill(0);
    this.terminated.fill(0);
    this.truncated.fill(0);
    this.needsReset.fill(0);
    this.episodeReturn.fill(0);
    this.episodeLength.fill(0);
    this.info.autoreset.fill(0);
    this.info.episodes = [];
    this.started = true;
    return { obs: this.obs, info: this.info };
  }

  /**
   * Steps every env with its slots' actions, laid out flat (`numSlots × actionSize`; discrete spaces take
   * one index per slot). All actions are checked before any env moves: a bad one throws an
   * InvalidActionError naming the env, the agent slot and the value, and nothing changes.
   */
  async step(actions: ArrayLike<number>): Promise<VecStepResult> {
    this.assertOpen();
    if (!this.started) throw new Error(`${this.envId} VecEnv: call reset() before step()`);
    const perEnv = this.splitActions(actions);
    const info = this.info;
    info.autoreset.fill(0);
    info.episodes = [];

    const pending: Promise<void>[] = [];
    for (let i = 0; i < this.numEnvs; i++) {
      const env = this.envs[i]!;
      if (this.needsReset[i]) {
        const r = env.reset();
        const done = (res: { obs: Observation | Observation[]; info: Info }): void => this.afterAutoreset(i, res);
        if (r instanceof Promise) pending.push(r.then(done));
        else done(r);
        continue;
      }
      const r = (env.step as (a: unknown) => unknown)(isMultiAgent(env) ? perEnv[i] : (perEnv[i] as SpaceValue[])[0]);
      if (r instanceof Promise) pending.push(r.then((res) => this.afterStep(i, res as StepLike)));
      else {
        const res = this.afterStep(i, r as StepLike);
        if (res) pending.push(res);
      }
    }
    if (pending.length) await Promise.all(pending);
    return { obs: this.obs, rewards: this.rewards, terminated: this.terminated, truncated: this.truncated, info };
  }

  private splitActions(actions: ArrayLike<number>): SpaceValue[][] {
    const expected = this.numSlots * this.actionSize;
    if (!actions || typeof actions.length !== 'number') {
      throw new InvalidActionError(this.envId, null, actions, `expected a flat array of ${expected} numbers (${this.numSlots} slots × ${this.actionSize})`);
    }
    if (actions.length !== expected) {
      throw new InvalidActionError(this.envId, null, actions, `expected ${expected} numbers (${this.numEnvs} envs × ${this.numAgents} agents × ${this.actionSize}), got ${actions.length}`);
    }
    const space = this.singleActionSpace;
    const out: SpaceValue[][] = [];
    for (let i = 0; i < this.numEnvs; i++) {
      const slots: SpaceValue[] = [];
      for (let a = 0; a < this.numAgents; a++) {
        const s = i * this.numAgents + a;
        const start = s * this.actionSize;
        let value: SpaceValue;
        if (space.kind === 'discrete') value = actions[start]!;
        else if (space.kind === 'multi-discrete') value = Int32Array.from({ length: this.actionSize }, (_, k) => actions[start + k]!);
        else value = Float32Array.from({ length: this.actionSize }, (_, k) => actions[start + k]!);
        if (!this.needsReset[i]) {
          const why = whyNotContained(space, space.kind === 'multi-discrete' ? Array.from(value as Int32Array) : value);
          if (why !== null) throw new InvalidActionError(`${this.envId} (vector env ${i})`, a, value, why);
        }
        slots.push(value);
      }
      out.push(slots);
    }
    return out;
  }

  private afterAutoreset(i: number, res: { obs: Observation | Observation[]; info: Info }): void {
    this.writeObs(i, res.obs, this.obs);
    this.info.envInfos[i] = res.info;
    this.info.autoreset[i] = 1;
    this.needsReset[i] = 0;
    for (let a = 0; a < this.numAgents; a++) {
      const s = i * this.numAgents + a;
      this.rewards[s] = 0;
      this.terminated[s] = 0;
      this.truncated[s] = 0;
      this.episodeReturn[s] = 0;
      this.episodeLength[s] = 0;
    }
  }

  private afterStep(i: number, res: StepLike): Promise<void> | void {
    const rewards = typeof res.reward === 'number' ? [res.reward] : res.reward;
    if (!Array.isArray(rewards) || rewards.length !== this.numAgents) {
      throw new TypeError(`${this.envId} (vector env ${i}): step returned ${Array.isArray(rewards) ? rewards.length : 'no'} rewards for ${this.numAgents} agent slots`);
    }
    this.writeObs(i, res.obs, this.obs);
    this.info.envInfos[i] = res.info;
    const ended = res.terminated || res.truncated;
    for (let a = 0; a < this.numAgents; a++) {
      const s = i * this.numAgents + a;
      this.rewards[s] = rewards[a]!;
      this.terminated[s] = res.terminated ? 1 : 0;
      this.truncated[s] = res.truncated ? 1 : 0;
      this.episodeReturn[s]! += rewards[a]!;
      this.episodeLength[s]! += 1;
      if (ended) {
        const agentInfo = (res.info?.agents as Info[] | undefined)?.[a];
        const success = agentInfo?.isSuccess ?? res.info?.isSuccess;
        const metrics = stepTaskMetrics(res.info, a);
        this.info.episodes.push({ env: i, agent: a, return: this.episodeReturn[s]!, length: this.episodeLength[s]!, ...(typeof success === 'boolean' ? { isSuccess: success } : {}), ...(metrics ? { metrics } : {}) });
        this.episodeReturn[s] = 0;
        this.episodeLength[s] = 0;
      }
    }
    if (!ended) return;
    const rowStart = i * this.numAgents * this.obsSize;
    this.info.finalObs.set(this.obs.subarray(rowStart, rowStart + this.numAgents * this.obsSize), rowStart);
    if (this.autoresetMode === 'next-step') {
      this.needsReset[i] = 1;
      return;
    }
    const r = this.envs[i]!.reset();
    const write = (reset: { obs: Observation | Observation[]; info: Info }): void => {
      this.writeObs(i, reset.obs, this.obs);
      this.info.envInfos[i] = { ...reset.info, final: res.info };
    };
    if (r instanceof Promise) return r.then(write);
    write(r);
  }

  private writeObs(i: number, obs: Observation | Observation[], target: Float32Array): void {
    const list = isMultiAgent(this.envs[i]!) ? (obs as Observation[]) : [obs as Observation];
    if (!Array.isArray(list) || list.length !== this.numAgents) {
      throw new TypeError(`${this.envId} (vector env ${i}): expected ${this.numAgents} observations, got ${Array.isArray(list) ? list.length : typeof list}`);
    }
    for (let a = 0; a < this.numAgents; a++) {
      const o = list[a] as Float32Array;
      if (!(o instanceof Float32Array) || o.length !== this.obsSize) {
        throw new TypeError(`${this.envId} (vector env ${i}, agent slot ${a}): observation must be a Float32Array of ${this.obsSize}, got ${o?.constructor?.name ?? typeof o} of ${(o as { length?: number })?.length}`);
      }
      target.set(o, (i * this.numAgents + a) * this.obsSize);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`${this.envId} VecEnv is closed`);
  }

  get snapshotSupported(): boolean {
    return this.envs.every((e) => supportsSnapshot(e));
  }

  getSnapshot(): VecSnapshot {
    if (!this.started) throw new Error(`${this.envId} VecEnv: nothing to snapshot before reset()`);
    const envs = this.envs.map((e, i) => {
      if (!supportsSnapshot(e)) throw new Error(`${this.envId} VecEnv: env ${i} does not support snapshots`);
      return e.getSnapshot();
    });
    return {
      envs,
      needsReset: Array.from(this.needsReset),
      episodeReturn: Array.from(this.episodeReturn),
      episodeLength: Array.from(this.episodeLength),
      obs: Array.from(this.obs),
    };
  }

  setSnapshot(snapshot: unknown): { obs: Float32Array } {
    const s = snapshot as VecSnapshot;
    if (!s || !Array.isArray(s.envs) || s.envs.length !== this.numEnvs || !Array.isArray(s.obs) || s.obs.length !== this.obs.length) {
      throw new Error(`${this.envId} VecEnv: the snapshot does not match ${this.numEnvs} envs × ${this.numAgents} agents × ${this.obsSize} observations`);
    }
    this.envs.forEach((e, i) => {
      if (!supportsSnapshot(e)) throw new Error(`${this.envId} VecEnv: env ${i} does not support snapshots`);
      e.setSnapshot(s.envs[i]);
    });
    this.needsReset.set(s.needsReset);
    this.episodeReturn.set(s.episodeReturn);
    this.episodeLength.set(s.episodeLength);
    this.obs.set(s.obs);
    this.started = true;
    return { obs: this.obs };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.envs.map((env) => env.close()));
  }
}

export interface VecSnapshot {
  envs: unknown[];
  needsReset: number[];
  episodeReturn: number[];
  episodeLength: number[];
  obs: number[];
}

type StepLike = { obs: Observation | Observation[]; reward: number | number[]; terminated: boolean; truncated: boolean; info: Info };
