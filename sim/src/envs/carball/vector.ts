/**
 * CarballVecEnv: `numEnvs` carball matches as arenas of ONE Rapier world, stepped together (the layout
 * the benchmark found fastest: one `world.step()` per tick for all arenas amortises Rapier's per-step
 * overhead). It implements `VecEnvLike` with the same flat-buffer and autoreset semantics as `VecEnv`
 * (slot s = env · numAgents + agent; next-step autoreset by default), and writes observations straight
 * into its buffers with no per-env step objects.
 *
 * Differences from a `VecEnv` over `CarballEnv`s: all arenas advance `actionRepeat` ticks per step, so an
 * arena whose episode ended mid-step keeps moving (with its match logic frozen) until the step's end,
 * and an autoreset re-places the bodies in the shared world instead of building a fresh one. A seeded
 * `reset` rebuilds the whole world, so the vector as a whole is reproducible bit for bit.
 */
import { InvalidActionError, type Info } from '../../env';
import { parseOptions } from '../../options';
import { assertSeed, Rng } from '../../rng';
import { actionLength, whyNotContained, type Space } from '../../spaces';
import type { AutoresetMode, VecEnvLike, VecInfo, VecStepResult } from '../../vector';
import { actionSpaceOf, parseFlatAction, type CarballActionParser } from './actions';
import { afterTick, applyStateSetter, carballEnvId, carballResetOptionsSchema, carballObservationSpace, carballOptionsSchema, goalReward, type CarballOptions, type CarballStateSetter, type ParsedCarballOptions, validateSetterOption } from './env';
import { advancedObsSize, writeCarballObs } from './obs';
import { loadRapier, type Rapier, type RapierFlavor } from './rapier';
import { CARBALL_EVENT_NAMES, type CarballEvents, type CarballState } from './state';
import { validateCarballState } from './validate';
import { CarballEpisodeTally } from './metrics';
import { CarballWorld, NUM_CONTROLS, NUM_EVENTS, type CarballWorldSnapshot } from './world';

export interface CarballVecSnapshot {
  world: CarballWorldSnapshot;
  prevControls: number[];
  needsReset: number[];
  episodeReturn: number[];
  episodeLength: number[];
  obs: number[];
}

export type CarballVecEnvOptions = CarballOptions & { autoreset?: AutoresetMode };

/** One arena's step info: each agent's events within the step, the score and the arena's tick. */
interface CarballVecStepInfo {
  agents: { events: CarballEvents }[];
  score: [number, number];
  tick: number;
}

export class CarballVecEnv implements VecEnvLike {
  readonly envId: string;
  readonly numEnvs: number;
  readonly numAgents: number;
  readonly numSlots: number;
  readonly obsSize: number;
  readonly actionSize: number;
  readonly singleObservationSpace: Space;
  readonly singleActionSpace: Space;
  readonly autoresetMode: AutoresetMode;
  readonly options: ParsedCarballOptions;
  readonly world: CarballWorld;

  readonly obs: Float32Array;
  readonly rewards: Float32Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  private readonly info: VecInfo;
  private readonly parser: CarballActionParser;
  private readonly prevControls: Float32Array;
  private readonly needsReset: Uint8Array;
  private readonly endedNow: Uint8Array;
  private readonly episodeReturn: Float64Array;
  private readonly episodeLength: Int32Array;
  private readonly tally: CarballEpisodeTally;
  private readonly envInfos: (CarballVecStepInfo & { final: CarballVecStepInfo | undefined })[];
  private rngs: Rng[];
  private started = false;
  private closed = false;

  /** Loads Rapier and builds the vector (`options.rapier` picks the build). */
  static async make(teamSize: 1 | 2 | 3, numEnvs: number, options: CarballVecEnvOptions = {}): Promise<CarballVecEnv> {
    return new CarballVecEnv(await loadRapier((options as { rapier?: RapierFlavor }).rapier), numEnvs, { ...options, teamSize });
  }

