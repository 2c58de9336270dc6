/**
 * `withVecReward(vec, spec)`: `withReward` for a vector env whose envs cannot be wrapped one by one —
 * carball's `CarballVecEnv`, which simulates every arena in one Rapier world (the fastest layout) and
 * exposes each arena's state as `getState(i)`. The vector's rewards become the spec's totals, and each
 * env's `info.envInfos[i]` gains `rewardComponents` and `nativeReward` exactly as `withReward` adds them
 * to a single env's info; finished episodes report their return under the spec.
 *
 * It needs next-step autoreset: on the step that ends an episode the arena still holds the final state
 * (what the terms must see), and the following step, which only resets it, is not a transition (reward 0,
 * `autoreset` 1, no `rewardComponents`), after which the terms compare against the new episode's first state.
 */
import type { AutoresetMode, CarballState, FinishedEpisode, Info, Space, VecEnvLike, VecInfo, VecStepResult } from '@rewardlab/sim';
import { cloneCarballState, isCarballState } from './carball';
import { RewardFunction } from './reward';
import type { RewardSpecLike } from './spec';
import { componentArrays, copyCarballState, eventsOf } from './step-info';
import type { WithRewardOptions } from './wrapper';
import { framesOfStates } from '@rewardlab/render';
import { FrameScoring } from './vlm/frame-scoring';

/** A vector env that can show each env's carball state. */
export interface StatefulVecEnv extends VecEnvLike {
  getState(env: number): CarballState;
}

export function isStatefulVecEnv(vec: VecEnvLike): vec is StatefulVecEnv {
  return typeof (vec as Partial<StatefulVecEnv>).getState === 'function';
}

interface RewardVecSnapshot {
  inner: unknown;
  prev: CarballState[];
  episodeReturn: number[];
}

export class RewardVecEnv implements VecEnvLike {
  readonly envId: string;
  readonly numEnvs: number;
  readonly numAgents: number;
  readonly numSlots: number;
  readonly obsSize: number;
  readonly actionSize: number;
  readonly singleObservationSpace: Space;
  readonly singleActionSpace: Space;
  readonly autoresetMode: AutoresetMode;
  readonly reward: RewardFunction;
  private readonly prev: CarballState[];
  /** Episode return under the spec, per slot. */
  private readonly episodeReturn: Float64Array;
  private readonly slotActions: unknown[];
  /** This wrapper's own rewards and per-env infos: the inner vector's buffers are left as it wrote them. */
  private readonly rewards: Float32Array;
  private readonly envInfos: Info[];
  /** Frame-scored (`vlm`) terms: every arena's state is drawn and embedded, in one batch per step. */
  private readonly frames: FrameScoring;

  constructor(
    readonly inner: StatefulVecEnv,
    spec: RewardSpecLike,
    options: WithRewardOptions = {},
  ) {
    if (inner.autoresetMode !== 'next-step') throw new TypeError(`withVecReward needs a vector with next-step autoreset (the final state must still be there when the ending step is scored); ${inner.envId} uses ${inner.autoresetMode}`);
    this.envId = inner.envId;
    this.numEnvs = inner.numEnvs;
    this.numAgents = inner.numAgents;
    this.numSlots = inner.numSlots;
    this.obsSize = inner.obsSize;
    this.actionSize = inner.actionSize;
    this.singleObservationSpace = inner.singleObservationSpace;
    this.singleActionSpace = inner.singleActionSpace;
    this.autoresetMode = inner.autoresetMode;
    this.reward = new RewardFunction(spec, { numSlots: inner.numAgents, domain: 'carball', envId: inner.envId, ...(options.gamma !== undefined ? { gamma: options.gamma } : {}) });
    this.prev = new Array<CarballState>(inner.numEnvs);
    this.episodeReturn = new Float64Array(inner.numSlots);
    this.slotActions = new Array<unknown>(inner.numAgents);
    this.rewards = new Float32Array(inner.numSlots);
    this.envInfos = Array.from({ length: inner.numEnvs }, () => ({}) as Info);
    this.frames = new FrameScoring(this.reward, options);
  }

  /** Scores the frame-scored terms at `states` (one per arena), when the spec has any. */
  private async score(states: CarballState[]): Promise<void> {
    if (!this.frames.active) return;
    const { scene, frames } = framesOfStates(this.envId, states);
    await this.frames.scoreStates(states, scene, frames);
  }

  get snapshotSupported(): boolean {
    return Boolean(this.inner.snapshotSupported);
  }

  createActionBuffer(): Float32Array | Int32Array {
    return this.inner.createActionBuffer();
  }

