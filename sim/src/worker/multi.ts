/**
 * MultiVecEnv: several vector envs (remote workers and local envs) joined into one `VecEnvLike`, part
 * after part: env i of part k is env `offset(k) + i` of the whole, and a seeded reset gives part k the
 * seed `seed + offset(k)`, so the envs are seeded exactly as one local VecEnv of the same size.
 *
 * What overlaps within one `step` call: the step requests go to every remote worker first, so all
 * workers simulate at the same time; then the local parts are stepped in this process while the
 * workers simulate; each worker's result is decoded as it arrives, while the slower ones are still
 * simulating. The call returns when every live part has answered. `sendGroup` / `recvGroup` go further
 * (EnvPool's async send / recv): the caller's inference for one group overlaps the others' simulation.
 *
 * Faults. A remote part whose worker is lost (connection closed, kill -9, invalid frame, or no answer
 * within its `stepTimeoutMs`) does not fail the step:
 * - on the step it was lost, each of its slots with an episode in flight is reported `truncated` (reward
 *   0, `info.finalObs` = the last observation received) and its unfinished episode is listed in
 *   `info.episodes`; `info.autoreset[env]` is 1 for its envs, which marks the step as not a real
 *   transition (the trainer masks it, exactly as the ignored step of next-step autoreset);
 * - while it is away, its rows keep the last observation, with reward 0, no flags and `autoreset` 1;
 * - it is reconnected in the background with exponential backoff (with jitter); once back it is reset,
 *   and the step that takes it back reports its new first observations with `autoreset` 1 again.
 * Nothing from a frame that was cut off or failed validation is ever copied into these buffers: a
 * RemoteVecEnv decodes into scratch buffers and only a whole, valid result is merged.
 */
import { randomInt } from 'node:crypto';
import { InvalidActionError, type Info } from '../env';
import { whyNotContained, type Space } from '../spaces';
import type { AutoresetMode, FinishedEpisode, VecEnvLike, VecInfo, VecStepResult } from '../vector';
import { RemoteVecEnv, WorkerLostError, type RemoteVecEnvOptions } from './client';

export interface MultiVecEnvOptions {
  /** First reconnect delay (default 200 ms); doubles after each failure up to `maxReconnectDelayMs`. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** When every part is lost, wait this long for one to come back before `step` throws (default 60 000 ms). */
  allLostTimeoutMs?: number;
  log?: (line: string) => void;
}

type PartState = 'live' | 'lost' | 'ready';

export interface MultiVecEnvStats {
  /** Times a worker was lost. */
  losses: number;
  /** Times a lost worker came back. */
  rejoins: number;
  /** Episodes cut short by a lost worker (reported truncated). */
  truncatedByLoss: number;
  /** Env steps that were not transitions because their worker was away. */
  idleEnvSteps: number;
}

export class MultiVecEnv implements VecEnvLike {
  readonly envId: string;
  readonly numEnvs: number;
  readonly numAgents: number;
  readonly numSlots: number;
  readonly obsSize: number;
  readonly actionSize: number;
  readonly singleObservationSpace: Space;
  readonly singleActionSpace: Space;
  readonly autoresetMode: AutoresetMode;
  readonly snapshotSupported = false;
  readonly stats: MultiVecEnvStats = { losses: 0, rejoins: 0, truncatedByLoss: 0, idleEnvSteps: 0 };

  readonly obs: Float32Array;
  readonly rewards: Float32Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  private readonly info: VecInfo;
  /** First env of each part. */
  private readonly envOffsets: number[];
  private readonly states: PartState[];
  /** Remote parts first: their requests go out before the local parts simulate in this process. */
  private readonly order: number[];
  private readonly episodeReturn: Float64Array;
  private readonly episodeLength: Int32Array;
  /** Next-step mode: env whose episode ended on the last step (its in-flight episode is already over). */
  private readonly ended: Uint8Array;
  private started = false;
  private closed = false;
  private seedBase = 0;
  private rejoinCount = 0;
  private wake: (() => void) | null = null;
  /** Groups sent with `sendGroup` and not yet received. */
  private readonly inFlight = new Map<number, Promise<{ k: number; role: PartState; r: VecStepResult | null; err: unknown }>>();