  constructor(rapier: Rapier, numEnvs: number, options: CarballVecEnvOptions = {}) {
    const { autoreset, ...envOptions } = options;
    const teamSize = (envOptions as { teamSize?: number }).teamSize ?? 1;
    this.envId = carballEnvId(teamSize);
    if (!Number.isInteger(numEnvs) || numEnvs < 1) throw new RangeError(`${this.envId} CarballVecEnv: numEnvs must be a positive integer, got ${numEnvs}`);
    this.options = parseOptions(this.envId, 'option', carballOptionsSchema, envOptions);
    validateSetterOption(this.envId, this.options.stateSetter, this.options.teamSize);
    this.numEnvs = numEnvs;
    this.world = new CarballWorld(rapier, { numArenas: numEnvs, teamSize: this.options.teamSize, solverIterations: this.options.solverIterations });
    this.numAgents = this.world.numCars;
    this.numSlots = numEnvs * this.numAgents;
    this.parser = this.options.actionParser;
    this.singleObservationSpace = carballObservationSpace(this.options.teamSize, this.options.obsBuilder);
    this.singleActionSpace = actionSpaceOf(this.parser);
    this.obsSize = advancedObsSize(this.options.teamSize, this.options.obsBuilder);
    this.actionSize = actionLength(this.singleActionSpace);
    this.autoresetMode = autoreset ?? 'next-step';
    this.obs = new Float32Array(this.numSlots * this.obsSize);
    this.rewards = new Float32Array(this.numSlots);
    this.terminated = new Uint8Array(this.numSlots);
    this.truncated = new Uint8Array(this.numSlots);
    this.prevControls = new Float32Array(this.numSlots * NUM_CONTROLS);
    this.needsReset = new Uint8Array(numEnvs);
    this.endedNow = new Uint8Array(numEnvs);
    this.episodeReturn = new Float64Array(this.numSlots);
    this.episodeLength = new Int32Array(this.numSlots);
    this.tally = new CarballEpisodeTally(this.numAgents, this.options.teamSize, this.numSlots);
    this.envInfos = Array.from({ length: numEnvs }, () => ({
      agents: Array.from({ length: this.numAgents }, () => ({ events: Object.fromEntries(CARBALL_EVENT_NAMES.map((k) => [k, 0])) as unknown as CarballEvents })),
      score: [0, 0] as [number, number],
      tick: 0,
      final: undefined,
    }));
    this.info = { autoreset: new Uint8Array(numEnvs), finalObs: new Float32Array(this.numSlots * this.obsSize), episodes: [], envInfos: this.envInfos as unknown as Info[] };
    this.rngs = Array.from({ length: numEnvs }, (_, i) => new Rng(i));
  }

  createActionBuffer(): Float32Array | Int32Array {
    const n = this.numSlots * this.actionSize;
    return this.singleActionSpace.kind === 'box' ? new Float32Array(n) : new Int32Array(n);
  }

  /** Resets every arena; with a seed, arena i draws from `new Rng(seed + i)` and the world is rebuilt. */
  async reset(params: { seed?: number; options?: Record<string, unknown> } = {}): Promise<{ obs: Float32Array; info: VecInfo }> {
    this.assertOpen();
    const resetOptions = parseOptions(this.envId, 'reset option', carballResetOptionsSchema, params.options);
    let setter: CarballStateSetter = resetOptions.stateSetter ?? this.options.stateSetter;
    if (resetOptions.state !== undefined) setter = validateCarballState(this.envId, resetOptions.state, this.options.teamSize);
    if (params.seed !== undefined) {
      assertSeed(params.seed, `${this.envId} CarballVecEnv reset seed`);
      this.rngs = Array.from({ length: this.numEnvs }, (_, i) => new Rng(params.seed! + i));
      this.world.rebuild();
    } else if (!this.started) this.world.rebuild();
    for (let i = 0; i < this.numEnvs; i++) this.resetArena(i, setter);
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
   * This step's per-slot event counts as one flat array (the hot-path alternative to
   * `info.envInfos[env].agents[agent].events`): `CARBALL_EVENT_NAMES.length` numbers per slot, in that
   * order, slot = env · numAgents + agent. Overwritten by the next step.
   */
  get events(): Float64Array {
    return this.world.events;
  }

