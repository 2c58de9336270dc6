/**
 * Task metrics: what an episode achieved, measured by the env and independent of any reward spec
 * (touches and goals in carball, success and the object's distance to its goal in manipulation, clicks
 * and spend in bidding, the episode's length in CartPole). They sit beside the reward so that a user sees
 * whether a rising return is a better agent or a reward being farmed.
 *
 * The contract: an env reports the episode-so-far values on every step, as `info.taskMetrics` (a
 * single-agent env) or `info.agents[slot].taskMetrics` (a multi-agent env), a record of finite
 * numbers; the vector envs copy the ending step's record into `FinishedEpisode.metrics`. `length` is
 * every env's: it comes from the episode's length, not from the env's info. The registration names
 * the metrics, and whether more is better, so that trends can be judged (`taskMetricSpecs`).
 */
import type { Info } from './env';

export interface TaskMetricSpec {
  readonly name: string;
  readonly description: string;
  /** Which way is better: more, less, or neither (a quantity to watch, such as spend). */
  readonly better: 'higher' | 'lower' | null;
  readonly unit?: string;
}

/** The episode length, which every env has (`FinishedEpisode.length`). */
export const LENGTH_METRIC: TaskMetricSpec = { name: 'length', description: 'steps in the episode', better: null, unit: 'steps' };

/** `success`, from `FinishedEpisode.isSuccess`, for envs that report `info.isSuccess`. */
export const SUCCESS_METRIC: TaskMetricSpec = { name: 'success', description: 'share of episodes that ended in success (info.isSuccess)', better: 'higher' };

/** The ending step's metrics of one agent slot: `info.agents[agent].taskMetrics`, else `info.taskMetrics`. */
export function stepTaskMetrics(info: Info | undefined, agent: number): Record<string, number> | undefined {
  if (!info) return undefined;
  const agents = info.agents as { taskMetrics?: unknown }[] | undefined;
  const m = (Array.isArray(agents) ? agents[agent]?.taskMetrics : undefined) ?? info.taskMetrics;
  if (!m || typeof m !== 'object') return undefined;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m as Record<string, unknown>)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

/** The metrics of a finished episode as a flat record: the env's own, plus `length` and `success`. */
export function episodeTaskMetrics(ep: { length: number; isSuccess?: boolean; metrics?: Record<string, number> }): Record<string, number> {
  return { ...(ep.metrics ?? {}), length: ep.length, ...(ep.isSuccess !== undefined ? { success: ep.isSuccess ? 1 : 0 } : {}) };
}

/** A name check for metric specs (registration time). */
export function validateTaskMetricSpecs(envId: string, specs: readonly TaskMetricSpec[]): void {
  const seen = new Set<string>();
  for (const s of specs) {
    if (!s || typeof s.name !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(s.name)) throw new TypeError(`registerEnv(${envId}): task metric names are identifiers, got ${JSON.stringify(s?.name)}`);
    if (seen.has(s.name)) throw new TypeError(`registerEnv(${envId}): task metric ${s.name} is named twice`);
    if (s.better !== 'higher' && s.better !== 'lower' && s.better !== null) throw new TypeError(`registerEnv(${envId}): task metric ${s.name}: better must be "higher", "lower" or null`);
    seen.add(s.name);
  }
}
