/**
 * The env registry: `registerEnv(id, factory)` and `makeEnv(id, options)`, as Gymnasium's `register` /
 * `make`. A registration may give `maxEpisodeSteps`, which `makeEnv` applies as a TimeLimit (pass
 * `maxEpisodeSteps: null` in the make options to get the raw env). Factories may be async (Rapier's
 * wasm must load first), so `makeEnv` always returns a promise.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { isMultiAgent, numAgentsOf, type AnyEnv, type Env } from './env';
import { describeValue } from './rng';
import type { Space } from './spaces';
import { TimeLimit } from './wrappers';
import { LENGTH_METRIC, validateTaskMetricSpecs, type TaskMetricSpec } from './task-metrics';

export type EnvFactory = (options: Record<string, unknown>) => AnyEnv | Promise<AnyEnv>;

export interface EnvRegistration {
  readonly id: string;
  readonly factory: EnvFactory;
  readonly maxEpisodeSteps?: number;
  readonly description?: string;
  /** What an episode achieved, whatever the reward (sim/src/task-metrics.ts); `length` is always among them. */
  readonly taskMetrics: readonly TaskMetricSpec[];
}

export interface MakeEnvOptions {
  /** Override the registered episode limit; null disables it. */
  maxEpisodeSteps?: number | null;
  [option: string]: unknown;
}

export class UnknownEnvError extends Error {
  override name = 'UnknownEnvError';
  constructor(
    readonly envId: string,
    readonly registered: readonly string[],
  ) {
    super(`unknown env id ${describeValue(envId)}; registered envs: ${registered.join(', ') || '(none)'}`);
  }
}

const registry = new Map<string, EnvRegistration>();

const ENV_ID = /^[A-Za-z0-9][A-Za-z0-9_./:-]*$/;

export function registerEnv(id: string, factory: EnvFactory, details: { maxEpisodeSteps?: number; description?: string; taskMetrics?: readonly TaskMetricSpec[] } = {}): void {
  if (typeof id !== 'string' || !ENV_ID.test(id)) throw new TypeError(`registerEnv: invalid env id ${describeValue(id)} (letters, digits and _ . / : - only)`);
  if (typeof factory !== 'function') throw new TypeError(`registerEnv(${id}): factory must be a function, got ${describeValue(factory)}`);
  if (registry.has(id)) throw new Error(`registerEnv: env id ${id} is already registered`);
  if (details.maxEpisodeSteps !== undefined && (!Number.isInteger(details.maxEpisodeSteps) || details.maxEpisodeSteps <= 0)) {
    throw new TypeError(`registerEnv(${id}): maxEpisodeSteps must be a positive integer, got ${describeValue(details.maxEpisodeSteps)}`);
  }
  const own = details.taskMetrics ?? [];
  validateTaskMetricSpecs(id, own);
  registry.set(id, { id, factory, ...details, taskMetrics: own.some((m) => m.name === LENGTH_METRIC.name) ? [...own] : [...own, LENGTH_METRIC] });
}

export function registeredEnvIds(): string[] {
  return [...registry.keys()].sort();
}

/** The task metrics an env reports (its registration's, or just `length` for an unregistered env). */
export function taskMetricSpecs(id: string): readonly TaskMetricSpec[] {
  return registry.get(id)?.taskMetrics ?? [LENGTH_METRIC];
}

export function envRegistration(id: string): EnvRegistration {
  const reg = registry.get(id);
  if (!reg) throw new UnknownEnvError(id, registeredEnvIds());
  return reg;
}

/**
 * Builds a registered env (with its TimeLimit). The type parameter only narrows the static type: use
 * `isMultiAgent` to tell the kinds apart at run time.
 */
export async function makeEnv<E extends AnyEnv = Env>(id: string, options: MakeEnvOptions = {}): Promise<E> {
  const reg = envRegistration(id);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new TypeError(`makeEnv(${id}): options must be an object, got ${describeValue(options)}`);
  const { maxEpisodeSteps, ...envOptions } = options;
  const env = await reg.factory(envOptions);
  const limit = maxEpisodeSteps === undefined ? reg.maxEpisodeSteps : maxEpisodeSteps;
  return (limit === null || limit === undefined ? env : new TimeLimit(env, limit)) as unknown as E;
}

export interface EnvDescription {
  id: string;
  description?: string;
  numAgents: number;
  agents?: readonly string[];
  observationSpace: Space;
  actionSpace: Space;
  maxEpisodeSteps?: number;
}

/** Builds each registered env once to report its spaces (what `rewardlab envs` prints). */
export async function describeEnvs(): Promise<EnvDescription[]> {
  const out: EnvDescription[] = [];
  for (const id of registeredEnvIds()) {
    const reg = registry.get(id)!;
    const env = await reg.factory({});
    try {
      out.push({
        id,
        ...(reg.description ?? env.metadata?.description ? { description: reg.description ?? (env.metadata?.description as string) } : {}),
        numAgents: numAgentsOf(env),
        ...(isMultiAgent(env) ? { agents: [...env.agents] } : {}),
        observationSpace: env.observationSpace,
        actionSpace: env.actionSpace,
        ...(reg.maxEpisodeSteps !== undefined ? { maxEpisodeSteps: reg.maxEpisodeSteps } : {}),
      });
    } finally {
      await env.close();
    }
  }
  return out;
}

/**
 * Loads a user's env module (`--env-module FILE`): its default export (or `createEnv`) is a factory
 * returning an Env. Registered under the module's path unless the module sets `envId`.
 */
export async function loadEnvModule(file: string): Promise<{ id: string; factory: EnvFactory }> {
  const path = resolve(file);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot load env module ${file}: ${(err as Error).message}`);
  }
  const candidate = (mod.default && typeof mod.default === 'object' && 'default' in (mod.default as object) ? (mod.default as Record<string, unknown>).default : mod.default) ?? mod.createEnv;
  if (typeof candidate !== 'function') throw new Error(`env module ${file} must default-export a factory function returning an Env (found ${describeValue(typeof candidate)})`);
  const id = typeof mod.envId === 'string' ? mod.envId : `module:${path}`;
  return { id, factory: candidate as EnvFactory };
}