  /** The public state of arena `i` (a fresh object, uu). */
  getState(i: number): CarballState {
    return this.world.getState(i);
  }

  async step(actions: ArrayLike<number>): Promise<VecStepResult> {
    this.assertOpen();
    if (!this.started) throw new Error(`${this.envId} CarballVecEnv: call reset() before step()`);
    this.checkActions(actions);
    const w = this.world;
    const info = this.info;
    info.autoreset.fill(0);
    info.episodes = [];
    this.endedNow.fill(0);
    for (let i = 0; i < this.numEnvs; i++) {
      w.clearEvents(i);
      this.envInfos[i]!.final = undefined;
      if (this.needsReset[i]) continue;
      for (let a = 0; a < this.numAgents; a++) {
        const s = i * this.numAgents + a;
        parseFlatAction(this.parser, actions, s, w.controls, NUM_CONTROLS * s);
      }
    }
    const rules = this.options;
    for (let k = 0; k < rules.actionRepeat; k++) {
      w.step();
      for (let i = 0; i < this.numEnvs; i++) {
        if (this.needsReset[i] || w.frozen[i]) continue;
        const end = afterTick(w, i, rules);
        if (end) this.endedNow[i] = end;
      }
    }
    for (let i = 0; i < this.numEnvs; i++) {
      const n = this.numAgents;
      if (this.needsReset[i]) {
        this.resetArena(i, this.options.stateSetter);
        info.autoreset[i] = 1;
        this.needsReset[i] = 0;
        for (let s = i * n; s < (i + 1) * n; s++) {
          this.rewards[s] = 0;
          this.terminated[s] = 0;
          this.truncated[s] = 0;
          this.episodeReturn[s] = 0;
          this.episodeLength[s] = 0;
        }
        continue;
      }
      const end = this.endedNow[i]!;
      this.prevControls.set(w.controls.subarray(i * n * NUM_CONTROLS, (i + 1) * n * NUM_CONTROLS), i * n * NUM_CONTROLS);
      const envInfo = this.envInfos[i]!;
      this.tally.record(w, i, i);
      for (let a = 0; a < n; a++) {
        const s = i * n + a;
        const r = goalReward(w, i, a);
        this.rewards[s] = r;
        this.terminated[s] = end === 1 ? 1 : 0;
        this.truncated[s] = end === 2 ? 1 : 0;
        this.episodeReturn[s]! += r;
        this.episodeLength[s]! += 1;
        writeCarballObs(this.options.obsBuilder, w, i, a, this.prevControls, NUM_CONTROLS * s, this.obs, s * this.obsSize);
        const ev = envInfo.agents[a]!.events as unknown as Record<string, number>;
        const base = NUM_EVENTS * s;
        for (let e = 0; e < NUM_EVENTS; e++) ev[CARBALL_EVENT_NAMES[e]!] = w.events[base + e]!;
        if (end) {
          info.episodes.push({ env: i, agent: a, return: this.episodeReturn[s]!, length: this.episodeLength[s]!, metrics: this.tally.metrics(s) });
          this.episodeReturn[s] = 0;
          this.episodeLength[s] = 0;
        }
      }
      envInfo.score[0] = w.score[2 * i]!;
      envInfo.score[1] = w.score[2 * i + 1]!;
      envInfo.tick = w.tick[i]!;
      if (!end) continue;
      const row = i * n * this.obsSize;
      info.finalObs.set(this.obs.subarray(row, row + n * this.obsSize), row);
      if (this.autoresetMode === 'next-step') this.needsReset[i] = 1;
      else {
        // Same-step: the info shows the new episode's start, and `final` the ending step's events and
        // score (as VecEnv's same-step infos do), which the reset would otherwise clear.
        envInfo.final = { agents: envInfo.agents.map((agent) => ({ events: { ...agent.events } })), score: [envInfo.score[0], envInfo.score[1]], tick: envInfo.tick };
        this.resetArena(i, this.options.stateSetter);
      }
    }
    return { obs: this.obs, rewards: this.rewards, terminated: this.terminated, truncated: this.truncated, info };
  }

