/**
 * Proximal Policy Optimization (Schulman et al. 2017) on TensorFlow.js, written as CleanRL's ppo.py
 * reads: one policy object, then the training iteration in marked phases (anneal → collect rollout →
 * bootstrap and compute GAE → optimise K epochs over shuffled minibatches → log).
 *
 * Multi-agent envs train one shared policy over every agent slot; slots can be handed to another
 * controller (self-play opponents) by marking them `externalSlots`, which the trainer neither acts for
 * nor learns from.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, RunningMeanStd, episodeTaskMetrics, type FinishedEpisode, type Info, type Space, type StepResultBuffers, type VecEnvLike, type VecStepResult } from '@rewardlab/sim';
import type { WorkerStats } from './remote';
import { actionWidth, distributionFor, headSize, logProbAndEntropy, sampleActions, type DistributionKind } from './distributions';
import { Mlp } from './nn';
import type { PpoConfig } from './config';

// ---------------------------------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------------------------------

/** Separate actor and critic MLPs (CleanRL's Agent), plus a log-std parameter for Gaussian actions. */
export class ActorCritic {
  private static instances = 0;
  readonly dist: DistributionKind;
  readonly actor: Mlp;
  readonly critic: Mlp;
  readonly logStd: tf.Variable | null;

  constructor(
    readonly obsSize: number,
    readonly actionSpace: Space,
    readonly hiddenSizes: readonly number[],
    readonly activation: 'tanh' | 'relu',
    rng: Rng,
    logStdInit = 0,
  ) {
    this.dist = distributionFor(actionSpace);
    // tfjs variable names are global: number each policy so several can coexist (opponents, evaluation).
    const id = ++ActorCritic.instances;
    this.actor = new Mlp({ inputSize: obsSize, hiddenSizes, outputSize: headSize(this.dist), activation, outputGain: 0.01 }, rng, `policy${id}/actor`);
    this.critic = new Mlp({ inputSize: obsSize, hiddenSizes, outputSize: 1, activation, outputGain: 1 }, rng, `policy${id}/critic`);
    this.logStd = this.dist.kind === 'gaussian' ? tf.variable(tf.fill([this.dist.dim], logStdInit), true, `policy${id}/actor/log_std`) : null;
  }

  get variables(): tf.Variable[] {
    return [...this.actor.variables, ...this.critic.variables, ...(this.logStd ? [this.logStd] : [])];
  }

  // Downloads are asynchronous throughout: the WebGPU backend cannot read synchronously in Node.

  /** Head outputs and values for a batch of (normalised) observations, downloaded. */
  async act(obs: Float32Array, batch: number): Promise<{ head: Float32Array; values: Float32Array }> {
    const [head, values] = tf.tidy(() => {
      const x = tf.tensor2d(obs, [batch, this.obsSize]);
      return [this.actor.apply(x), this.critic.apply(x)];
    });
    const [h, v] = await Promise.all([head.data(), values.data()]);
    head.dispose();
    values.dispose();
    return { head: h as Float32Array, values: v as Float32Array };
  }

  async values(obs: Float32Array, batch: number): Promise<Float32Array> {
    const v = tf.tidy(() => this.critic.apply(tf.tensor2d(obs, [batch, this.obsSize])));
    const out = (await v.data()) as Float32Array;
    v.dispose();
    return out;
  }

  async logStdValues(): Promise<Float32Array | null> {
    return this.logStd ? ((await this.logStd.data()) as Float32Array) : null;
  }

  dispose(): void {
    this.actor.dispose();
    this.critic.dispose();
    this.logStd?.dispose();
  }
}

/**
 * Observation normalisation as SB3's VecNormalize applies it: clip((x − μ) / √(σ² + 1e-8), ±clip), for
 * `rows` observations of `size` values, into `out`. The trainer and saved policies share it.
 */
export function normalizeObservations(obs: ArrayLike<number>, rows: number, size: number, mean: ArrayLike<number>, variance: ArrayLike<number>, clip: number, out: Float32Array): Float32Array {
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < size; i++) {
      const v = (obs[r * size + i]! - mean[i]!) / Math.sqrt(variance[i]! + 1e-8);
      out[r * size + i] = v > clip ? clip : v < -clip ? -clip : v;
    }
  }
  return out;
}

/**
 * Inputs per `tf.addN`: WebGPU's AddN kernel binds each input and its output as storage buffers, and a
 * device guarantees only 8 per shader stage (an AddN of more fails pipeline validation, and Dawn then
 * drops the whole command buffer it was encoded in).
 */
const ADD_N_MAX_INPUTS = 7;

/**
 * Σ of same-shaped tensors: on webgpu as chunked `tf.addN`s (see ADD_N_MAX_INPUTS), elsewhere one
 * `tf.addN`, whose summation order the CPU backends' results (and the learning checks' fixed-seed runs)
 * were measured with. `maxInputs` overrides the chunk size.
 */
export function sumTensors<T extends tf.Tensor>(tensors: readonly T[], maxInputs = tf.getBackend() === 'webgpu' ? ADD_N_MAX_INPUTS : Infinity): T {
  if (tensors.length === 0) throw new RangeError('sumTensors needs at least one tensor');
  if (!(maxInputs >= 2)) throw new RangeError(`sumTensors: maxInputs must be at least 2, got ${maxInputs}`);
  let terms: T[] = [...tensors];
  while (terms.length > 1) {
    const next: T[] = [];
    for (let i = 0; i < terms.length; i += maxInputs) {
      const chunk = terms.slice(i, i + maxInputs);
      next.push(chunk.length === 1 ? chunk[0]! : tf.addN(chunk));
    }
    terms = next;
  }
  return terms[0]!;
}

