/**
 * Training over sim workers (`rewardlab train --workers ws://a:9100,ws://b:9100` or
 * `--workers dns://sim-worker:9100`): a factory usable as `TrainOptions.makeVecEnv` that joins the
 * workers (and optionally some local envs) into one `MultiVecEnv`. The workers decide how many envs they
 * host; the rollout has their sum plus the local ones. The autoreset mode is the local training path's
 * (same-step, so every stored transition is real; next-step for carball's arenas, whose reset steps the
 * trainer masks); the steps a lost worker could not take are flagged in `info.autoreset` and masked too.
 *
 * A `dns://HOST:PORT` entry stands for every address HOST resolves to (a Compose service with replicas,
 * a Kubernetes headless Service): the trainer connects to all of them, and at each rollout boundary
 * resolves the name again (`WorkerMembership.refresh`), connecting to addresses that appeared and
 * dropping those that went away. A fixed list of ws:// URLs keeps its members for the whole run.
 */
import { lookup, Resolver } from 'node:dns/promises';
import { carballTeamSize, makeEnv, MultiVecEnv, RemoteVecEnv, VecEnv, type AnyEnv, type AutoresetMode, type MultiVecEnvOptions, type RemoteVecEnvOptions, type VecEnvLike } from '@rewardlab/sim';
import { parseRewardSpec, withReward, type RewardSpec } from '@rewardlab/rewards';

export interface RemoteVecEnvFactoryOptions extends MultiVecEnvOptions {
  /** Shared secret of the workers (default: $REWARDLAB_WORKER_TOKEN). */
  token?: string;
  /** Default: as the local path (next-step for carball, same-step otherwise). */
  autoreset?: AutoresetMode;
  /** Envs simulated in the trainer's own process next to the workers' (default 0). */
  localEnvs?: number;
  /**
   * Builds the local part instead of `localEnvs` plain envs (e.g. one env recorded as replays): it must
   * step `envId` with the given autoreset mode and the run's reward.
   */
  localVec?: (envId: string, autoreset: AutoresetMode) => Promise<VecEnvLike>;
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
  /**
   * dns:// entries: how long the first connection waits for the name to resolve and for one of its
   * workers to answer (default 60 000 ms; workers started with the trainer may take a while).
   */
  discoveryTimeoutMs?: number;
  /** dns:// entries: ask this DNS server (`host:port`) instead of the system's resolver (getaddrinfo). */
  dnsServer?: string;
  /** Called with the MultiVecEnv once connected (to read its fault counters). */
  onConnect?: (vec: MultiVecEnv) => void;
}

/** A dns:// name did not resolve, or none of its workers could be used. */
export class WorkerDiscoveryError extends Error {
  override name = 'WorkerDiscoveryError';
}

/** What a run reports of its workers (`IterationMetrics.workers`, the API's `workerStats`). */
export interface WorkerStats {
  /** Workers (addresses) in the rollout now. */
  parts: number;
  /** Of those, the ones stepping (the others are lost and being reconnected). */
  live: number;
  /** Times a worker was lost mid-run (connection closed, killed, timed out). */
  losses: number;
  /** Times a lost worker came back at the same address. */
  rejoins: number;
  /** Workers that joined after the start (a new address of a dns:// name). */
  joined: number;
  /** Workers dropped because their address left the dns:// name. */
  left: number;
}

const isDns = (u: string): boolean => u.startsWith('dns://');

/** Splits `--workers` (comma-separated ws://, wss:// or dns:// URLs) into a checked list. */
export function parseWorkerUrls(value: string | readonly string[]): string[] {
  const urls = (typeof value === 'string' ? value.split(',') : [...value]).map((u) => u.trim()).filter(Boolean);
  if (urls.length === 0) throw new TypeError('--workers needs at least one ws://host:port or dns://host:port URL');
  for (const u of urls) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new TypeError(`--workers: "${u}" is not a URL (expected ws://host:port or dns://host:port)`);
    }
    if (parsed.protocol === 'dns:') {
      if (!parsed.hostname || !parsed.port) throw new TypeError(`--workers: "${u}" needs a host name and a port (dns://sim-worker:9100)`);
      if ((parsed.pathname && parsed.pathname !== '/') || parsed.search || parsed.username) throw new TypeError(`--workers: "${u}" must be only dns://host:port`);
      continue;
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new TypeError(`--workers: "${u}" must start with ws://, wss:// or dns://`);
  }
  return urls;
}

function describeDnsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOTFOUND') return 'no such name (ENOTFOUND)';
  if (code === 'ENODATA') return 'the name has no addresses (ENODATA)';
  if (code === 'EAI_AGAIN' || code === 'ETIMEOUT') return `the DNS server did not answer (${code})`;
  return (err as Error).message;
}

/**
 * Resolves every dns:// entry to one ws:// URL per address (IPv6 in brackets), keeping ws:// and wss://
 * entries as they are; sorted, without duplicates. A name that does not resolve is reported in
 * `failures` (the others still resolve).
 */
export async function resolveWorkerUrls(entries: readonly string[], options: { dnsServer?: string } = {}): Promise<{ urls: string[]; failures: string[] }> {
  const urls = new Set<string>();
  const failures: string[] = [];
  let resolver: Resolver | null = null;
  if (options.dnsServer) {
    resolver = new Resolver({ timeout: 2000, tries: 2 });
    resolver.setServers([options.dnsServer]);
  }
  await Promise.all(
    entries.map(async (entry) => {
      if (!isDns(entry)) return void urls.add(entry);
      const { hostname, port } = new URL(entry);
      const host = hostname.replace(/^\[|\]$/g, '');
      try {
        let addresses: string[];
        if (resolver) {
          const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
          addresses = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
          if (!addresses.length) throw v4.status === 'rejected' ? v4.reason : new Error('no addresses');
        } else addresses = (await lookup(host, { all: true })).map((a) => a.address);
        for (const a of addresses) urls.add(`ws://${a.includes(':') ? `[${a}]` : a}:${port}`);
      } catch (err) {
        failures.push(`${entry}: cannot resolve "${host}": ${describeDnsError(err)}`);
      }
    }),
  );
  return { urls: [...urls].sort(), failures };
}

/** The checks every worker of a run must pass: the run's env id and reward spec. */
function whyNotUsable(parts: readonly VecEnvLike[], envId: string, reward: RewardSpec | null): string | null {
  const wrong = parts.find((p) => p.envId !== envId);
  if (wrong) return `a sim worker hosts ${wrong.envId}, but the run trains ${envId}`;
  const expected = JSON.stringify(reward ?? undefined);
  const other = parts.find((p): p is RemoteVecEnv => p instanceof RemoteVecEnv && JSON.stringify(p.spec.reward) !== expected);
  if (other) {
    const what = (r: unknown): string => (r === undefined || r === null ? "the env's own reward" : 'a reward spec');
    return `the sim worker ${other.url} pays ${what(other.spec.reward)}${other.spec.reward && reward ? " that differs from the run's" : ''}, but the run trains with ${what(reward)}: start the workers with the run's --reward`;
  }
  return null;
}

type ConnectOptions = RemoteVecEnvOptions & MultiVecEnvOptions;

/**
 * The workers of a run whose `--workers` names a dns:// entry. `refresh` is called between rollouts:
 * it re-resolves, and when the set of addresses changed it builds a new MultiVecEnv from the workers
 * that stayed (their connections kept), the ones that appeared, and the local parts. Workers that went
 * away are closed; a worker of another env or reward is refused with a clear log line (once) and left out.
 */
export class WorkerMembership {
  private readonly refused = new Map<string, string>();
  private base = { losses: 0, rejoins: 0 };
  private joined = 0;
  private left = 0;

  constructor(
    readonly entries: readonly string[],
    private readonly envId: string,
    private readonly reward: RewardSpec | null,
    private readonly connectOptions: ConnectOptions,
    private readonly options: { dnsServer?: string; discoveryTimeoutMs?: number; log?: (line: string) => void } = {},
  ) {}

  private log(line: string): void {
    (this.options.log ?? ((l: string) => process.stderr.write(`rewardlab: ${l}\n`)))(line);
  }