  /**
   * Connects to every worker URL (all must answer) and joins them, after any local parts. A worker that
   * hosts several env groups (spec `groups`) contributes one part per group, each its own session, in
   * group order (unless `options.group` picks one).
   */
  static async connect(urls: readonly string[], options: RemoteVecEnvOptions & MultiVecEnvOptions & { local?: VecEnvLike[] } = {}): Promise<MultiVecEnv> {
    const settle = async (attempts: Promise<RemoteVecEnv>[]): Promise<RemoteVecEnv[]> => {
      const settled = await Promise.allSettled(attempts);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      const ok = settled.filter((r): r is PromiseFulfilledResult<RemoteVecEnv> => r.status === 'fulfilled').map((r) => r.value);
      if (failed) {
        await Promise.all(ok.map((r) => r.close()));
        throw failed.reason;
      }
      return ok;
    };
    const firsts = await settle(urls.map((url) => RemoteVecEnv.connect(url, options)));
    let remotes: RemoteVecEnv[];
    try {
      const extra = firsts.map((r) => (options.group === undefined ? (r.spec.groups ?? 1) - 1 : 0));
      const more = await settle(firsts.flatMap((r, i) => Array.from({ length: extra[i]! }, (_, g) => RemoteVecEnv.connect(r.url, { ...options, group: g + 1 }))));
      let next = 0;
      remotes = firsts.flatMap((r, i) => [r, ...more.slice(next, (next += extra[i]!))]);
    } catch (err) {
      await Promise.all(firsts.map((r) => r.close()));
      throw err;
    }
    const parts = [...(options.local ?? []), ...remotes];
    try {
      return new MultiVecEnv(parts, options);
    } catch (err) {
      await Promise.all(parts.map((p) => p.close()));
      throw err;
    }
  }

  constructor(
    readonly parts: readonly VecEnvLike[],
    private readonly options: MultiVecEnvOptions = {},
  ) {
    if (parts.length === 0) throw new RangeError('MultiVecEnv needs at least one part');
    const first = parts[0]!;
    const signature = (v: VecEnvLike): string => JSON.stringify([v.envId, v.numAgents, v.obsSize, v.actionSize, v.autoresetMode, v.singleObservationSpace, v.singleActionSpace]);
    parts.forEach((p, k) => {
      if (signature(p) !== signature(first)) throw new TypeError(`MultiVecEnv: part ${k} (${p.envId}, ${p.autoresetMode}) differs from part 0 (${first.envId}, ${first.autoresetMode}) in env, spaces, agent slots or autoreset mode`);
    });
    this.envId = first.envId;
    this.numAgents = first.numAgents;
    this.obsSize = first.obsSize;
    this.actionSize = first.actionSize;
    this.singleObservationSpace = first.singleObservationSpace;
    this.singleActionSpace = first.singleActionSpace;
    this.autoresetMode = first.autoresetMode;
    this.envOffsets = [];
    let n = 0;
    for (const p of parts) {
      this.envOffsets.push(n);
      n += p.numEnvs;
    }
    this.numEnvs = n;
    this.numSlots = n * this.numAgents;
    this.states = parts.map(() => 'live');
    this.order = parts.map((_, k) => k).sort((a, b) => Number(parts[b] instanceof RemoteVecEnv) - Number(parts[a] instanceof RemoteVecEnv));
    const S = this.numSlots;
    this.obs = new Float32Array(S * this.obsSize);
    this.rewards = new Float32Array(S);
    this.terminated = new Uint8Array(S);
    this.truncated = new Uint8Array(S);
    this.episodeReturn = new Float64Array(S);
    this.episodeLength = new Int32Array(S);
    this.ended = new Uint8Array(n);
    this.info = { autoreset: new Uint8Array(n), finalObs: new Float32Array(S * this.obsSize), episodes: [], envInfos: new Array<Info>(n).fill({}) };
  }

  /** Parts that are stepping now (the others are lost or about to rejoin). */
  get liveParts(): number {
    return this.states.filter((s) => s === 'live').length;
  }

  createActionBuffer(): Float32Array | Int32Array {
    const n = this.numSlots * this.actionSize;
    return this.singleActionSpace.kind === 'box' ? new Float32Array(n) : new Int32Array(n);
  }

