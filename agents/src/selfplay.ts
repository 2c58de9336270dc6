/**
 * Self-play for team games (carball): one shared policy plays every agent slot; an opponent pool of
 * past snapshots (ML-Agents' scheme, REFERENCES.md §7: window 10, play-against-latest ratio 0.5, Elo
 * starting at 1200) supplies the other team's policy for whole rollouts. Against a past snapshot the
 * opponent slots are external (the trainer neither learns from them nor counts their episodes);
 * against the latest policy every slot learns (pure self-play).
 *
 * Elo (Elo 1978): E = 1 / (1 + 10^((R_b − R_a)/400)); R_a ← R_a + K·(S − E), R_b ← R_b − K·(S − E),
 * with S = 1 for a win of the learner's team, ½ for a draw, 0 for a loss.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, Wrapper, makeEnv, VecEnv, boxBounds, type AnyEnv, type CarballState, type RngState, type Space, type VecEnvLike, type VecStepResult, type FinishedEpisode, type Info, ballChaser } from '@rewardlab/sim';
import { ActorCritic, stepInfo, type GroupRows, type OpponentController } from './ppo';
import { sampleActions } from './distributions';
import { CheckpointError } from './checkpoint';

export interface SelfPlayConfig {
  /** Past snapshots kept in the pool (ML-Agents `window`, 10). */
  window: number;
  /** Probability that a rollout plays the latest policy rather than a past snapshot (ML-Agents 0.5). */
  playLatestRatio: number;
  /** Iterations between snapshots added to the pool. */
  snapshotEvery: number;
  /** Elo K-factor. */
  eloK: number;
  /** Slots per env that form team 0 (the learner's side against snapshots); the rest are team 1. */
  teamSize: number;
}

export const SELF_PLAY_DEFAULTS: Omit<SelfPlayConfig, 'teamSize'> = { window: 10, playLatestRatio: 0.5, snapshotEvery: 10, eloK: 16 };
export const INITIAL_ELO = 1200;

export function eloExpected(ra: number, rb: number): number {
  return 1 / (1 + 10 ** ((rb - ra) / 400));
}

/** New ratings of a and b after a game that a scored `score` in (1 win, ½ draw, 0 loss). */
export function eloUpdate(ra: number, rb: number, score: number, k: number): [number, number] {
  const delta = k * (score - eloExpected(ra, rb));
  return [ra + delta, rb - delta];
}

export interface PoolEntry {
  id: string;
  step: number;
  /** Actor and critic weights (flat copies) of the snapshot. */
  weights: Float32Array[];
  elo: number;
  games: number;
}

export class OpponentPool {
  readonly entries: PoolEntry[] = [];
  learnerElo = INITIAL_ELO;
  constructor(readonly config: SelfPlayConfig) {}

  async snapshot(policy: ActorCritic, step: number): Promise<PoolEntry> {
    const vars = [...policy.actor.variables, ...policy.critic.variables];
    const weights = await Promise.all(vars.map(async (v) => (await v.data()).slice() as Float32Array));
    // A new snapshot starts at the learner's current rating (it is the learner, frozen).
    const entry: PoolEntry = { id: `step-${step}`, step, weights, elo: this.learnerElo, games: 0 };
    this.entries.push(entry);
    while (this.entries.length > this.config.window) this.entries.shift();
    return entry;
  }

  /** A past snapshot to play against, or null to play the latest policy. */
  choose(rng: Rng): PoolEntry | null {
    if (this.entries.length === 0 || rng.random() < this.config.playLatestRatio) return null;
    return this.entries[rng.integer(this.entries.length)]!;
  }

  record(entry: PoolEntry, score: number): void {
    [this.learnerElo, entry.elo] = eloUpdate(this.learnerElo, entry.elo, score, this.config.eloK);
    entry.games += 1;
  }

  toJSON(): { learnerElo: number; entries: { id: string; step: number; elo: number; games: number }[] } {
    return { learnerElo: this.learnerElo, entries: this.entries.map(({ id, step, elo, games }) => ({ id, step, elo, games })) };
  }
}

