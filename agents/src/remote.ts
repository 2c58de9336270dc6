/**
 * Training over sim workers (`rewardlab train --workers ws://a:9100,ws://b:9100`): a factory usable as
 * `TrainOptions.makeVecEnv` that joins the workers (and optionally some local envs) into one
 * `MultiVecEnv`. The workers decide how many envs they host; the rollout has their sum plus the local
 * ones. Same-step autoreset by default, as the local training path, so every stored transition is real;
 * the steps a lost worker could not take are flagged in `info.autoreset` and masked by the trainer.
 */
import { makeEnv, MultiVecEnv, RemoteVecEnv, VecEnv, type AnyEnv, type AutoresetMode, type MultiVecEnvOptions, type VecEnvLike } from '@rewardlab/sim';
import { parseRewardSpec, withReward } from '@rewardlab/rewards';

export interface RemoteVecEnvFactoryOptions extends MultiVecEnvOptions {
  /** Shared secret of the workers (default: $REWARDLAB_WORKER_TOKEN). */
  token?: string;
  /** Default same-step (the local path's choice). */
  autoreset?: AutoresetMode;
  /** Envs simulated in the trainer's own process next to the workers' (default 0). */
  localEnvs?: number;
  /**
   * The run's reward spec (preset name, file or object; null or absent: the env's own reward). Every
   * worker must apply the same one (`rewardlab sim-worker --reward`), which is checked at connection;
   * the local envs are wrapped with it here.
   */
  reward?: unknown;
  /** Options for the local envs. */
  envOptions?: Record<string, unknown>;
  /** A step answered later than this loses the worker for a while (default 30 000 ms). */
  stepTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Called with the MultiVecEnv once connected (to read its fault counters). */
  onConnect?: (vec: MultiVecEnv) => void;
}

/** Splits `--workers` (comma-separated ws:// or wss:// URLs) into a checked list. */
export function parseWorkerUrls(value: string | readonly string[]): string[] {
  const urls = (typeof value === 'string' ? value.split(',') : [...value]).map((u) => u.trim()).filter(Boolean);
  if (urls.length === 0) throw new TypeError('--workers needs at least one ws://host:port URL');
  for (const u of urls) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new TypeError(`--workers: "${u}" is not a URL (expected ws://host:port)`);
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new TypeError(`--workers: "${u}" must start with ws:// or wss://`);
  }
  return urls;
}

/**
 * A `makeVecEnv(envId, numEnvs)` for `train()`: connects to every worker and checks that each hosts
 * `envId`. `numEnvs` (the trainer's default for the env) is not used: the workers' env counts are.
 */
export function makeRemoteVecEnvFactory(urls: string | readonly string[], options: RemoteVecEnvFactoryOptions = {}): (envId: string, numEnvs: number) => Promise<VecEnvLike> {
  const list = parseWorkerUrls(urls);
  return async (envId: string): Promise<VecEnvLike> => {
    const autoreset = options.autoreset ?? 'same-step';
    const reward = options.reward === undefined || options.reward === null ? null : parseRewardSpec(options.reward);
    const local: VecEnvLike[] = [];
    if (options.localEnvs) {
      const envs: AnyEnv[] = [];
      for (let i = 0; i < options.localEnvs; i++) {
        const env = await makeEnv<AnyEnv>(envId, options.envOptions ?? {});
        envs.push(reward ? withReward(env, reward) : env);
      }
      local.push(new VecEnv(envs, { autoreset }));
    }
    const token = options.token ?? process.env.REWARDLAB_WORKER_TOKEN;
    let vec: MultiVecEnv;
    try {
      vec = await MultiVecEnv.connect(list, { ...options, ...(token ? { token } : {}), autoreset, local });
    } catch (err) {
      await Promise.all(local.map((v) => v.close()));
      throw err;
    }
    const wrong = vec.parts.find((p) => p.envId !== envId);
    if (wrong) {
      await vec.close();
      throw new TypeError(`a sim worker hosts ${wrong.envId}, but the run trains ${envId}`);
    }
    const expected = JSON.stringify(reward ?? undefined);
    const otherReward = vec.parts.find((p): p is RemoteVecEnv => p instanceof RemoteVecEnv && JSON.stringify(p.spec.reward) !== expected);
    if (otherReward) {
      await vec.close();
      const what = (r: unknown): string => (r === undefined || r === null ? "the env's own reward" : 'a reward spec');
      throw new TypeError(`the sim worker ${otherReward.url} pays ${what(otherReward.spec.reward)}${otherReward.spec.reward && reward ? ' that differs from the run\'s' : ''}, but the run trains with ${what(reward)}: start the workers with the run's --reward`);
    }
    options.onConnect?.(vec);
    return vec;
  };
}