  /** Resets every part (part k with seed + offset(k)); every part must be reachable. */
  async reset(params: { seed?: number; options?: Record<string, unknown> } = {}): Promise<{ obs: Float32Array; info: VecInfo }> {
    this.assertOpen();
    if (this.inFlight.size) throw new Error(`${this.envId} MultiVecEnv: ${this.inFlight.size} group(s) still in flight; recvGroup() them before reset()`);
    if (params.seed !== undefined && (!Number.isSafeInteger(params.seed) || params.seed < 0)) throw new TypeError(`${this.envId} MultiVecEnv reset seed must be a non-negative safe integer, got ${params.seed}`);
    this.seedBase = params.seed ?? this.seedBase;
    const results = await Promise.all(
      this.parts.map((p, k) => p.reset({ ...(params.seed !== undefined ? { seed: params.seed + this.envOffsets[k]! } : {}), ...(params.options ? { options: params.options } : {}) })),
    );
    results.forEach((r, k) => {
      this.obs.set(r.obs.subarray(0, this.parts[k]!.numSlots * this.obsSize), this.envOffsets[k]! * this.numAgents * this.obsSize);
      this.states[k] = 'live';
    });
    this.rewards.fill(0);
    this.terminated.fill(0);
    this.truncated.fill(0);
    this.episodeReturn.fill(0);
    this.episodeLength.fill(0);
    this.ended.fill(0);
    this.info.autoreset.fill(0);
    this.info.episodes = [];
    this.started = true;
    return { obs: this.obs, info: this.info };
  }

  async step(actions: ArrayLike<number>): Promise<VecStepResult> {
    this.assertOpen();
    if (!this.started) throw new Error(`${this.envId} MultiVecEnv: call reset() before step()`);
    const expected = this.numSlots * this.actionSize;
    if (!actions || actions.length !== expected) throw new RangeError(`${this.envId} MultiVecEnv: expected ${expected} actions (${this.numSlots} slots × ${this.actionSize}), got ${actions?.length}`);
    if (this.inFlight.size) throw new Error(`${this.envId} MultiVecEnv: ${this.inFlight.size} group(s) still in flight; recvGroup() them before step()`);
    this.checkActions(actions);
    if (!this.states.some((s) => s !== 'lost')) await this.waitForAPart();

    // Decide each part's role before anything is awaited: a part that comes back mid-step joins next step.
    const roles = this.states.slice();
    const pending: (Promise<VecStepResult> | null)[] = this.parts.map(() => null);
    for (const k of this.order) {
      if (roles[k] !== 'live') continue;
      const part = this.parts[k]!;
      const from = this.envOffsets[k]! * this.numAgents * this.actionSize;
      const slice = sliceOf(actions, from, from + part.numSlots * this.actionSize);
      try {
        pending[k] = part.step(slice);
      } catch (err) {
        pending[k] = Promise.reject(err);
      }
    }
    // Every part answers (or fails) before anything is merged, so no request is left in flight.
    const settled = await Promise.all(pending.map((p) => (p ? p.then((r) => ({ r, err: null }), (err: unknown) => ({ r: null, err })) : null)));
    const failure = settled.find((x) => x && x.err && !(x.err instanceof WorkerLostError));
    if (failure) throw failure.err;

    const info = this.info;
    info.autoreset.fill(0);
    const episodes: FinishedEpisode[] = [];
    for (let k = 0; k < this.parts.length; k++) {
      const part = this.parts[k]!;
      const env0 = this.envOffsets[k]!;
      const s0 = env0 * this.numAgents;
      if (roles[k] === 'live') {
        const { r, err } = settled[k]!;
        if (err) this.loseDuringStep(k, err as WorkerLostError, episodes);
        else this.merge(k, r!, episodes);
      } else if (roles[k] === 'ready') {
        // Back from a loss, freshly reset: its first observations, not a transition.
        this.obs.set((part as RemoteVecEnv).obs.subarray(0, part.numSlots * this.obsSize), s0 * this.obsSize);
        this.idle(k);
        this.states[k] = 'live';
        this.stats.rejoins += 1;
        this.log(`${(part as RemoteVecEnv).url} rejoined`);
      } else {
        this.idle(k);
        this.stats.idleEnvSteps += part.numEnvs;
      }
    }
    info.episodes = episodes;
    return { obs: this.obs, rewards: this.rewards, terminated: this.terminated, truncated: this.truncated, info };
  }