  /** Connects to one worker (all its env groups), checked; null with the reason on failure. */
  private async join(url: string): Promise<{ parts: VecEnvLike[] } | { error: string; refused: boolean }> {
    let parts: VecEnvLike[];
    try {
      parts = await (await MultiVecEnv.connect([url], this.connectOptions)).release();
    } catch (err) {
      const refused = (err as Error).name === 'WorkerRefusedError';
      return { error: (err as Error).message, refused };
    }
    const why = whyNotUsable(parts, this.envId, this.reward);
    if (why) {
      await Promise.all(parts.map((p) => p.close()));
      return { error: why, refused: true };
    }
    return { parts };
  }

  /** Connects to every address that answers; waits for at least one, up to `discoveryTimeoutMs`. */
  async connect(local: VecEnvLike[]): Promise<MultiVecEnv> {
    const deadline = Date.now() + (this.options.discoveryTimeoutMs ?? 60_000);
    let reasons: string[] = [];
    for (let attempt = 0; ; attempt++) {
      const { urls, failures } = await resolveWorkerUrls(this.entries, this.options);
      reasons = [...failures];
      const joined = await Promise.all(urls.map(async (url) => ({ url, r: await this.join(url) })));
      const parts: VecEnvLike[] = [];
      for (const { url, r } of joined) {
        if ('parts' in r) parts.push(...r.parts);
        else {
          reasons.push(r.error);
          if (r.refused) this.refused.set(url, r.error);
        }
      }
      if (parts.length) {
        for (const reason of reasons) this.log(`${reason} (left out; tried again at the next rollouts)`);
        return new MultiVecEnv([...local, ...parts], this.connectOptions);
      }
      // Every worker that answered refused (another env, reward or protocol version): waiting won't help.
      if (urls.length && joined.every(({ r }) => 'error' in r && r.refused)) break;
      if (Date.now() >= deadline) break;
      if (attempt === 0) this.log(`waiting for sim workers at ${this.entries.join(', ')}: ${reasons.join('; ') || 'no address yet'}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new WorkerDiscoveryError(`--workers ${this.entries.join(',')}: no usable sim worker${reasons.length ? `: ${reasons.join('; ')}` : ''}`);
  }

  /** Between rollouts: a new MultiVecEnv when the workers changed, else null (keep `current`). */
  async refresh(current: MultiVecEnv): Promise<MultiVecEnv | null> {
    const { urls, failures } = await resolveWorkerUrls(this.entries, this.options);
    if (failures.length && !urls.length) {
      // A name that stops resolving is more often a DNS hiccup than every worker leaving at once.
      this.log(`${failures.join('; ')}; keeping the current workers`);
      return null;
    }
    const listed = new Set(urls);
    for (const url of this.refused.keys()) if (!listed.has(url)) this.refused.delete(url);
    const present = new Set(current.parts.filter((p): p is RemoteVecEnv => p instanceof RemoteVecEnv).map((p) => p.url));
    const leaving = [...present].filter((u) => !listed.has(u));
    const arriving = urls.filter((u) => !present.has(u) && !this.refused.has(u));
    if (!leaving.length && !arriving.length) return null;
    const added: VecEnvLike[] = [];
    let addedWorkers = 0;
    for (const url of arriving) {
      const r = await this.join(url);
      if ('parts' in r) {
        added.push(...r.parts);
        addedWorkers += 1;
        this.log(`sim worker ${url} joins the rollout (${r.parts.reduce((a, p) => a + p.numEnvs, 0)} envs)`);
      } else {
        if (r.refused) this.refused.set(url, r.error);
        this.log(`${r.error} (left out${r.refused ? '' : '; tried again at the next rollout'})`);
      }
    }
    if (!leaving.length && !added.length) return null;
    if (leaving.length === present.size && !added.length) {
      this.log(`every sim worker left ${this.entries.join(',')} and none joined; keeping the current ones (they are reconnected)`);
      return null;
    }
    this.base = { losses: this.base.losses + current.stats.losses, rejoins: this.base.rejoins + current.stats.rejoins };
    const kept = await current.release();
    const keep = kept.filter((p) => !(p instanceof RemoteVecEnv) || listed.has(p.url));
    await Promise.all(kept.filter((p) => !keep.includes(p)).map((p) => p.close()));
    for (const url of leaving) this.log(`sim worker ${url} left ${this.entries.join(',')}; dropped from the rollout`);
    this.left += leaving.length;
    this.joined += addedWorkers;
    try {
      const next = new MultiVecEnv([...keep, ...added], this.connectOptions);
      memberships.set(next, this);
      return next;
    } catch (err) {
      await Promise.all([...keep, ...added].map((p) => p.close()));
      throw err;
    }
  }

  stats(current: MultiVecEnv): WorkerStats {
    return { ...countWorkers(current), losses: this.base.losses + current.stats.losses, rejoins: this.base.rejoins + current.stats.rejoins, joined: this.joined, left: this.left };
  }
}

function countWorkers(vec: MultiVecEnv): { parts: number; live: number } {
  const byUrl = new Map<string, boolean>();
  vec.parts.forEach((p, k) => {
    if (p instanceof RemoteVecEnv) byUrl.set(p.url, (byUrl.get(p.url) ?? true) && vec.isLive(k));
  });
  return { parts: byUrl.size, live: [...byUrl.values()].filter(Boolean).length };
}

const memberships = new WeakMap<VecEnvLike, WorkerMembership>();

/** The dns:// membership behind a vector made by `makeRemoteVecEnvFactory` (null for fixed lists). */
export function membershipOf(vec: VecEnvLike): WorkerMembership | null {
  return memberships.get(vec) ?? null;
}

/** What the trainer reports of a vector's workers; null when it has none. */
export function workerStatsOf(vec: VecEnvLike): WorkerStats | null {
  if (!(vec instanceof MultiVecEnv)) return null;
  const membership = membershipOf(vec);
  if (membership) return membership.stats(vec);
  if (!vec.parts.some((p) => p instanceof RemoteVecEnv)) return null;
  return { ...countWorkers(vec), losses: vec.stats.losses, rejoins: vec.stats.rejoins, joined: 0, left: 0 };
}

/**
 * A `makeVecEnv(envId, numEnvs)` for `train()`: connects to every worker and checks that each hosts
 * `envId`. `numEnvs` (the trainer's default for the env) is not used: the workers' env counts are.
 */
export function makeRemoteVecEnvFactory(urls: string | readonly string[], options: RemoteVecEnvFactoryOptions = {}): (envId: string, numEnvs: number) => Promise<VecEnvLike> {
  const list = parseWorkerUrls(urls);
  return async (envId: string): Promise<VecEnvLike> => {
    // The local path's choice: carball's arenas step with next-step autoreset (the ending step is scored
    // on the final state; the reset step after it is masked), everything else with same-step.
    const autoreset = options.autoreset ?? (carballTeamSize(envId) !== null ? 'next-step' : 'same-step');
    const reward = options.reward === undefined || options.reward === null ? null : parseRewardSpec(options.reward);
    const local: VecEnvLike[] = [];
    if (options.localVec) local.push(await options.localVec(envId, autoreset));
    else if (options.localEnvs) {
      const envs: AnyEnv[] = [];
      for (let i = 0; i < options.localEnvs; i++) {
        const env = await makeEnv<AnyEnv>(envId, options.envOptions ?? {});
        envs.push(reward ? withReward(env, reward) : env);
      }
      local.push(new VecEnv(envs, { autoreset }));
    }
    const token = options.token ?? process.env.REWARDLAB_WORKER_TOKEN;
    const connectOptions: ConnectOptions = { ...options, ...(token ? { token } : {}), autoreset };
    let vec: MultiVecEnv;
    if (list.some(isDns)) {
      const membership = new WorkerMembership(list, envId, reward, connectOptions, {
        ...(options.dnsServer ? { dnsServer: options.dnsServer } : {}),
        ...(options.discoveryTimeoutMs !== undefined ? { discoveryTimeoutMs: options.discoveryTimeoutMs } : {}),
        ...(options.log ? { log: options.log } : {}),
      });
      try {
        vec = await membership.connect(local);
      } catch (err) {
        await Promise.all(local.map((v) => v.close()));
        throw err;
      }
      memberships.set(vec, membership);
    } else {
      try {
        vec = await MultiVecEnv.connect(list, { ...connectOptions, local });
      } catch (err) {
        await Promise.all(local.map((v) => v.close()));
        throw err;
      }
      const why = whyNotUsable(vec.parts, envId, reward);
      if (why) {
        await vec.close();
        throw new TypeError(why);
      }
    }
    options.onConnect?.(vec);
    return vec;
  };
}