  readonly snapshotSupported = true;

  /** Exact save of every arena and the episode bookkeeping (for resuming training). */
  getSnapshot(): CarballVecSnapshot {
    this.assertOpen();
    if (!this.started) throw new Error(`${this.envId} CarballVecEnv: nothing to snapshot before reset()`);
    this.world.rngs = this.rngs;
    return {
      world: this.world.snapshot(),
      prevControls: Array.from(this.prevControls),
      needsReset: Array.from(this.needsReset),
      episodeReturn: Array.from(this.episodeReturn),
      episodeLength: Array.from(this.episodeLength),
      obs: Array.from(this.obs),
    };
  }

  setSnapshot(snapshot: unknown): { obs: Float32Array } {
    this.assertOpen();
    const s = snapshot as CarballVecSnapshot;
    if (!s || typeof s !== 'object' || !Array.isArray(s.obs) || s.obs.length !== this.obs.length || !Array.isArray(s.needsReset) || s.needsReset.length !== this.numEnvs) {
      throw new TypeError(`${this.envId} CarballVecEnv: the snapshot does not match ${this.numEnvs} arenas × ${this.numAgents} agents`);
    }
    this.world.restore(s.world);
    this.rngs = this.world.rngs;
    this.prevControls.set(s.prevControls);
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
    this.world.free();
  }

  private resetArena(i: number, setter: CarballStateSetter): void {
    applyStateSetter(this.envId, this.world, i, setter, this.rngs[i]!);
    this.tally.clear(i);
    const n = this.numAgents;
    this.prevControls.fill(0, i * n * NUM_CONTROLS, (i + 1) * n * NUM_CONTROLS);
    for (let a = 0; a < n; a++) {
      const s = i * n + a;
      writeCarballObs(this.options.obsBuilder, this.world, i, a, this.prevControls, NUM_CONTROLS * s, this.obs, s * this.obsSize);
    }
    const envInfo = this.envInfos[i]!;
    for (const agent of envInfo.agents) for (const k of CARBALL_EVENT_NAMES) agent.events[k] = 0;
    envInfo.score[0] = this.world.score[2 * i]!;
    envInfo.score[1] = this.world.score[2 * i + 1]!;
    envInfo.tick = this.world.tick[i]!;
  }

  /** Every action is checked before anything moves; a bad one names the env, the slot and the value. */
  private checkActions(actions: ArrayLike<number>): void {
    const expected = this.numSlots * this.actionSize;
    if (!actions || typeof actions.length !== 'number' || actions.length !== expected) {
      throw new InvalidActionError(this.envId, null, actions, `expected a flat array of ${expected} numbers (${this.numEnvs} envs × ${this.numAgents} agents × ${this.actionSize})`);
    }
    const space = this.singleActionSpace;
    for (let s = 0; s < this.numSlots; s++) {
      const i = Math.floor(s / this.numAgents);
      if (this.needsReset[i]) continue;
      if (space.kind === 'discrete') {
        const x = actions[s]!;
        if (Number.isInteger(x) && x >= 0 && x < space.n) continue;
        throw new InvalidActionError(`${this.envId} (vector env ${i})`, s % this.numAgents, x, whyNotContained(space, x) ?? 'not in the action space');
      }
      const row = Array.prototype.slice.call(actions, s * this.actionSize, (s + 1) * this.actionSize) as number[];
      const why = whyNotContained(space, space.kind === 'box' ? Float32Array.from(row) : row);
      if (why !== null) throw new InvalidActionError(`${this.envId} (vector env ${i})`, s % this.numAgents, row, why);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`${this.envId} CarballVecEnv is closed`);
  }
}
