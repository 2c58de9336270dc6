/**
 * The training loop behind `rewardlab train` and the API's runs: build the vector env (registered id or
 * a user's env module), pick the tfjs backend, run PPO iterations with checkpoints, and report the
 * DESIGN.md result (`steps`, `finalMeanReturn`, `finalSuccessRate`, `curve`, `wallSeconds`, `backend`,
 * `policyDir`). Resuming from a checkpoint restores weights, optimizer moments, RNG, counters and (for
 * envs that support snapshots) the envs themselves, so the run continues exactly.
 */
import { appendFile, mkdir, readdir, rm, writeFile, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { carballTeamSize, isMultiAgent, RescaleAction, loadEnvModule, makeEnv, makeHostedVecEnv, registeredEnvIds, registerEnv, Rng, VecEnv, type AnyEnv, type CarballState, type VecEnvLike, numAgentsOf } from '@rewardlab/sim';
import { selectBackend, type BackendPreference } from './backend';
import { parsePpoConfig, PPO_PRESETS, ConfigError, type PpoConfig, type PpoConfigInput } from './config';
import { ActorCritic, normalizeObservations, PpoTrainer, type IterationMetrics, type RewardTransformLike, type RolloutMode } from './ppo';
import { actionWidth, sampleActions } from './distributions';
import { makeRemoteVecEnvFactory, membershipOf, workerStatsOf, type WorkerStats } from './remote';
import { OpponentPool, ScriptedOpponent, SELF_PLAY_DEFAULTS, SelfPlayController, type CarballOpponent, type GameResults, type ScriptedResults, type SelfPlayConfig } from './selfplay';
import { createReturnTransforms, isStatefulVecEnv, parseRewardSpec, withReward, withVecReward, type RewardSpec } from '@rewardlab/rewards';
import { CheckpointError, evaluationEnvOptions, jsonEnvOptions, loadPolicyWeights, loadSelfPlayWeights, loadTrainerState, readPolicyFile, savePolicy, saveSelfPlayWeights, saveTrainerState, type PolicyFile } from './checkpoint';

export interface TrainOptions {
  env?: string;
  envModule?: string;
  envOptions?: Record<string, unknown>;
  algo?: string;
  steps?: number;
  seed?: number;
  numEnvs?: number;
  backend?: BackendPreference;
  /** Run directory: checkpoints go to OUT/checkpoints/step-N, the final policy to OUT/policy. */
  out?: string;
  ppo?: PpoConfigInput;
  /** Save a checkpoint every this many iterations (0: only at the end). */
  checkpointEvery?: number;
  /** Continue from this checkpoint directory. */
  resume?: string;
  /** Reward spec (preset name, JSON file path or object) replacing the env's reward; default: the env preset's, else the env's own. */
  reward?: unknown;
  /**
   * Self-play against an opponent pool for two-team envs (carball): true/false, or settings. Default:
   * on for carball (two teams of equal size).
   */
  selfPlay?: boolean | Partial<Omit<SelfPlayConfig, 'teamSize'>>;
  /**
   * Carball: train team 0 against a scripted opponent (uniformly random actions, or the ball chaser)
   * instead of self-play. Only team 0's steps count.
   */
  opponent?: CarballOpponent;
  /** Let the policy act in [−1, 1] on bounded box action spaces, rescaled onto the env's bounds (Gymnasium's RescaleAction). */
  rescaleActions?: boolean;
  /** Apply RL Zoo's tuned hyperparameters for the env when there are some (default true). */
  usePreset?: boolean;
  /** Called once the run is set up, with what it resolved (total steps, backend, hyperparameters). */
  onStart?: (info: { env: string; totalSteps: number; numEnvs: number; backend: string; config: PpoConfig; runDir: string }) => void;
  /** Called after each iteration; a returned promise is awaited before the next one. */
  onIteration?: (m: IterationMetrics) => unknown;
  onCheckpoint?: (dir: string, step: number) => void;
  signal?: AbortSignal;
  /**
   * Sim worker URLs (`--workers`): the rollout runs on these workers' envs (agents/src/remote.ts). A
   * dns://HOST:PORT entry is every address of HOST, resolved again before each rollout.
   */
  workers?: string[];
  /** dns:// workers: how long to wait for the first one (default 60 000 ms). */
  discoveryTimeoutMs?: number;
  /** Over sim workers: pipelined, synchronous or (default) auto-timed rollouts (`PpoTrainerOptions.rollout`). */
  rollout?: RolloutMode;
  /** Builds the vector env instead of the default local VecEnv (remote workers, carball arenas). */
  makeVecEnv?: (envId: string, numEnvs: number) => Promise<VecEnvLike>;
}

export interface TrainResult {
  env: string;
  algo: 'ppo';
  steps: number;
  iterations: number;
  finalMeanReturn: number | null;
  finalSuccessRate: number | null;
  curve: [number, number][];
  wallSeconds: number;
  backend: string;
  policyDir: string;
  seed: number;
  stopped: boolean;
  resumedFrom?: string;
  /** Self-play: the pool's Elo ratings and the results against past snapshots. */
  selfPlay?: ReturnType<OpponentPool['toJSON']> & GameResults;
  /** Games against the scripted opponent (`opponent`), and team 0's touches over the whole run. */
  opponent?: { kind: CarballOpponent } & ScriptedResults;
  /** Training over sim workers: the workers at the end, and how many were lost, rejoined, joined and left. */
  workers?: WorkerStats;
}

const ALGOS = ['ppo'];

async function resolveEnv(options: TrainOptions): Promise<string> {
  if (options.envModule) {
    const mod = await loadEnvModule(options.envModule);
    if (!registeredEnvIds().includes(mod.id)) registerEnv(mod.id, mod.factory);
    return mod.id;
  }
  if (!options.env) throw new ConfigError('give an env id (--env) or an env module (--env-module)');
  return options.env;
}

async function buildVecEnv(envId: string, numEnvs: number, options: TrainOptions, reward: RewardSpec | null): Promise<VecEnvLike> {
  if (options.makeVecEnv) return options.makeVecEnv(envId, numEnvs);
  if (options.workers?.length) {
    if (options.rescaleActions) throw new ConfigError('--rescale-actions is not applied on sim workers; leave it out with --workers');
    return makeRemoteVecEnvFactory(options.workers, { reward, envOptions: options.envOptions, ...(options.discoveryTimeoutMs !== undefined ? { discoveryTimeoutMs: options.discoveryTimeoutMs } : {}) })(envId, numEnvs);
  }
  // Carball: every arena in one Rapier world (CarballVecEnv, several times faster than a world per env),
  // with the reward spec applied to the vector. Next-step autoreset there: the ending step is scored on
  // the final state, and the reset step after it is masked by the trainer.
  if (carballTeamSize(envId) !== null) {
    const vec = await makeHostedVecEnv(envId, numEnvs, { ...(options.envOptions ?? {}), autoreset: 'next-step' });
    if (!reward) return vec;
    if (!isStatefulVecEnv(vec)) throw new Error(`${envId}: the hosted vector does not expose its states`);
    return withVecReward(vec, reward);
  }
  const envs: AnyEnv[] = [];
  for (let i = 0; i < numEnvs; i++) {
    let env = await makeEnv<AnyEnv>(envId, options.envOptions ?? {});
    if (reward) env = withReward(env, reward);
    if (options.rescaleActions && env.actionSpace.kind === 'box') env = new RescaleAction(env) as unknown as AnyEnv;
    envs.push(env);
  }
  // Same-step autoreset: every stored transition is a real one (no ignored reset steps to mask).
  return new VecEnv(envs, { autoreset: 'same-step' });
}

async function keepLatestCheckpoints(dir: string, keep: number): Promise<void> {
  const entries = (await readdir(dir).catch(() => [] as string[])).filter((d) => /^step-\d+$/.test(d));
  entries.sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  for (const old of entries.slice(0, Math.max(0, entries.length - keep))) await rm(join(dir, old), { recursive: true, force: true });
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const algo = options.algo ?? 'ppo';
  if (!ALGOS.includes(algo)) throw new ConfigError(`unknown algorithm "${algo}" (available: ${ALGOS.join(', ')})`);
  const envId = await resolveEnv(options);
  const preset = options.usePreset === false ? undefined : PPO_PRESETS[envId];
  const seed = options.seed ?? 0;
  const totalSteps = options.steps ?? preset?.steps ?? 1_000_000;
  const numEnvs = options.numEnvs ?? preset?.numEnvs ?? 8;
  if (preset?.envOptions) options = { ...options, envOptions: { ...preset.envOptions, ...(options.envOptions ?? {}) } };
  if (!Number.isSafeInteger(totalSteps) || totalSteps <= 0) throw new ConfigError(`steps must be a positive integer, got ${totalSteps}`);
  if (!Number.isSafeInteger(numEnvs) || numEnvs <= 0) throw new ConfigError(`numEnvs must be a positive integer, got ${numEnvs}`);
  const config = parsePpoConfig({ ...(preset?.ppo ?? {}), ...(options.ppo ?? {}) });
  const rewardInput = options.reward ?? preset?.reward;
  const reward = rewardInput === undefined ? null : parseRewardSpec(rewardInput);
  const backend = await selectBackend(options.backend ?? 'auto');

  let resumeFile: Awaited<ReturnType<typeof readPolicyFile>> | null = null;
  if (options.resume) {
    resumeFile = await readPolicyFile(options.resume);
    if (resumeFile.envId !== envId) throw new CheckpointError(`the checkpoint ${options.resume} was trained on ${resumeFile.envId}, not ${envId}`);
  }

  let vec = await buildVecEnv(envId, numEnvs, options, reward);
  const membership = membershipOf(vec);
  const out = resolve(options.out ?? join('runs', `${envId.replace(/[^A-Za-z0-9_.-]/g, '_')}-${seed}-${Date.now()}`));
  const checkpointsDir = join(out, 'checkpoints');
  // One JSON line of IterationMetrics per iteration (a resumed run appends to its own run directory).
  const metricsFile = join(out, 'metrics.jsonl');
  await mkdir(checkpointsDir, { recursive: true });
  const transforms: RewardTransformLike[] = reward ? createReturnTransforms(reward, { gamma: config.gamma }) : [];
  const trainer = new PpoTrainer(vec, { config, seed, totalSteps, transforms, ...(options.rollout ? { rollout: options.rollout } : {}) });
  const twoTeams = vec.numAgents % 2 === 0 && vec.numAgents >= 2 && envId.startsWith('carball');
  let selfPlay: SelfPlayController | null = null;
  let scripted: ScriptedOpponent | null = null;
  if (options.opponent !== undefined) {
    if (options.opponent !== 'random' && options.opponent !== 'ball-chaser') throw new ConfigError(`opponent must be random or ball-chaser, got ${JSON.stringify(options.opponent)}`);
    if (!twoTeams) throw new ConfigError(`a scripted opponent needs a two-team carball env; ${envId} has ${vec.numAgents} agent slot(s)`);
    if (options.selfPlay) throw new ConfigError('give either a scripted opponent or self-play, not both');
    scripted = new ScriptedOpponent(options.opponent, vec as VecEnvLike & { getState?: (i: number) => CarballState }, vec.numAgents / 2, seed + 1);
    trainer.setOpponent(scripted);
  } else if (options.selfPlay ?? twoTeams) {
    if (!twoTeams) throw new ConfigError(`self-play needs a two-team env; ${envId} has ${vec.numAgents} agent slot(s)`);
    const settings = typeof options.selfPlay === 'object' ? options.selfPlay : {};
    selfPlay = new SelfPlayController(trainer.policy, vec.numEnvs, vec.numAgents, { ...SELF_PLAY_DEFAULTS, ...settings, teamSize: vec.numAgents / 2 }, seed + 1, (x, rows) => trainer.normalize(x, rows, new Float32Array(x.length), false));
    trainer.setOpponent(selfPlay);
  }
  const curve: [number, number][] = [];
  options.onStart?.({ env: envId, totalSteps, numEnvs: vec.numEnvs, backend: backend.name, config, runDir: out });
  const started = performance.now();
  let stopped = false;
  let lastCheckpoint: string | null = null;

  const savedEnvOptions = jsonEnvOptions(options.envOptions);
  const savePolicyTo = async (dir: string): Promise<void> => {
    await savePolicy(dir, trainer.policy, {
      algo: 'ppo',
      envId,
      observationSpace: vec.singleObservationSpace,
      actionSpace: vec.singleActionSpace,
      numAgents: vec.numAgents,
      obsNormalization: trainer.obsRms ? { ...trainer.obsRms.toJSON(), clip: config.clipObservation } : null,
      ...(reward ? { rewardSpec: reward } : {}),
      ...(savedEnvOptions ? { envOptions: savedEnvOptions } : {}),
      ...(options.rescaleActions ? { rescaleActions: true } : {}),
      step: trainer.globalStep,
      backend: backend.name,
    });
  };
  const checkpoint = async (): Promise<string> => {
    const dir = join(checkpointsDir, `step-${trainer.globalStep}`);
    await savePolicyTo(dir);
    const sp = selfPlay?.getState();
    if (sp) await saveSelfPlayWeights(dir, sp.weights);
    await saveTrainerState(dir, trainer.optimizer, {
      config,
      seed,
      totalSteps,
      state: trainer.getState(),
      vecSnapshot: vec.snapshotSupported && vec.getSnapshot ? vec.getSnapshot() : null,
      curve,
      ...(sp ? { selfPlay: sp.state } : {}),
      ...(scripted ? { opponent: { kind: scripted.kind, ...scripted.getState() } } : {}),
    });
    await writeFile(join(out, 'latest'), dir);
    lastCheckpoint = dir;
    await keepLatestCheckpoints(checkpointsDir, 2);
    options.onCheckpoint?.(dir, trainer.globalStep);
    return dir;
  };

  try {
    if (options.resume && resumeFile) {
      await loadPolicyWeights(options.resume, trainer.policy, resumeFile);
      const state = await loadTrainerState(options.resume, trainer.optimizer);
      trainer.setState(state.state);
      if (selfPlay && state.selfPlay) selfPlay.setState(state.selfPlay, await loadSelfPlayWeights(options.resume, state.selfPlay));
      if (scripted && state.opponent) scripted.setState(state.opponent);
      if (state.vecSnapshot && vec.setSnapshot) {
        const restored = await vec.setSnapshot(state.vecSnapshot);
        trainer.resumeFrom(restored.obs);
      } else {
        // The env cannot be restored: start fresh episodes from a seed drawn from the restored RNG.
        process.stderr.write(`rewardlab: ${envId} does not support snapshots; resuming with fresh episodes\n`);
      }
      curve.push(...state.curve);
    }
    while (trainer.globalStep < totalSteps) {
      if (options.signal?.aborted) {
        stopped = true;
        break;
      }
      if (membership && trainer.iteration > 0) {
        // dns:// workers: take in the ones that appeared, drop the ones that left, between rollouts.
        const next = await membership.refresh(vec as Parameters<typeof membership.refresh>[0]);
        if (next) {
          trainer.replaceVec(next);
          vec = next;
        }
      }
      const m = await trainer.iterate();
      if (scripted) m.opponent = { ...scripted.results };
      const workers = workerStatsOf(vec);
      if (workers) m.workers = workers;
      if (m.meanReturn !== null) curve.push([m.step, m.meanReturn]);
      await options.onIteration?.(m);
      await appendFile(metricsFile, `${JSON.stringify(m)}\n`);
      if (options.checkpointEvery && trainer.iteration % options.checkpointEvery === 0 && trainer.globalStep < totalSteps) await checkpoint();
    }
    await checkpoint();
    const policyDir = join(out, 'policy');
    await savePolicyTo(policyDir);
    const recent = trainer.recentEpisodes;
    const successes = recent.filter((e) => e.isSuccess !== undefined);
    const finalWorkers = workerStatsOf(vec);
    return {
      env: envId,
      algo: 'ppo',
      steps: trainer.globalStep,
      iterations: trainer.iteration,
      finalMeanReturn: recent.length ? recent.reduce((a, e) => a + e.return, 0) / recent.length : null,
      finalSuccessRate: successes.length ? successes.filter((e) => e.isSuccess).length / successes.length : null,
      curve,
      wallSeconds: (performance.now() - started) / 1000,
      backend: backend.name,
      policyDir,
      seed,
      stopped,
      ...(options.resume ? { resumedFrom: options.resume } : {}),
      ...(selfPlay ? { selfPlay: { ...selfPlay.pool.toJSON(), ...selfPlay.results } } : {}),
      ...(scripted ? { opponent: { kind: scripted.kind, ...scripted.results } } : {}),
      ...(finalWorkers ? { workers: finalWorkers } : {}),
    };
  } catch (err) {
    if (lastCheckpoint) (err as Error).message += ` (the last good checkpoint is ${lastCheckpoint})`;
    throw err;
  } finally {
    selfPlay?.dispose();
    trainer.dispose();
    await vec.close();
  }
}

export interface EvalOptions {
  policy: string;
  env?: string;
  envModule?: string;
  episodes?: number;
  seed?: number;
  /** Take the most likely action instead of sampling (default true). */
  deterministic?: boolean;
  backend?: BackendPreference;
}

export interface EvalResult {
  env: string;
  episodes: number;
  meanReturn: number;
  stdReturn: number;
  meanLength: number;
  successRate: number | null;
  returns: number[];
  backend: string;
}

/** Runs a saved policy for N episodes (all agent slots controlled by the policy). */
export async function evaluate(options: EvalOptions): Promise<EvalResult> {
  const backend = await selectBackend(options.backend ?? 'auto');
  const { policy, meta, normalize } = await loadPolicy(options.policy);
  try {
    const envId = options.envModule ? await resolveEnv(options) : options.env ?? meta.envId;
    if (envId !== meta.envId) throw new CheckpointError(`the policy in ${options.policy} was trained on ${meta.envId}, not ${envId}`);
    const episodes = options.episodes ?? 10;
    let env = await makeEnv<AnyEnv>(envId, evaluationEnvOptions(meta));
    if (meta.rescaleActions && env.actionSpace.kind === 'box') env = new RescaleAction(env) as unknown as AnyEnv;
    const vec = new VecEnv([env], { autoreset: 'same-step' });
    if (vec.obsSize !== meta.obsSize) throw new CheckpointError(`the policy expects ${meta.obsSize} observations, ${envId} gives ${vec.obsSize}`);
    const rng = new Rng(options.seed ?? 0);
    const buffers = { actions: new Float32Array(vec.numSlots * actionWidth(policy.dist)), envActions: vec.createActionBuffer(), logProbs: new Float32Array(vec.numSlots) };
    const returns: number[] = [];
    const lengths: number[] = [];
    const success: boolean[] = [];
    let { obs } = await vec.reset({ seed: options.seed ?? 0 });
    const logStd = await policy.logStdValues();
    while (returns.length < episodes) {
      const { head } = await policy.act(normalize(obs, vec.numSlots), vec.numSlots);
      sampleActions(policy.dist, head, logStd, vec.numSlots, rng, buffers, options.deterministic !== false);
      const r = await vec.step(buffers.envActions);
      obs = r.obs;
      for (const ep of r.info.episodes) {
        if (returns.length >= episodes) break;
        returns.push(ep.return);
        lengths.push(ep.length);
        if (ep.isSuccess !== undefined) success.push(ep.isSuccess);
      }
    }
    await vec.close();
    const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
    const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / returns.length);
    return {
      env: envId,
      episodes: returns.length,
      meanReturn: mean,
      stdReturn: std,
      meanLength: lengths.reduce((a, b) => a + b, 0) / lengths.length,
      successRate: success.length ? success.filter(Boolean).length / success.length : null,
      returns,
      backend: backend.name,
    };
  } finally {
    policy.dispose();
  }
}