  /**
   * Checks every slot's action against the action space before any part moves (as `VecEnv` does), so
   * an invalid action throws an InvalidActionError and changes nothing on any worker.
   */
  private checkActions(actions: ArrayLike<number>): void {
    const space = this.singleActionSpace;
    const A = this.actionSize;
    for (let s = 0; s < this.numSlots; s++) {
      let why: string | null;
      if (space.kind === 'discrete') {
        const a = actions[s]!;
        why = Number.isInteger(a) && a >= 0 && a < space.n ? null : whyNotContained(space, a);
      } else why = whyNotContained(space, sliceOf(actions, s * A, (s + 1) * A));
      if (why !== null) {
        const env = Math.floor(s / this.numAgents);
        throw new InvalidActionError(`${this.envId} (vector env ${env})`, s - env * this.numAgents, sliceOf(actions, s * A, (s + 1) * A), why);
      }
    }
  }

  /**
   * EnvPool-style asynchronous stepping, with the parts as groups: `sendGroup(k, actions)` sends part
   * k its actions (`parts[k].numSlots × actionSize` numbers) and returns at once; `recvGroup()`
   * resolves with the first group in flight to answer. A trainer that computes a group's next actions
   * as soon as that group is back overlaps its inference with the other groups' simulation:
   *
   *     for (let k = 0; k < vec.parts.length; k++) vec.sendGroup(k, act(k));
   *     for (;;) { const g = await vec.recvGroup(); store(g); vec.sendGroup(g.group, act(g.group)); }
   *
   * The result's arrays are this vector's own rows of that group (`obs` is `parts[k].numSlots × obsSize`,
   * env indices in `episodes` are global), with the same fault semantics as `step`: a lost worker's group
   * comes back at once with its rows masked (`autoreset` 1), truncating its in-flight episodes.
   */
  sendGroup(k: number, actions: ArrayLike<number>): void {
    this.assertOpen();
    if (!this.started) throw new Error(`${this.envId} MultiVecEnv: call reset() before sendGroup()`);
    const part = this.parts[k];
    if (!part) throw new RangeError(`${this.envId} MultiVecEnv: no group ${k} (there are ${this.parts.length})`);
    if (this.inFlight.has(k)) throw new Error(`${this.envId} MultiVecEnv: group ${k} is already in flight`);
    if (!actions || actions.length !== part.numSlots * this.actionSize) throw new RangeError(`${this.envId} MultiVecEnv: group ${k} takes ${part.numSlots * this.actionSize} actions, got ${actions?.length}`);
    const role = this.states[k]!;
    let pending: Promise<VecStepResult | null> = Promise.resolve(null);
    if (role === 'live') {
      try {
        pending = part.step(actions);
      } catch (err) {
        pending = Promise.reject(err);
      }
    }
    this.inFlight.set(
      k,
      pending.then(
        (r) => ({ k, role, r, err: null }),
        (err: unknown) => ({ k, role, r: null, err }),
      ),
    );
  }