/**
 * Global gradient-norm clipping (Pascanu et al. 2013), as torch's clip_grad_norm_: every gradient times
 * min(1, maxNorm / (‖g‖ + 1e-6)), ‖g‖ the norm of all gradients together.
 */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): { clipped: Record<string, tf.Tensor>; norm: tf.Scalar } {
  const norm = tf.sqrt(sumTensors(Object.values(grads).map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
  const scale = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
  const clipped: Record<string, tf.Tensor> = {};
  for (const [name, g] of Object.entries(grads)) clipped[name] = tf.mul(g, scale);
  return { clipped, norm };
}

// ---------------------------------------------------------------------------------------------------
// Advantages
// ---------------------------------------------------------------------------------------------------

/**
 * Generalised Advantage Estimation (Schulman et al. 2016), step-major layout `[t * numSlots + s]`:
 *   δₜ = rₜ + γ·V(sₜ₊₁)·(1 − doneₜ) − V(sₜ),   Âₜ = δₜ + γλ·(1 − doneₜ)·Âₜ₊₁,   Rₜ = Âₜ + V(sₜ).
 * `dones[t]` = 1 when the episode ended after step t (terminated or truncated; a truncation's bootstrap
 * value is folded into its reward beforehand), `lastValues` are V of the observation after the last step.
 */
export function computeGae(
  rewards: Float32Array,
  values: Float32Array,
  dones: Uint8Array,
  lastValues: Float32Array,
  numSteps: number,
  numSlots: number,
  gamma: number,
  lambda: number,
  advantages: Float32Array,
  returns: Float32Array,
): void {
  for (let s = 0; s < numSlots; s++) {
    let lastGae = 0;
    for (let t = numSteps - 1; t >= 0; t--) {
      const i = t * numSlots + s;
      const nextNonTerminal = 1 - dones[i]!;
      const nextValue = t === numSteps - 1 ? lastValues[s]! : values[i + numSlots]!;
      const delta = rewards[i]! + gamma * nextValue * nextNonTerminal - values[i]!;
      lastGae = delta + gamma * lambda * nextNonTerminal * lastGae;
      advantages[i] = lastGae;
      returns[i] = lastGae + values[i]!;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Loss
// ---------------------------------------------------------------------------------------------------

export interface MinibatchTensors {
  obs: tf.Tensor2D;
  actions: tf.Tensor2D;
  oldLogProbs: tf.Tensor1D;
  advantages: tf.Tensor1D;
  returns: tf.Tensor1D;
  oldValues: tf.Tensor1D;
}

export interface LossTerms {
  loss: tf.Scalar;
  policyLoss: tf.Scalar;
  valueLoss: tf.Scalar;
  entropy: tf.Scalar;
  approxKl: tf.Scalar;
  clipFraction: tf.Scalar;
}

/**
 * The PPO objective on one minibatch (advantages already normalised if asked):
 *   L = −mean(min(ρ·Â, clip(ρ, 1−ε, 1+ε)·Â)) + c_v·½·mean((V − R)²) − c_e·mean(H),   ρ = exp(log π − log π_old);
 * with value clipping, the value term is ½·mean(max((V − R)², (V_old + clip(V − V_old, ±ε_v) − R)²)).
 * approx KL is the unbiased k3 estimator mean((ρ − 1) − log ρ) (CleanRL).
 */
export function ppoLoss(policy: ActorCritic, mb: MinibatchTensors, clipRange: number, clipRangeVf: number | null, entCoef: number, vfCoef: number): LossTerms {
  const head = policy.actor.apply(mb.obs);
  const values = tf.reshape(policy.critic.apply(mb.obs), [-1]) as tf.Tensor1D;
  const { logProb, entropy } = logProbAndEntropy(policy.dist, head, mb.actions, policy.logStd);
  const logRatio = tf.sub(logProb, mb.oldLogProbs);
  const ratio = tf.exp(logRatio);
  const surrogate1 = tf.mul(ratio, mb.advantages);
  const surrogate2 = tf.mul(tf.clipByValue(ratio, 1 - clipRange, 1 + clipRange), mb.advantages);
  const policyLoss = tf.neg(tf.mean(tf.minimum(surrogate1, surrogate2))) as tf.Scalar;
  let valueLoss: tf.Scalar;
  const unclipped = tf.square(tf.sub(values, mb.returns));
  if (clipRangeVf !== null) {
    const vClipped = tf.add(mb.oldValues, tf.clipByValue(tf.sub(values, mb.oldValues), -clipRangeVf, clipRangeVf));
    valueLoss = tf.mul(0.5, tf.mean(tf.maximum(unclipped, tf.square(tf.sub(vClipped, mb.returns))))) as tf.Scalar;
  } else {
    valueLoss = tf.mul(0.5, tf.mean(unclipped)) as tf.Scalar;
  }
  const entropyMean = tf.mean(entropy) as tf.Scalar;
  const loss = tf.add(tf.sub(policyLoss, tf.mul(entCoef, entropyMean)), tf.mul(vfCoef, valueLoss)) as tf.Scalar;
  const approxKl = tf.mean(tf.sub(tf.sub(ratio, 1), logRatio)) as tf.Scalar;
  const clipFraction = tf.mean(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), clipRange), 'float32')) as tf.Scalar;
  return { loss, policyLoss, valueLoss, entropy: entropyMean, approxKl, clipFraction };
}

// ---------------------------------------------------------------------------------------------------
// Trainer
// ---------------------------------------------------------------------------------------------------

export interface IterationMetrics {
  iteration: number;
  /** Agent steps (slot transitions) collected so far. */
  step: number;
  /** Mean undiscounted env return of the last 20 finished episodes (null before any). */
  meanReturn: number | null;
  meanLength: number | null;
  successRate: number | null;
  episodes: number;
  /**
   * Mean per-step value of each reward component over the rollout and the learning slots (when a reward
   * spec reports them); an opponent's slots are left out, since its zero-sum terms would cancel the learner's.
   */
  rewardComponents: Record<string, number>;
  /**
   * Each reward component's sum over an episode, averaged over the learner's episodes that ended in
   * this iteration (empty when none ended): what the policy collected from each term per episode.
   */
  episodeComponents: Record<string, number>;
  /** The reward spec's return (the learner's reward before return transforms) averaged over the same episodes; null when none ended. */
  specReturn: number | null;
  /**
   * The env's task metrics (sim's task-metrics.ts: e.g. touches, goals, success, length) averaged over
   * the same episodes: what the episodes achieved, whatever the reward paid.
   */
  taskMetrics: Record<string, number>;
  /** The learner's episodes that ended in this iteration (what `episodeComponents`, `specReturn` and `taskMetrics` average over). */
  iterationEpisodes: number;
  policyLoss: number;
  valueLoss: number;
  entropy: number;
  approxKl: number;
  clipFraction: number;
  explainedVariance: number;
  gradNorm: number;
  learningRate: number;
  stepsPerSecond: number;
  rolloutSeconds: number;
  updateSeconds: number;
  /** Against a scripted carball opponent (set by `train`): the run's games so far and team 0's touches. */
  opponent?: { games: number; wins: number; draws: number; losses: number; touches: number };
  /** How the rollout was collected: `pipelined` (a vector stepped in groups) or `synchronous`. */
  rollout?: 'pipelined' | 'synchronous';
  /** Training over sim workers (set by `train`): workers in the rollout, lost, rejoined, joined and left so far. */
  workers?: WorkerStats;
}

export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
  constructor(
    readonly step: number,
    readonly quantity: string,
  ) {
    super(`training diverged at step ${step}: ${quantity} is not finite`);
  }
}

export interface EpisodeRecord {
  return: number;
  length: number;
  isSuccess?: boolean;
}

/** Everything besides the weights that an exact resume needs. */
export interface TrainerState {
  iteration: number;
  globalStep: number;
  rng: ReturnType<Rng['getState']>;
  obsRms: { mean: number[]; var: number[]; count: number } | null;
  recentEpisodes: EpisodeRecord[];
  episodesSeen: number;
  nativeReturn?: number[];
  /** The running episodes' spec return and per-component sums, per slot. */
  specReturn?: number[];
  episodeComponents?: Record<string, number[]>;
  transforms?: unknown[];
}

export interface RewardTransformLike {
  readonly name: string;
  apply(rewards: Float32Array, dones: Uint8Array, numSteps: number, numSlots: number): void;
  getState?(): unknown;
  setState?(state: unknown): void;
}

/** Controls some slots instead of the learner (self-play opponents), decided per rollout. */
export interface OpponentController {
  /** Before each rollout: the slots the opponent plays this rollout (1 = opponent), or null for none. */
  beginRollout(globalStep: number): Promise<Uint8Array | null>;
  /** Overwrites the opponent slots' actions, from the raw observations. */
  act(rawObs: Float32Array, envActions: Float32Array | Int32Array, obsSize: number, actionSize: number): Promise<void>;
  /** Sees every step's result (episode outcomes for ratings). */
  observe(r: VecStepResult): void;
  /** The trainer moved to another vector env (`PpoTrainer.replaceVec`): size the slot mask for it. */
  resize?(vec: VecEnvLike): void;
  /**
   * Pipelined rollouts (a vector stepped in groups): overwrites the opponent slots among s0 … s0 + n − 1,
   * where `rawObs` and `envActions` start at slot s0, sampling from `rng` (the group's own stream, so the
   * actions do not depend on the order in which groups answer). Without it, rollouts with this
   * opponent are synchronous.
   */
  actSlots?(rawObs: Float32Array, envActions: Float32Array | Int32Array, s0: number, n: number, obsSize: number, actionSize: number, rng: Rng): Promise<void>;
  /** Pipelined rollouts: one group's step (`observe` for the group's envs). */
  observeGroup?(g: GroupRows): void;
}

/** One group's step as an opponent sees it: episodes with env indices of the whole vector, the group's step infos. */
export interface GroupRows {
  envOffset: number;
  episodes: readonly FinishedEpisode[];
  envInfos?: readonly Info[];
}

export interface PpoTrainerOptions {
  config: PpoConfig;
  seed: number;
  /** Total agent steps the learning-rate and clip annealing are scheduled over. */
  totalSteps: number;
  /** Plays some slots instead of the learner (self-play); the trainer neither acts for nor learns from them. */
  opponent?: OpponentController;
  /** Return transforms from the reward spec, applied to each rollout's rewards before GAE. */
  transforms?: RewardTransformLike[];
  /**
   * How a vector stepped in groups (sim workers) is rolled out: `pipelined` (each group sent its next
   * actions as soon as it answers, inference overlapping simulation), `synchronous` (every group
   * stepped together, one batched inference per step), or `auto` (default): both are timed on early
   * rollouts (two each, after a warm-up rollout; the other mode again every `ROLLOUT_PROBE_EVERY`
   * rollouts) and the faster is used. Pipelining wins
   * when the trainer would otherwise wait for a worker; with many small groups on few cores, its many
   * small inferences cost more than they overlap. A fixed mode keeps a run over workers reproducible.
   */
  rollout?: RolloutMode;
}

export type RolloutMode = 'auto' | 'pipelined' | 'synchronous';
const ROLLOUT_PROBE_EVERY = 50;
const PIPELINE_MARGIN = 1.15;

const RECENT_EPISODES = 20;

/** One step's results for a run of slots (arrays indexed from the run's first slot and env). */
interface StepRows extends StepResultBuffers {
  envInfos?: readonly Info[];
  /** Env indices of the whole vector. */
  episodes: readonly FinishedEpisode[];
}

/** A vector stepped in groups, EnvPool-style (sim's MultiVecEnv: a worker's env groups and the other parts). */
interface GroupedVecEnv extends VecEnvLike {
  readonly parts: readonly VecEnvLike[];
  sendGroup(k: number, actions: ArrayLike<number>): void;
  recvGroup(): Promise<{ group: number; envOffset: number } & StepRows>;
}

function isGrouped(vec: VecEnvLike): vec is GroupedVecEnv {
  const v = vec as Partial<GroupedVecEnv>;
  return Array.isArray(v.parts) && v.parts.length > 1 && typeof v.sendGroup === 'function' && typeof v.recvGroup === 'function';
}

const rowsOf = (r: VecStepResult): StepRows => ({ obs: r.obs, rewards: r.rewards, terminated: r.terminated, truncated: r.truncated, autoreset: r.info.autoreset, finalObs: r.info.finalObs, envInfos: r.info.envInfos, episodes: r.info.episodes });

export class PpoTrainer {
  readonly policy: ActorCritic;
  readonly optimizer: tf.AdamOptimizer;
  readonly obsRms: RunningMeanStd | null;
  readonly config: PpoConfig;
  rng: Rng;
  iteration = 0;
  globalStep = 0;
  episodesSeen = 0;
  recentEpisodes: EpisodeRecord[] = [];
  private readonly T: number;
  private S!: number;
  private readonly width: number;
  // Rollout storage, allocated once (again when `replaceVec` changes the number of slots).
  private bufObs!: Float32Array;
  private bufActions!: Float32Array;
  private bufLogProbs!: Float32Array;
  private bufValues!: Float32Array;
  private bufRewards!: Float32Array;
  private bufDones!: Uint8Array;
  /** γ·V(final observation) of truncated steps, added after the return transforms saw the env's rewards. */
  private bufBootstrap!: Float32Array;
  private bufValid!: Uint8Array;
  private advantages!: Float32Array;
  private returns!: Float32Array;
  private normObs!: Float32Array;
  private stepActions!: { actions: Float32Array; envActions: Float32Array | Int32Array; logProbs: Float32Array };
  private started = false;
  private readonly componentSums = new Map<string, number>();
  /** Running env-native return per slot (what `meanReturn` reports). */
  private nativeReturn!: Float64Array;
  private componentCount = 0;
  /** Running spec return and per-component sums of each slot's episode. */
  private specReturnSlot!: Float64Array;
  private readonly episodeComponentSlot = new Map<string, Float64Array>();
  /** This iteration's finished learner episodes: their spec returns, component sums and task metrics. */
  private readonly iteration_ = { episodes: 0, specReturn: 0, components: new Map<string, number>(), metrics: new Map<string, { sum: number; n: number }>() };

  private vecEnv: VecEnvLike;

  constructor(
    vec: VecEnvLike,
    readonly options: PpoTrainerOptions,
  ) {
    const c = (this.config = options.config);
    this.rng = new Rng(options.seed);
    this.T = c.numSteps;
    this.vecEnv = vec;
    const batch = this.T * vec.numSlots;
    if (c.minibatchSize > batch) throw new RangeError(`minibatchSize ${c.minibatchSize} is larger than the rollout (${c.numSteps} steps × ${vec.numSlots} slots = ${batch} samples)`);
    this.policy = new ActorCritic(vec.obsSize, vec.singleActionSpace, c.hiddenSizes, c.activation, this.rng, c.logStdInit);
    this.width = actionWidth(this.policy.dist);
    // Adam with ε = 1e-5, as SB3 and CleanRL configure it for PPO.
    this.optimizer = tf.train.adam(c.learningRate, 0.9, 0.999, 1e-5);
    this.obsRms = c.normalizeObservation ? new RunningMeanStd(vec.obsSize) : null;
    this.allocate(vec);
  }

  /** The vector env the rollouts run on. */
  get vec(): VecEnvLike {
    return this.vecEnv;
  }

  private allocate(vec: VecEnvLike): void {
    this.S = vec.numSlots;
    const batch = this.T * this.S;
    this.bufObs = new Float32Array(batch * vec.obsSize);
    this.bufActions = new Float32Array(batch * this.width);
    this.bufLogProbs = new Float32Array(batch);
    this.bufValues = new Float32Array(batch);
    this.bufRewards = new Float32Array(batch);
    this.bufDones = new Uint8Array(batch);
    this.bufBootstrap = new Float32Array(batch);
    this.bufValid = new Uint8Array(batch);
    this.advantages = new Float32Array(batch);
    this.returns = new Float32Array(batch);
    this.normObs = new Float32Array(this.S * vec.obsSize);
    this.nativeReturn = new Float64Array(this.S);
    this.specReturnSlot = new Float64Array(this.S);
    this.episodeComponentSlot.clear();
    this.stepActions = { actions: new Float32Array(this.S * this.width), envActions: vec.createActionBuffer(), logProbs: new Float32Array(this.S) };
  }

  /**
   * Continues on another vector env of the same env and spaces (a run whose sim workers changed between
   * rollouts): the policy, optimizer, statistics and counters carry on; the rollout storage is sized for
   * the new vector, whose envs all start fresh episodes at the next iteration (the unfinished episodes of
   * the old one are not counted). The caller owns and closes the old vector.
   */
  replaceVec(vec: VecEnvLike): void {
    const old = this.vecEnv;
    if (vec.obsSize !== old.obsSize || vec.numAgents !== old.numAgents || JSON.stringify(vec.singleActionSpace) !== JSON.stringify(old.singleActionSpace)) {
      throw new TypeError(`PpoTrainer.replaceVec: the new vector (${vec.envId}: ${vec.obsSize} observations, ${vec.numAgents} agent slots) does not match the old one (${old.envId}: ${old.obsSize}, ${old.numAgents})`);
    }
    this.vecEnv = vec;
    this.allocate(vec);
    this.currentObsView = null;
    this.started = false;
    this.rolloutRates = {};
    this.rolloutProbes = 0;
    this.keptRollout = null;
    this.options.opponent?.resize?.(vec);
  }

  /** Slot steps per rollout second of the last two rollouts of each mode (`rollout: 'auto'`). */
  private rolloutRates: Partial<Record<'pipelined' | 'synchronous', number[]>> = {};
  private chooseRollout(): 'pipelined' | 'synchronous' {
    const vec = this.vecEnv;
    const opponent = this.options.opponent;
    const canPipeline = isGrouped(vec) && (!opponent || (opponent.actSlots !== undefined && opponent.observeGroup !== undefined));
    const wanted = this.options.rollout ?? 'auto';
    if (!canPipeline || wanted === 'synchronous') return 'synchronous';
    if (wanted === 'pipelined') return 'pipelined';
    // The first rollout warms up; the next two are timed pipelined, the two after synchronous; then the
    // faster is used, and every ROLLOUT_PROBE_EVERY rollouts the other one is timed again.
    const n = this.rolloutProbes;
    this.rolloutProbes += 1;
    if (n === 0) return 'synchronous';
    if (n <= 2) return 'pipelined';
    if (n <= 4) return 'synchronous';
    const rate = (m: 'pipelined' | 'synchronous'): number => {
      const xs = this.rolloutRates[m] ?? [];
      return xs.length ? xs.reduce((x, y) => x + y, 0) / xs.length : 0;
    };
    // The choice is made after the timed rollouts (and after each probe of the other mode) and kept in
    // between, so a passing change of load does not flip it. Single rollouts vary by ±20 % here:
    // synchronous must be clearly faster to win.
    if (n === 5 || n % ROLLOUT_PROBE_EVERY === 1 || this.keptRollout === null) {
      this.keptRollout = rate('synchronous') > PIPELINE_MARGIN * rate('pipelined') ? 'synchronous' : 'pipelined';
    }
    if (n % ROLLOUT_PROBE_EVERY === 0) return this.keptRollout === 'pipelined' ? 'synchronous' : 'pipelined';
    return this.keptRollout;
  }

  /** The mode `rollout: 'auto'` chose at its last decision. */
  private keptRollout: 'pipelined' | 'synchronous' | null = null;

  /** Rollouts since the vector was set (`rollout: 'auto'`'s schedule). */
  private rolloutProbes = 0;

  /** The slots an opponent plays in the current rollout (null: the learner plays every slot). */
  private external: Uint8Array | null = null;

  /** Agent steps one iteration collects (controlled slots only). */
  get stepsPerIteration(): number {
    const external = this.external ? this.external.reduce((a, b) => a + b, 0) : 0;
    return this.T * (this.S - external);
  }

  /** Normalises observations in place into `out` (updating the running statistics when asked). */
  normalize(obs: Float32Array, rows: number, out: Float32Array, update: boolean): Float32Array {
    const rms = this.obsRms;
    if (!rms) {
      out.set(obs.subarray(0, rows * this.vec.obsSize));
      return out;
    }
    if (update) rms.update(obs, rows);
    return normalizeObservations(obs, rows, this.vec.obsSize, rms.mean, rms.var, this.config.clipObservation, out);
  }

  private progress(): number {
    return Math.min(1, this.globalStep / Math.max(1, this.options.totalSteps));
  }

  /** One PPO iteration: rollout, advantages, optimisation. */
  async iterate(): Promise<IterationMetrics> {
    const c = this.config;
    const { T, S, vec } = this;
    const obsSize = vec.obsSize;
    const opponent = this.options.opponent;

    // --- anneal ----------------------------------------------------------------------------------
    const frac = 1 - this.progress();
    const lr = c.annealLr ? c.learningRate * frac : c.learningRate;
    (this.optimizer as unknown as { learningRate: number }).learningRate = lr;
    // Floor the annealed clip so that 1 ± ε stay distinct float32 numbers (a run extended past its
    // schedule would otherwise clip the ratio into an empty interval).
    const clipRange = c.annealClip ? Math.max(c.clipRange * frac, 1e-4) : c.clipRange;

    // --- collect rollout ---------------------------------------------------------------------------
    const rolloutStart = performance.now();
    if (!this.started) {
      const first = await vec.reset({ seed: this.rng.nextSeed() % 2 ** 31 });
      this.currentObsView = first.obs;
      this.started = true;
    }
    this.componentSums.clear();
    this.componentCount = 0;
    this.iteration_.episodes = 0;
    this.iteration_.specReturn = 0;
    this.iteration_.components.clear();
    this.iteration_.metrics.clear();
    this.external = opponent ? await opponent.beginRollout(this.globalStep) : null;
    const logStd = await this.policy.logStdValues();
    const mode = this.chooseRollout();
    if (mode === 'pipelined') await this.collectPipelined(vec as GroupedVecEnv, logStd);
    else {
      for (let t = 0; t < T; t++) {
        const rowObs = this.bufObs.subarray(t * S * obsSize, (t + 1) * S * obsSize);
        this.normalize(this.currentObs(), S, rowObs, true);
        const { head, values } = await this.policy.act(rowObs, S);
        sampleActions(this.policy.dist, head, logStd, S, this.rng, this.stepActions);
        if (this.external && opponent) await opponent.act(this.currentObs(), this.stepActions.envActions, obsSize, vec.actionSize);
        this.bufActions.set(this.stepActions.actions, t * S * this.width);
        this.bufLogProbs.set(this.stepActions.logProbs, t * S);
        this.bufValues.set(values, t * S);
        const result = await vec.step(this.stepActions.envActions);
        opponent?.observe(result);
        this.currentObsView = result.obs;
        await this.recordStep(t, rowsOf(result), 0, S);
      }
    }
    this.globalStep += this.stepsPerIteration;
    const rolloutSeconds = (performance.now() - rolloutStart) / 1000;
    // Slot steps (every slot, the opponent's too: their share varies between rollouts) per second; the
    // first rollout (kernel compilation, connections) is not a fair sample of either mode.
    if (this.rolloutProbes > 1) this.rolloutRates[mode] = [...(this.rolloutRates[mode] ?? []), (T * S) / rolloutSeconds].slice(-2);

    // --- bootstrap and compute advantages ----------------------------------------------------------
    const updateStart = performance.now();
    for (const transform of this.options.transforms ?? []) transform.apply(this.bufRewards, this.bufDones, T, S);
    for (let i = 0; i < T * S; i++) this.bufRewards[i]! += this.bufBootstrap[i]!;
    const lastObs = this.normalize(this.currentObs(), S, this.normObs, false);
    const lastValues = await this.policy.values(lastObs, S);
    computeGae(this.bufRewards, this.bufValues, this.bufDones, lastValues, T, S, c.gamma, c.gaeLambda, this.advantages, this.returns);

    // --- optimise ----------------------------------------------------------------------------------
    const validIdx: number[] = [];
    for (let i = 0; i < T * S; i++) if (this.bufValid[i]) validIdx.push(i);
    const indices = Int32Array.from(validIdx);
    const mbSize = Math.min(c.minibatchSize, indices.length);
    const stats = { policyLoss: 0, valueLoss: 0, entropy: 0, approxKl: 0, clipFraction: 0, gradNorm: 0, n: 0 };
    const mbObs = new Float32Array(mbSize * obsSize);
    const mbActions = new Float32Array(mbSize * this.width);
    const mbOldLogProbs = new Float32Array(mbSize);
    const mbAdv = new Float32Array(mbSize);
    const mbReturns = new Float32Array(mbSize);
    const mbOldValues = new Float32Array(mbSize);
    const variables = this.policy.variables;
    let stopEarly = false;
    for (let epoch = 0; epoch < c.epochs && !stopEarly && mbSize > 0; epoch++) {
      this.rng.shuffle(indices);
      for (let start = 0; start + mbSize <= indices.length; start += mbSize) {
        // Gather the minibatch (and normalise its advantages).
        let advMean = 0;
        for (let k = 0; k < mbSize; k++) {
          const i = indices[start + k]!;
          mbObs.set(this.bufObs.subarray(i * obsSize, (i + 1) * obsSize), k * obsSize);
          mbActions.set(this.bufActions.subarray(i * this.width, (i + 1) * this.width), k * this.width);
          mbOldLogProbs[k] = this.bufLogProbs[i]!;
          mbAdv[k] = this.advantages[i]!;
          mbReturns[k] = this.returns[i]!;
          mbOldValues[k] = this.bufValues[i]!;
          advMean += this.advantages[i]!;
        }
        if (c.normalizeAdvantage && mbSize > 1) {
          advMean /= mbSize;
          let v = 0;
          for (let k = 0; k < mbSize; k++) v += (mbAdv[k]! - advMean) ** 2;
          const std = Math.sqrt(v / (mbSize - 1));
          for (let k = 0; k < mbSize; k++) mbAdv[k] = (mbAdv[k]! - advMean) / (std + 1e-8);
        }
        const out = tf.tidy(() => {
          const mb: MinibatchTensors = {
            obs: tf.tensor2d(mbObs, [mbSize, obsSize]),
            actions: tf.tensor2d(mbActions, [mbSize, this.width]),
            oldLogProbs: tf.tensor1d(mbOldLogProbs),
            advantages: tf.tensor1d(mbAdv),
            returns: tf.tensor1d(mbReturns),
            oldValues: tf.tensor1d(mbOldValues),
          };
          let terms: LossTerms | null = null;
          const { grads } = tf.variableGrads(() => {
            terms = ppoLoss(this.policy, mb, clipRange, c.clipRangeVf, c.entCoef, c.vfCoef);
            // variableGrads runs this in a tidy of its own: keep the diagnostics for the stack below.
            for (const d of [terms.policyLoss, terms.valueLoss, terms.entropy, terms.approxKl, terms.clipFraction]) tf.keep(d);
            return terms.loss;
          }, variables);
          const { clipped, norm } = clipByGlobalNorm(grads, c.maxGradNorm);
          this.optimizer.applyGradients(clipped as never);
          const t = terms! as LossTerms;
          const diagnostics = [t.policyLoss, t.valueLoss, t.entropy, t.approxKl, t.clipFraction];
          const packed = tf.stack([...diagnostics, norm, t.loss]);
          for (const d of diagnostics) d.dispose(); // kept past variableGrads' own tidy, below
          return packed;
        });
        const v = await out.data();
        out.dispose();
        if (!Number.isFinite(v[6]!)) throw new TrainingDivergedError(this.globalStep, 'the PPO loss');
        if (!Number.isFinite(v[5]!)) throw new TrainingDivergedError(this.globalStep, 'the gradient norm');
        stats.policyLoss += v[0]!;
        stats.valueLoss += v[1]!;
        stats.entropy += v[2]!;
        stats.approxKl += v[3]!;
        stats.clipFraction += v[4]!;
        stats.gradNorm += v[5]!;
        stats.n += 1;
        if (c.targetKl !== null && v[3]! > 1.5 * c.targetKl) {
          stopEarly = true;
          break;
        }
      }
    }
    await this.assertFiniteParameters();
    const updateSeconds = (performance.now() - updateStart) / 1000;
    this.iteration += 1;

    // --- log ---------------------------------------------------------------------------------------
    const n = Math.max(1, stats.n);
    const recent = this.recentEpisodes;
    const successes = recent.filter((e) => e.isSuccess !== undefined);
    const components: Record<string, number> = {};
    for (const [name, sum] of this.componentSums) components[name] = sum / Math.max(1, this.componentCount);
    const it = this.iteration_;
    const episodeComponents: Record<string, number> = {};
    const taskMetrics: Record<string, number> = {};
    if (it.episodes > 0) for (const [name, sum] of it.components) episodeComponents[name] = sum / it.episodes;
    for (const [name, { sum, n: count }] of it.metrics) taskMetrics[name] = sum / count;
    return {
      iteration: this.iteration,
      step: this.globalStep,
      meanReturn: recent.length ? recent.reduce((a, e) => a + e.return, 0) / recent.length : null,
      meanLength: recent.length ? recent.reduce((a, e) => a + e.length, 0) / recent.length : null,
      successRate: successes.length ? successes.filter((e) => e.isSuccess).length / successes.length : null,
      episodes: this.episodesSeen,
      rewardComponents: components,
      episodeComponents,
      specReturn: it.episodes > 0 ? it.specReturn / it.episodes : null,
      taskMetrics,
      iterationEpisodes: it.episodes,
      policyLoss: stats.policyLoss / n,
      valueLoss: stats.valueLoss / n,
      entropy: stats.entropy / n,
      approxKl: stats.approxKl / n,
      clipFraction: stats.clipFraction / n,
      explainedVariance: explainedVariance(this.bufValues, this.returns, this.bufValid),
      gradNorm: stats.gradNorm / n,
      learningRate: lr,
      stepsPerSecond: this.stepsPerIteration / (rolloutSeconds + updateSeconds),
      rollout: mode,
      rolloutSeconds,
      updateSeconds,
    };
  }

  private currentObsView: Float32Array | null = null;
  private currentObs(): Float32Array {
    if (!this.currentObsView) throw new Error('PpoTrainer: the vector env has not been reset');
    return this.currentObsView;
  }

  /**
   * The rollout of a grouped vector (EnvPool's async send / recv): each group is sent its actions, and
   * a group that answers is recorded and sent its next actions at once, so the policy's inference for
   * one group overlaps the simulation of the others (a worker's other group waits queued at the worker,
   * which therefore never idles on the network). Every group makes exactly T steps; group k's row t
   * holds its t-th step, as in the synchronous rollout. Each group samples from its own generator
   * (seeded from the trainer's), so its actions do not depend on the order in which groups answer.
   */
  private async collectPipelined(vec: GroupedVecEnv, logStd: Float32Array | null): Promise<void> {
    const { T, S, width } = this;
    const opponent = this.options.opponent;
    const O = vec.obsSize;
    let slot = 0;
    const groups = vec.parts.map((part) => {
      const g = { s0: slot, n: part.numSlots, t: 0, rng: new Rng(this.rng.nextSeed()), out: { actions: new Float32Array(part.numSlots * width), envActions: part.createActionBuffer(), logProbs: new Float32Array(part.numSlots) } };
      slot += part.numSlots;
      return g;
    });
    const act = async (k: number): Promise<void> => {
      const g = groups[k]!;
      const at = g.t * S + g.s0;
      const rowObs = this.bufObs.subarray(at * O, (at + g.n) * O);
      this.normalize(this.currentObs().subarray(g.s0 * O, (g.s0 + g.n) * O), g.n, rowObs, true);
      const { head, values } = await this.policy.act(rowObs, g.n);
      sampleActions(this.policy.dist, head, logStd, g.n, g.rng, g.out);
      if (this.external && opponent) await opponent.actSlots!(this.currentObs().subarray(g.s0 * O, (g.s0 + g.n) * O), g.out.envActions, g.s0, g.n, O, vec.actionSize, g.rng);
      this.bufActions.set(g.out.actions, at * width);
      this.bufLogProbs.set(g.out.logProbs, at);
      this.bufValues.set(values, at);
      vec.sendGroup(k, g.out.envActions);
    };
    for (let k = 0; k < groups.length; k++) await act(k);
    for (let inFlight = groups.length; inFlight > 0; ) {
      const r = await vec.recvGroup();
      const g = groups[r.group]!;
      opponent?.observeGroup!(r);
      await this.recordStep(g.t, r, g.s0, g.n);
      g.t += 1;
      if (g.t < T) await act(r.group);
      else inFlight -= 1;
    }
  }

  /**
   * Stores one step's rewards and flags of slots s0 … s0 + n − 1 at row t, folds truncation bootstraps
   * into rewards, tracks episodes. `r`'s arrays start at slot s0 (and env s0 / numAgents).
   */
  private async recordStep(t: number, r: StepRows, s0: number, n: number): Promise<void> {
    const { S, vec } = this;
    const obsSize = vec.obsSize;
    const A = vec.numAgents;
    const external = this.external;
    const truncatedRows: number[] = [];
    for (let j = 0; j < n; j++) {
      const s = s0 + j;
      const i = t * S + s;
      const isReset = r.autoreset[Math.floor(j / A)] === 1; // next-step autoreset: the action was ignored
      this.bufValid[i] = isReset || (external && external[s]) ? 0 : 1;
      this.bufRewards[i] = r.rewards[j]!;
      this.bufDones[i] = r.terminated[j] || r.truncated[j] ? 1 : 0;
      this.bufBootstrap[i] = 0;
      if (r.truncated[j] && !r.terminated[j]) truncatedRows.push(j);
    }
    // A time limit is not a terminal state: bootstrap with γ·V(final observation) (SB3's handling).
    if (truncatedRows.length) {
      const finals = new Float32Array(truncatedRows.length * obsSize);
      truncatedRows.forEach((j, k) => finals.set(r.finalObs.subarray(j * obsSize, (j + 1) * obsSize), k * obsSize));
      const v = await this.policy.values(this.normalize(finals, truncatedRows.length, new Float32Array(finals.length), false), truncatedRows.length);
      truncatedRows.forEach((j, k) => (this.bufBootstrap[t * S + s0 + j] = this.config.gamma * v[k]!));
    }
    // The env's own return, for reporting: a reward spec replaces the reward, and says what the env paid.
    for (let j = 0; j < n; j++) {
      const native = stepInfo(r.envInfos?.[Math.floor(j / A)]).nativeReward as number[] | undefined;
      this.nativeReturn[s0 + j]! += native ? native[(s0 + j) % A]! : r.rewards[j]!;
    }
    for (let j = 0; j < n; j++) if (r.autoreset[Math.floor(j / A)] !== 1) this.specReturnSlot[s0 + j]! += r.rewards[j]!;
    (r.envInfos ?? []).forEach((info, k) => {
      const comps = stepInfo(info).rewardComponents as Record<string, ArrayLike<number>> | undefined;
      if (!comps) return;
      for (const [name, values] of Object.entries(comps)) {
        let slots = this.episodeComponentSlot.get(name);
        if (!slots) this.episodeComponentSlot.set(name, (slots = new Float64Array(S)));
        for (let a = 0; a < values.length && a < A; a++) slots[s0 + k * A + a]! += values[a]!;
      }
    });
    for (const ep of r.episodes) {
      const s = ep.env * vec.numAgents + ep.agent;
      const episodeReturn = this.nativeReturn[s]!;
      this.nativeReturn[s] = 0;
      const specReturn = this.specReturnSlot[s]!;
      this.specReturnSlot[s] = 0;
      const it = this.iteration_;
      const learner = !(external && external[s]);
      for (const [name, slots] of this.episodeComponentSlot) {
        if (learner) it.components.set(name, (it.components.get(name) ?? 0) + slots[s]!);
        slots[s] = 0;
      }
      if (!learner) continue;
      it.episodes += 1;
      it.specReturn += specReturn;
      for (const [name, value] of Object.entries(episodeTaskMetrics(ep))) {
        const m = it.metrics.get(name);
        if (m) (m.sum += value), (m.n += 1);
        else it.metrics.set(name, { sum: value, n: 1 });
      }
      this.episodesSeen += 1;
      this.recentEpisodes.push({ return: episodeReturn, length: ep.length, ...(ep.isSuccess !== undefined ? { isSuccess: ep.isSuccess } : {}) });
      if (this.recentEpisodes.length > RECENT_EPISODES) this.recentEpisodes.shift();
    }
    (r.envInfos ?? []).forEach((info, k) => {
      const means = learnerComponentMeans(stepInfo(info).rewardComponents as Record<string, number[]> | undefined, external, s0 + k * A);
      if (!means) return;
      for (const [name, mean] of Object.entries(means)) this.componentSums.set(name, (this.componentSums.get(name) ?? 0) + mean);
      this.componentCount += 1;
    });
  }

  private async assertFiniteParameters(): Promise<void> {
    const flags = tf.tidy(() => tf.stack(this.policy.variables.map((v) => tf.all(tf.isFinite(v)))));
    const finite = await flags.data();
    flags.dispose();
    const bad = finite.findIndex((f) => !f);
    if (bad >= 0) throw new TrainingDivergedError(this.globalStep, `parameter ${this.policy.variables[bad]!.name}`);
  }

  getState(): TrainerState {
    return {
      iteration: this.iteration,
      globalStep: this.globalStep,
      rng: this.rng.getState(),
      obsRms: this.obsRms ? this.obsRms.toJSON() : null,
      recentEpisodes: this.recentEpisodes.map((e) => ({ ...e })),
      episodesSeen: this.episodesSeen,
      nativeReturn: Array.from(this.nativeReturn),
      specReturn: Array.from(this.specReturnSlot),
      episodeComponents: Object.fromEntries([...this.episodeComponentSlot].map(([name, slots]) => [name, Array.from(slots)])),
      transforms: (this.options.transforms ?? []).map((t) => t.getState?.() ?? null),
    };
  }

  setState(state: TrainerState): void {
    this.iteration = state.iteration;
    this.globalStep = state.globalStep;
    this.rng.setState(state.rng);
    if (this.obsRms && state.obsRms) {
      this.obsRms.mean.set(state.obsRms.mean);
      this.obsRms.var.set(state.obsRms.var);
      this.obsRms.count = state.obsRms.count;
    }
    this.recentEpisodes = state.recentEpisodes.map((e) => ({ ...e }));
    this.episodesSeen = state.episodesSeen;
    // A run resumed on another number of sim workers starts its episodes afresh.
    if (state.nativeReturn && state.nativeReturn.length === this.nativeReturn.length) this.nativeReturn.set(state.nativeReturn);
    if (state.specReturn && state.specReturn.length === this.specReturnSlot.length) this.specReturnSlot.set(state.specReturn);
    this.episodeComponentSlot.clear();
    for (const [name, slots] of Object.entries(state.episodeComponents ?? {})) if (slots.length === this.S) this.episodeComponentSlot.set(name, Float64Array.from(slots));
    (this.options.transforms ?? []).forEach((t, i) => {
      const s = state.transforms?.[i];
      if (s !== undefined && s !== null) t.setState?.(s);
    });
  }

  /** Plugs in (or removes) the controller of opponent slots, e.g. self-play. */
  setOpponent(opponent: OpponentController | undefined): void {
    (this.options as { opponent?: OpponentController }).opponent = opponent;
  }

  /** Continues from a restored vector env whose current observations are `obs` (exact resume). */
  resumeFrom(obs: Float32Array): void {
    this.currentObsView = obs;
    this.started = true;
  }

  dispose(): void {
    this.policy.dispose();
    this.optimizer.dispose();
  }
}

/**
 * One env step's reward components (`values[a]` for agent a) averaged over the agents whose slots learn:
 * slot `firstSlot + a` is left out where `external` marks it. Null when the step reports no components
 * or no agent of the env learns.
 */
export function learnerComponentMeans(components: Record<string, ArrayLike<number>> | undefined, external: Uint8Array | null, firstSlot: number): Record<string, number> | null {
  if (!components) return null;
  const out: Record<string, number> = {};
  let any = false;
  for (const [name, values] of Object.entries(components)) {
    let sum = 0;
    let n = 0;
    for (let a = 0; a < values.length; a++) {
      if (external && external[firstSlot + a]) continue;
      sum += values[a]!;
      n += 1;
    }
    if (n === 0) continue;
    out[name] = sum / n;
    any = true;
  }
  return any ? out : null;
}

/** The info of the step itself (same-step autoreset nests the ending step's info under `final`). */
export function stepInfo(info: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!info) return {};
  return (info.final as Record<string, unknown> | undefined) ?? info;
}

/** 1 − Var(R − V) / Var(R) over the valid samples (CleanRL's diagnostic; NaN when Var(R) = 0). */
export function explainedVariance(values: Float32Array, returns: Float32Array, valid: Uint8Array): number {
  let n = 0, meanR = 0, meanD = 0;
  for (let i = 0; i < values.length; i++) if (valid[i]) (n += 1), (meanR += returns[i]!), (meanD += returns[i]! - values[i]!);
  if (n < 2) return NaN;
  meanR /= n;
  meanD /= n;
  let varR = 0, varD = 0;
  for (let i = 0; i < values.length; i++) if (valid[i]) (varR += (returns[i]! - meanR) ** 2), (varD += (returns[i]! - values[i]! - meanD) ** 2);
  return varR === 0 ? NaN : 1 - varD / varR;
}