/** Result of an episode for team 0 from its last step's events: 1 win, 0 loss, ½ draw (no goal). */
export function teamZeroScore(info: Record<string, unknown> | undefined): number {
  const agents = (info?.agents ?? []) as { events?: { teamGoal?: number; concede?: number } }[];
  const ev = agents[0]?.events;
  if (!ev) return 0.5;
  if ((ev.teamGoal ?? 0) > 0) return 1;
  if ((ev.concede ?? 0) > 0) return 0;
  return 0.5;
}

/** Games won, drawn and lost by team 0 (the learner's side). */
export interface GameResults {
  games: number;
  wins: number;
  draws: number;
  losses: number;
}

/**
 * Scores team 0's games that ended on this step (one per env that finished an episode, scored from its
 * events as `teamZeroScore`) and adds them to `results`; returns the scores.
 */
function tallyGames(r: VecStepResult, results: GameResults): number[] {
  return tallyEpisodes(r.info.episodes, (env) => r.info.envInfos[env], results);
}

/** `tallyGames` over episodes (global env indices) whose step infos `infoOf(env)` gives. */
function tallyEpisodes(episodes: readonly FinishedEpisode[], infoOf: (env: number) => Record<string, unknown> | undefined, results: GameResults): number[] {
  const scores: number[] = [];
  for (const env of new Set(episodes.map((e) => e.env))) {
    const score = teamZeroScore(stepInfo(infoOf(env)));
    results.games += 1;
    if (score === 1) results.wins += 1;
    else if (score === 0) results.losses += 1;
    else results.draws += 1;
    scores.push(score);
  }
  return scores;
}

/** Team 0's touches in one env's step info (`stepInfo`'s: the ending step's where the env reset within the step). */
function envTeamZeroTouches(info: Record<string, unknown>, teamSize: number): number {
  const agents = info.agents as ({ events?: { touch?: number } } | undefined)[] | undefined;
  if (!Array.isArray(agents)) return 0;
  let touches = 0;
  for (let a = 0; a < teamSize; a++) touches += agents[a]?.events?.touch ?? 0;
  return touches;
}

/** Team 0's touches within one step, over every env (an env that reset within the step: its final step's). */
export function teamZeroTouches(r: VecStepResult | { info: { envInfos: readonly Info[] } }, teamSize: number): number {
  let touches = 0;
  for (const info of r.info.envInfos) touches += envTeamZeroTouches(stepInfo(info), teamSize);
  return touches;
}

/** Games against a scripted opponent, and the learner's (team 0's) touches over all its steps. */
export interface ScriptedResults extends GameResults {
  touches: number;
}

/** 1 for the slots of team 1 (agents teamSize … numAgents − 1 of every env). */
function teamOneMask(numEnvs: number, numAgents: number, teamSize: number): Uint8Array {
  const mask = new Uint8Array(numEnvs * numAgents);
  for (let i = 0; i < numEnvs; i++) for (let a = teamSize; a < numAgents; a++) mask[i * numAgents + a] = 1;
  return mask;
}

/** Plays the other team with snapshots from the pool; plugged into PpoTrainer as its opponent. */
export class SelfPlayController implements OpponentController {
  readonly pool: OpponentPool;
  private current: PoolEntry | null = null;
  private net: ActorCritic | null = null;
  private readonly rng: Rng;
  private iterations = 0;
  private mask: Uint8Array;
  readonly results: GameResults = { games: 0, wins: 0, draws: 0, losses: 0 };

  constructor(
    readonly policy: ActorCritic,
    public numEnvs: number,
    readonly numAgents: number,
    readonly config: SelfPlayConfig,
    seed: number,
    private readonly normalize: (obs: Float32Array, rows: number) => Float32Array,
  ) {
    this.pool = new OpponentPool(config);
    this.rng = new Rng(seed);
    this.mask = teamOneMask(numEnvs, numAgents, config.teamSize);
  }

  get opponent(): PoolEntry | null {
    return this.current;
  }

  resize(vec: { numEnvs: number; numAgents: number }): void {
    if (vec.numAgents !== this.numAgents) throw new RangeError(`self-play: the new vector has ${vec.numAgents} agent slots per env, not ${this.numAgents}`);
    this.numEnvs = vec.numEnvs;
    this.mask = teamOneMask(vec.numEnvs, vec.numAgents, this.config.teamSize);
  }