/** A saved policy ready to act: the network, its metadata and its observation normaliser. */
export async function loadPolicy(dir: string): Promise<{ policy: ActorCritic; meta: PolicyFile; normalize: (obs: Float32Array, rows: number) => Float32Array }> {
  const meta = await readPolicyFile(dir);
  const policy = new ActorCritic(meta.obsSize, meta.actionSpace, meta.hiddenSizes, meta.activation, new Rng(0));
  try {
    await loadPolicyWeights(dir, policy, meta);
  } catch (err) {
    policy.dispose();
    throw err;
  }
  const norm = meta.obsNormalization;
  const normalize = (obs: Float32Array, rows: number): Float32Array => {
    if (!norm) return obs;
    return normalizeObservations(obs, rows, meta.obsSize, norm.mean, norm.var, norm.clip, new Float32Array(rows * meta.obsSize));
  };
  return { policy, meta, normalize };
}

/** The checkpoint a run directory's `latest` file points to. */
export async function latestCheckpoint(runDir: string): Promise<string> {
  try {
    return (await readFile(join(runDir, 'latest'), 'utf8')).trim();
  } catch {
    throw new CheckpointError(`${runDir} has no checkpoint (no 'latest' file)`);
  }
}

export { isMultiAgent, numAgentsOf };