  /** The first group in flight to answer (see `sendGroup`). */
  async recvGroup(): Promise<{ group: number; envOffset: number; numEnvs: number; obs: Float32Array; rewards: Float32Array; terminated: Uint8Array; truncated: Uint8Array; autoreset: Uint8Array; finalObs: Float32Array; envInfos: Info[]; episodes: FinishedEpisode[] }> {
    if (this.inFlight.size === 0) throw new Error(`${this.envId} MultiVecEnv: no group in flight`);
    const done = await Promise.race(this.inFlight.values());
    this.inFlight.delete(done.k);
    const k = done.k;
    const part = this.parts[k]!;
    const env0 = this.envOffsets[k]!;
    const episodes: FinishedEpisode[] = [];
    if (done.err && !(done.err instanceof WorkerLostError)) throw done.err;
    if (done.role === 'live') {
      if (done.err) this.loseDuringStep(k, done.err as WorkerLostError, episodes);
      else this.merge(k, done.r!, episodes);
    } else if (done.role === 'ready') {
      this.obs.set((part as RemoteVecEnv).obs.subarray(0, part.numSlots * this.obsSize), env0 * this.numAgents * this.obsSize);
      this.idle(k);
      this.states[k] = 'live';
      this.stats.rejoins += 1;
    } else {
      this.idle(k);
      this.stats.idleEnvSteps += part.numEnvs;
    }
    const s0 = env0 * this.numAgents;
    const s1 = s0 + part.numSlots;
    const O = this.obsSize;
    return {
      group: k,
      envOffset: env0,
      numEnvs: part.numEnvs,
      obs: this.obs.subarray(s0 * O, s1 * O),
      rewards: this.rewards.subarray(s0, s1),
      terminated: this.terminated.subarray(s0, s1),
      truncated: this.truncated.subarray(s0, s1),
      autoreset: this.info.autoreset.subarray(env0, env0 + part.numEnvs),
      finalObs: this.info.finalObs.subarray(s0 * O, s1 * O),
      envInfos: this.info.envInfos.slice(env0, env0 + part.numEnvs),
      episodes,
    };
  }

  /** Copies a part's result into the joined buffers and keeps the per-slot episode bookkeeping. */
  private merge(k: number, r: VecStepResult, episodes: FinishedEpisode[]): void {
    const part = this.parts[k]!;
    const A = this.numAgents;
    const O = this.obsSize;
    const env0 = this.envOffsets[k]!;
    const s0 = env0 * A;
    const S = part.numSlots;
    this.obs.set(r.obs.subarray(0, S * O), s0 * O);
    this.rewards.set(r.rewards.subarray(0, S), s0);
    this.terminated.set(r.terminated.subarray(0, S), s0);
    this.truncated.set(r.truncated.subarray(0, S), s0);
    this.info.autoreset.set(r.info.autoreset.subarray(0, part.numEnvs), env0);
    for (let i = 0; i < part.numEnvs; i++) {
      this.info.envInfos[env0 + i] = r.info.envInfos[i] ?? {};
      const reset = r.info.autoreset[i] === 1;
      let endedNow = 0;
      for (let a = 0; a < A; a++) {
        const s = (env0 + i) * A + a;
        if (reset) {
          this.episodeReturn[s] = 0;
          this.episodeLength[s] = 0;
          continue;
        }
        this.episodeReturn[s]! += r.rewards[s - s0]!;
        this.episodeLength[s]! += 1;
        if (r.terminated[s - s0] || r.truncated[s - s0]) {
          endedNow = 1;
          this.info.finalObs.set(r.info.finalObs.subarray((s - s0) * O, (s - s0 + 1) * O), s * O);
          this.episodeReturn[s] = 0;
          this.episodeLength[s] = 0;
        }
      }
      this.ended[env0 + i] = this.autoresetMode === 'next-step' ? endedNow : 0;
    }
    for (const ep of r.info.episodes) episodes.push({ ...ep, env: ep.env + env0 });
  }

  /** The step on which part k was lost: its in-flight episodes end here, truncated. */
  private loseDuringStep(k: number, err: Error, episodes: FinishedEpisode[]): void {
    const part = this.parts[k]!;
    const A = this.numAgents;
    const O = this.obsSize;
    const env0 = this.envOffsets[k]!;
    this.stats.losses += 1;
    this.states[k] = 'lost';
    this.log(`${err.message}; its in-flight episodes are truncated and it will be reconnected`);
    for (let i = 0; i < part.numEnvs; i++) {
      const env = env0 + i;
      this.info.autoreset[env] = 1;
      this.info.envInfos[env] = { workerLost: true };
      for (let a = 0; a < A; a++) {
        const s = env * A + a;
        this.rewards[s] = 0;
        this.terminated[s] = 0;
        this.truncated[s] = 0;
        if (this.ended[env] || this.episodeLength[s] === 0) continue;
        this.truncated[s] = 1;
        this.info.finalObs.set(this.obs.subarray(s * O, (s + 1) * O), s * O);
        episodes.push({ env, agent: a, return: this.episodeReturn[s]!, length: this.episodeLength[s]! });
        this.stats.truncatedByLoss += 1;
        this.episodeReturn[s] = 0;
        this.episodeLength[s] = 0;
      }
      this.ended[env] = 0;
    }
    if (part instanceof RemoteVecEnv) void this.recover(k, part);
  }