  async beginRollout(globalStep: number): Promise<Uint8Array | null> {
    if (this.iterations % this.config.snapshotEvery === 0) await this.pool.snapshot(this.policy, globalStep);
    this.iterations += 1;
    this.current = this.pool.choose(this.rng);
    if (!this.current) return null;
    if (!this.net) this.net = new ActorCritic(this.policy.obsSize, this.policy.actionSpace, this.policy.hiddenSizes, this.policy.activation, new Rng(0));
    const vars = [...this.net.actor.variables, ...this.net.critic.variables];
    vars.forEach((v, k) => v.assign(tf.tensor(this.current!.weights[k]!, v.shape)));
    return this.mask;
  }

  async act(rawObs: Float32Array, envActions: Float32Array | Int32Array, obsSize: number, actionSize: number): Promise<void> {
    await this.actSlots(rawObs, envActions, 0, this.mask.length, obsSize, actionSize, this.rng);
  }

  async actSlots(rawObs: Float32Array, envActions: Float32Array | Int32Array, s0: number, n: number, obsSize: number, actionSize: number, rng: Rng): Promise<void> {
    if (!this.current || !this.net) return;
    const rows: number[] = [];
    for (let j = 0; j < n; j++) if (this.mask[s0 + j]) rows.push(j);
    if (!rows.length) return;
    const x = new Float32Array(rows.length * obsSize);
    rows.forEach((j, k) => x.set(rawObs.subarray(j * obsSize, (j + 1) * obsSize), k * obsSize));
    const { head } = await this.net.act(this.normalize(x, rows.length), rows.length);
    const out = { actions: new Float32Array(rows.length * actionSize), envActions: envActions instanceof Int32Array ? new Int32Array(rows.length * actionSize) : new Float32Array(rows.length * actionSize), logProbs: new Float32Array(rows.length) };
    sampleActions(this.net.dist, head, await this.net.logStdValues(), rows.length, rng, out);
    rows.forEach((j, k) => envActions.set(out.envActions.subarray(k * actionSize, (k + 1) * actionSize), j * actionSize));
  }

  observeGroup(g: GroupRows): void {
    if (!this.current) return;
    for (const score of tallyEpisodes(g.episodes, (env) => g.envInfos?.[env - g.envOffset], this.results)) this.pool.record(this.current, score);
  }

  observe(r: VecStepResult): void {
    if (!this.current) return;
    for (const score of tallyGames(r, this.results)) this.pool.record(this.current, score);
  }

  /**
   * What a checkpoint keeps of self-play, so that a resumed run plays the same opponents: the pool
   * (snapshot weights, Elo ratings, games), the learner's rating, the results, the iteration counter
   * that schedules snapshots and the generator that picks opponents. `weights` holds every pool
   * entry's arrays one after another (their lengths in `entries[k].sizes`).
   */
  getState(): { state: SelfPlayState; weights: Float32Array } {
    const entries = this.pool.entries.map(({ id, step, elo, games, weights }) => ({ id, step, elo, games, sizes: weights.map((w) => w.length) }));
    const total = entries.reduce((a, e) => a + e.sizes.reduce((x, y) => x + y, 0), 0);
    const weights = new Float32Array(total);
    let at = 0;
    for (const e of this.pool.entries) for (const w of e.weights) (weights.set(w, at), (at += w.length));
    return { state: { iterations: this.iterations, rng: this.rng.getState(), results: { ...this.results }, learnerElo: this.pool.learnerElo, entries }, weights };
  }

  /** Restores `getState()`'s output; the pool's arrays must fit this policy's variables. */
  setState(state: SelfPlayState, weights: Float32Array): void {
    const shapes = [...this.policy.actor.variables, ...this.policy.critic.variables].map((v) => v.size);
    let at = 0;
    const entries: PoolEntry[] = state.entries.map((e) => {
      if (e.sizes.length !== shapes.length || e.sizes.some((n, k) => n !== shapes[k])) throw new RangeError(`self-play pool entry ${e.id} does not fit this policy (${e.sizes.length} arrays, sizes ${e.sizes.join(', ')})`);
      const arrays = e.sizes.map((n) => weights.slice(at, (at += n)));
      return { id: e.id, step: e.step, elo: e.elo, games: e.games, weights: arrays };
    });
    if (at !== weights.length) throw new RangeError(`self-play pool weights hold ${weights.length} numbers, the entries describe ${at}`);
    this.pool.entries.splice(0, this.pool.entries.length, ...entries);
    this.pool.learnerElo = state.learnerElo;
    this.iterations = state.iterations;
    this.rng.setState(state.rng);
    Object.assign(this.results, state.results);
    this.current = null;
  }