  /** Env i's carball state (the inner vector's). */
  getState(i: number): CarballState {
    return this.inner.getState(i);
  }

  private stateOf(i: number): CarballState {
    return copyCarballState(this.inner.getState(i), `${this.envId}: getState(${i})`);
  }

  async reset(params?: { seed?: number; options?: Record<string, unknown> }): Promise<{ obs: Float32Array; info: VecInfo }> {
    const r = await this.inner.reset(params);
    for (let i = 0; i < this.numEnvs; i++) this.prev[i] = this.stateOf(i);
    await this.score(this.prev);
    this.episodeReturn.fill(0);
    return r;
  }

  async step(actions: ArrayLike<number>): Promise<VecStepResult> {
    const inner = await this.inner.step(actions);
    this.rewards.set(inner.rewards);
    const r: VecStepResult = { ...inner, rewards: this.rewards, info: { ...inner.info, envInfos: this.envInfos } };
    const A = this.numAgents;
    const size = this.actionSize;
    let ended: Map<number, number> | null = null;
    const nexts = Array.from({ length: this.numEnvs }, (_, i) => this.stateOf(i));
    await this.score(nexts);
    for (let i = 0; i < this.numEnvs; i++) {
      const next = nexts[i]!;
      const info = (inner.info.envInfos[i] ?? {}) as Info;
      if (r.info.autoreset[i]) {
        // This step only reset the arena: no transition to score; the new episode starts from here.
        this.prev[i] = next;
        for (let a = 0; a < A; a++) this.episodeReturn[i * A + a] = 0;
        r.info.envInfos[i] = { ...info, nativeReward: Array.from(r.rewards.subarray(i * A, (i + 1) * A)) };
        continue;
      }
      for (let a = 0; a < A; a++) {
        const s = i * A + a;
        this.slotActions[a] = size === 1 ? actions[s] : Float32Array.from({ length: size }, (_, k) => actions[s * size + k]!);
      }
      const nativeReward = Array.from(r.rewards.subarray(i * A, (i + 1) * A));
      const { total, components } = this.reward.evaluate({
        prev: this.prev[i]!,
        next,
        actions: this.slotActions,
        events: eventsOf(info, A),
        nativeReward,
        terminated: r.terminated[i * A] === 1,
      });
      this.prev[i] = next;
      const rewardComponents = componentArrays(components);
      // A fresh object per step, as withReward makes: the trainer may keep a step's info.
      r.info.envInfos[i] = { ...info, rewardComponents, nativeReward };
      for (let a = 0; a < A; a++) {
        const s = i * A + a;
        r.rewards[s] = total[a]!;
        this.episodeReturn[s]! += total[a]!;
        if (r.terminated[s] || r.truncated[s]) {
          (ended ??= new Map()).set(s, this.episodeReturn[s]!);
          this.episodeReturn[s] = 0;
        }
      }
    }
    if (ended) r.info.episodes = r.info.episodes.map((e: FinishedEpisode) => ({ ...e, return: ended.get(e.env * A + e.agent) ?? e.return }));
    return r;
  }

  getSnapshot(): RewardVecSnapshot {
    if (!this.inner.getSnapshot) throw new Error(`${this.envId}: the inner vector has no snapshots`);
    return { inner: this.inner.getSnapshot(), prev: this.prev.map(cloneCarballState), episodeReturn: Array.from(this.episodeReturn) };
  }

  async setSnapshot(snapshot: unknown): Promise<{ obs: Float32Array }> {
    const snap = snapshot as Partial<RewardVecSnapshot> | null;
    if (!snap || !Array.isArray(snap.prev) || snap.prev.length !== this.numEnvs || !snap.prev.every(isCarballState) || !Array.isArray(snap.episodeReturn) || snap.episodeReturn.length !== this.numSlots) {
      throw new TypeError(`${this.envId}: not a snapshot of this reward vector (${this.numEnvs} envs)`);
    }
    if (!this.inner.setSnapshot) throw new Error(`${this.envId}: the inner vector has no snapshots`);
    const r = await this.inner.setSnapshot(snap.inner);
    snap.prev.forEach((s, i) => (this.prev[i] = cloneCarballState(s)));
    await this.score(this.prev);
    this.episodeReturn.set(snap.episodeReturn);
    return r;
  }

  async close(): Promise<void> {
    await this.frames.close();
    return this.inner.close();
  }
}

/** Pays `spec` on a vector env that exposes each env's carball state (see the module comment). */
export function withVecReward(vec: StatefulVecEnv, spec: RewardSpecLike, options: WithRewardOptions = {}): RewardVecEnv {
  return new RewardVecEnv(vec, spec, options);
}