  /** A part that is not stepping this step: stale observations, reward 0, no flags, autoreset 1. */
  private idle(k: number): void {
    const part = this.parts[k]!;
    const env0 = this.envOffsets[k]!;
    const s0 = env0 * this.numAgents;
    this.rewards.fill(0, s0, s0 + part.numSlots);
    this.terminated.fill(0, s0, s0 + part.numSlots);
    this.truncated.fill(0, s0, s0 + part.numSlots);
    this.episodeReturn.fill(0, s0, s0 + part.numSlots);
    this.episodeLength.fill(0, s0, s0 + part.numSlots);
    this.info.autoreset.fill(1, env0, env0 + part.numEnvs);
    this.ended.fill(0, env0, env0 + part.numEnvs);
  }

  /** Reconnects with exponential backoff and jitter, then resets the part; it rejoins on the next step. */
  private async recover(k: number, part: RemoteVecEnv): Promise<void> {
    const first = this.options.reconnectDelayMs ?? 200;
    const max = this.options.maxReconnectDelayMs ?? 5000;
    let delay = first;
    for (let attempt = 1; !this.closed; attempt++) {
      // Jitter spreads reconnects of many trainers; it touches no env, so it need not be seeded.
      await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + randomInt(0, 1_000_000) / 1_000_000)).unref());
      if (this.closed) return;
      try {
        await part.reconnect();
        this.rejoinCount += 1;
        await part.reset({ seed: (this.seedBase + this.envOffsets[k]! + 1_000_003 * this.rejoinCount) % 2 ** 31 });
        if (this.closed) return void (await part.close());
        this.states[k] = 'ready';
        this.wake?.();
        return;
      } catch (err) {
        if (attempt === 1 || attempt % 10 === 0) this.log(`reconnecting to ${part.url} (attempt ${attempt}): ${(err as Error).message}`);
        delay = Math.min(delay * 2, max);
      }
    }
  }

  private waitForAPart(): Promise<void> {
    const timeoutMs = this.options.allLostTimeoutMs ?? 60_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = null;
        reject(new WorkerLostError(this.parts.map((p) => (p as RemoteVecEnv).url ?? 'local').join(', '), `every worker has been lost for ${timeoutMs} ms`));
      }, timeoutMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`${this.envId} MultiVecEnv is closed`);
  }

  private log(line: string): void {
    this.options.log?.(`MultiVecEnv: ${line}`);
  }

  /**
   * Gives up the vector without closing its live parts, so that they can join another MultiVecEnv (a
   * trainer whose set of workers changed between rollouts). Reconnection stops; parts that are lost are
   * closed. Returns the parts that were stepping or had rejoined (each has been reset or must be reset
   * by its next owner), in part order. The MultiVecEnv is closed afterwards.
   */
  async release(): Promise<VecEnvLike[]> {
    this.assertOpen();
    if (this.inFlight.size) throw new Error(`${this.envId} MultiVecEnv: ${this.inFlight.size} group(s) still in flight; recvGroup() them before release()`);
    this.closed = true;
    this.wake?.();
    const kept = this.parts.filter((_, k) => this.states[k] !== 'lost');
    await Promise.all(this.parts.filter((_, k) => this.states[k] === 'lost').map((p) => p.close()));
    return kept;
  }

  /** Whether part k is stepping (not lost and not waiting to rejoin). */
  isLive(k: number): boolean {
    return this.states[k] === 'live';
  }

  /** Closes every part (remote sessions close cleanly) and stops reconnecting; safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    await Promise.all(this.parts.map((p) => p.close()));
  }
}

function sliceOf(actions: ArrayLike<number>, from: number, to: number): ArrayLike<number> {
  if (ArrayBuffer.isView(actions)) return (actions as unknown as Float32Array).subarray(from, to);
  return Array.prototype.slice.call(actions, from, to) as number[];
}