  dispose(): void {
    this.net?.dispose();
  }
}

/**
 * Writes one uniformly random action of `space` at `offset`: an index for discrete spaces, one index
 * per dimension for multi-discrete ones, and a uniform point of a bounded box (carball's continuous
 * controls: [−1, 1]⁸). This is what "a random policy" means in the learning checks.
 */
export function randomActionInto(space: Space, rng: Rng, out: Float32Array | Int32Array, offset: number): void {
  if (space.kind === 'discrete') out[offset] = rng.integer(space.n);
  else if (space.kind === 'multi-discrete') space.nvec.forEach((n, k) => (out[offset + k] = rng.integer(n)));
  else if (space.kind === 'box') {
    const { low, high } = boxBounds(space);
    for (let k = 0; k < low.length; k++) {
      if (!Number.isFinite(low[k]!) || !Number.isFinite(high[k]!)) throw new TypeError(`no uniform random action on an unbounded box (entry ${k}: [${low[k]}, ${high[k]}])`);
      out[offset + k] = rng.uniform(low[k]!, high[k]!);
    }
  } else throw new TypeError(`no random action for a ${space.kind} space`);
}

/**
 * A scripted opponent for carball training instead of self-play: team 1 plays uniformly random actions
 * or the ball chaser (which needs each env's state: a vector with `getState(i)`, as CarballVecEnv and
 * the reward vector over it), every rollout; the learner plays team 0 and only its steps count.
 */
export class ScriptedOpponent implements OpponentController {
  private readonly rng: Rng;
  private mask: Uint8Array;
  readonly results: ScriptedResults = { games: 0, wins: 0, draws: 0, losses: 0, touches: 0 };

  constructor(
    readonly kind: CarballOpponent,
    private vec: { numEnvs: number; numAgents: number; actionSize: number; singleActionSpace: Space; getState?: (i: number) => CarballState },
    private readonly teamSize: number,
    seed: number,
  ) {
    if (kind === 'ball-chaser' && vec.singleActionSpace.kind !== 'discrete') throw new TypeError(`a scripted ball-chaser opponent plays carball's discrete lookup actions; this env's actions are ${vec.singleActionSpace.kind}`);
    if (kind === 'ball-chaser' && typeof vec.getState !== 'function') throw new TypeError('a ball-chaser opponent needs a vector env that exposes each env\'s state (getState)');
    this.rng = new Rng(seed);
    this.mask = teamOneMask(vec.numEnvs, vec.numAgents, teamSize);
  }

  resize(vec: VecEnvLike): void {
    if (this.kind === 'ball-chaser' && typeof (vec as { getState?: unknown }).getState !== 'function') throw new TypeError("a ball-chaser opponent needs a vector env that exposes each env's state (getState)");
    this.vec = vec as typeof this.vec;
    this.mask = teamOneMask(vec.numEnvs, vec.numAgents, this.teamSize);
  }

  async beginRollout(): Promise<Uint8Array | null> {
    return this.mask;
  }

  async act(rawObs: Float32Array, envActions: Float32Array | Int32Array, obsSize: number, actionSize: number): Promise<void> {
    await this.actSlots(rawObs, envActions, 0, this.mask.length, obsSize, actionSize, this.rng);
  }

  async actSlots(_rawObs: Float32Array, envActions: Float32Array | Int32Array, s0: number, n: number, _obsSize: number, actionSize: number, rng: Rng): Promise<void> {
    const { numAgents, singleActionSpace } = this.vec;
    let state: CarballState | null = null;
    let stateOf = -1;
    for (let j = 0; j < n; j++) {
      const s = s0 + j;
      if (!this.mask[s]) continue;
      const env = Math.floor(s / numAgents);
      if (this.kind === 'ball-chaser') {
        if (stateOf !== env) (state = this.vec.getState!(env)), (stateOf = env); // once per env, for all its opponent cars
        envActions[j * actionSize] = ballChaser(state!, state!.cars[s % numAgents]!.id);
      } else randomActionInto(singleActionSpace, rng, envActions, j * actionSize);
    }
  }

  observeGroup(g: GroupRows): void {
    tallyEpisodes(g.episodes, (env) => g.envInfos?.[env - g.envOffset], this.results);
    this.results.touches += teamZeroTouches({ info: { envInfos: g.envInfos ?? [] } }, this.teamSize);
  }

  observe(r: VecStepResult): void {
    tallyGames(r, this.results);
    this.results.touches += teamZeroTouches(r, this.teamSize);
  }

  getState(): { rng: RngState; results: ScriptedResults } {
    return { rng: this.rng.getState(), results: { ...this.results } };
  }

  /** Restores a saved state (checkpoints from before touches were counted restore with 0 touches). */
  setState(state: { rng: RngState; results: GameResults & { touches?: number } }): void {
    this.rng.setState(state.rng);
    Object.assign(this.results, { touches: 0 }, state.results);
  }
}

export interface SelfPlayState {
  iterations: number;
  rng: RngState;
  results: GameResults;
  learnerElo: number;
  entries: { id: string; step: number; elo: number; games: number; sizes: number[] }[];
}

// ---------------------------------------------------------------------------------------------------
// Evaluation of a carball policy against a fixed opponent
// ---------------------------------------------------------------------------------------------------

export type CarballOpponent = 'ball-chaser' | 'random';

export interface CarballEvalResult {
  env: string;
  opponent: CarballOpponent;
  episodes: number;
  wins: number;
  draws: number;
  losses: number;
  /** Touches per episode by team 0 (the evaluated policy's side). */
  touchesPerEpisode: number;
  goalsFor: number;
  goalsAgainst: number;
  /** Mean over steps of the ball's velocity toward team 0's target goal (uu/s). */
  meanBallVelocityToGoal: number;
  meanEpisodeSteps: number;
}

function rawEnv(env: AnyEnv): { getState(): CarballState } {
  return (env instanceof Wrapper ? env.unwrapped : env) as unknown as { getState(): CarballState };
}

/**
 * Plays `episodes` episodes of a carball env with team 0 driven by `policy` (greedy unless `stochastic`,
 * or uniformly random actions when policy is 'random') and team 1 by the scripted opponent, and reports touches, goals and
 * the ball's velocity toward team 0's target goal (+y). For the learning checks of the issue. Env i of
 * `numEnvs` (seeded seed + i) plays ⌊episodes / numEnvs⌋ of them, one more when i < episodes mod numEnvs.
 */
export async function evaluateCarball(options: {
  env: string;
  policy: ActorCritic | 'random';
  opponent: CarballOpponent;
  episodes: number;
  seed: number;
  numEnvs?: number;
  normalize?: (obs: Float32Array, rows: number) => Float32Array;
  envOptions?: Record<string, unknown>;
  /** Sample the policy's actions instead of taking the most likely one (default false). */
  stochastic?: boolean;
}): Promise<CarballEvalResult> {
  const numEnvs = options.numEnvs ?? Math.min(options.episodes, 4);
  const envs: AnyEnv[] = [];
  for (let i = 0; i < numEnvs; i++) envs.push(await makeEnv<AnyEnv>(options.env, options.envOptions ?? {}));
  const vec = new VecEnv(envs, { autoreset: 'same-step' });
  if (options.policy !== 'random' && options.policy.obsSize !== vec.obsSize) {
    await vec.close();
    throw new CheckpointError(`the policy expects ${options.policy.obsSize} observations, ${options.env} gives ${vec.obsSize}${options.envOptions ? ` with options ${JSON.stringify(options.envOptions)}` : ''}`);
  }
  const rng = new Rng(options.seed);
  const team = vec.numAgents / 2;
  const actions = vec.createActionBuffer();
  const space = vec.singleActionSpace;
  const result: CarballEvalResult = { env: options.env, opponent: options.opponent, episodes: 0, wins: 0, draws: 0, losses: 0, touchesPerEpisode: 0, goalsFor: 0, goalsAgainst: 0, meanBallVelocityToGoal: 0, meanEpisodeSteps: 0 };
  let touches = 0;
  let velSum = 0;
  let velCount = 0;
  // Each env plays a fixed share of the episodes, counted whatever their length: counting the first N
  // episodes to finish, across envs, would favour short ones (the long episodes still running at the
  // end would be dropped), and a touch restarts the no-touch clock, so long episodes are touchy ones.
  const quota = Array.from({ length: numEnvs }, (_, i) => Math.floor(options.episodes / numEnvs) + (i < options.episodes % numEnvs ? 1 : 0));
  const counted = new Array<number>(numEnvs).fill(0);
  // Per env: the running episode's touches, added to the total when that episode ends.
  const episodeTouches = new Float64Array(numEnvs);
  let { obs } = await vec.reset({ seed: options.seed });
  const randomAction = (s: number): void => randomActionInto(space, rng, actions, s * vec.actionSize);
  while (result.episodes < options.episodes) {
    // team 0
    if (options.policy === 'random') {
      for (let i = 0; i < numEnvs; i++) for (let a = 0; a < team; a++) randomAction(i * vec.numAgents + a);
    } else {
      const rows = numEnvs * team;
      const x = new Float32Array(rows * vec.obsSize);
      for (let i = 0; i < numEnvs; i++) for (let a = 0; a < team; a++) x.set(obs.subarray((i * vec.numAgents + a) * vec.obsSize, (i * vec.numAgents + a + 1) * vec.obsSize), (i * team + a) * vec.obsSize);
      const { head } = await options.policy.act(options.normalize ? options.normalize(x, rows) : x, rows);
      const out = { actions: new Float32Array(rows * vec.actionSize), envActions: vec.createActionBuffer().subarray(0, rows * vec.actionSize), logProbs: new Float32Array(rows) };
      sampleActions(options.policy.dist, head, await options.policy.logStdValues(), rows, rng, out, !options.stochastic);
      for (let i = 0; i < numEnvs; i++) for (let a = 0; a < team; a++) actions.set(out.envActions.subarray((i * team + a) * vec.actionSize, (i * team + a + 1) * vec.actionSize), (i * vec.numAgents + a) * vec.actionSize);
    }
    // team 1
    for (let i = 0; i < numEnvs; i++) {
      const state = options.opponent === 'ball-chaser' ? rawEnv(vec.envs[i]!).getState() : null;
      for (let a = team; a < vec.numAgents; a++) {
        const s = i * vec.numAgents + a;
        if (options.opponent === 'random') randomAction(s);
        else actions[s] = ballChaser(state!, state!.cars[a]!.id);
      }
    }
    const r = await vec.step(actions);
    obs = r.obs;
    for (let i = 0; i < numEnvs; i++) {
      if (counted[i]! >= quota[i]!) continue;
      const info = r.info.envInfos[i]!;
      episodeTouches[i] += envTeamZeroTouches(stepInfo(info), team);
      // After the last step of an episode the env already holds the next episode's first state.
      if (info.final !== undefined) continue;
      const state = rawEnv(vec.envs[i]!).getState();
      const ball = state.ball;
      // unit vector from the ball to the back of team 0's target goal (0, 6000, ball z), RLGym's VelocityBallToGoal direction
      const dx = 0 - ball.pos[0], dy = 6000 - ball.pos[1];
      const norm = Math.hypot(dx, dy) || 1;
      velSum += (dx * ball.vel[0] + dy * ball.vel[1]) / norm;
      velCount += 1;
    }
    for (const ep of r.info.episodes) {
      if (ep.agent !== 0 || counted[ep.env]! >= quota[ep.env]!) continue;
      counted[ep.env] = counted[ep.env]! + 1;
      const score = teamZeroScore(stepInfo(r.info.envInfos[ep.env]));
      result.episodes += 1;
      result.meanEpisodeSteps += ep.length;
      touches += episodeTouches[ep.env]!;
      episodeTouches[ep.env] = 0;
      if (score === 1) (result.wins += 1), (result.goalsFor += 1);
      else if (score === 0) (result.losses += 1), (result.goalsAgainst += 1);
      else result.draws += 1;
    }
  }
  await vec.close();
  result.touchesPerEpisode = touches / result.episodes;
  result.meanBallVelocityToGoal = velSum / Math.max(1, velCount);
  result.meanEpisodeSteps /= result.episodes;
  return result;
}
