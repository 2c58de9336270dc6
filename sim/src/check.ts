/**
 * checkEnv: the env contract as executable checks (Gymnasium's `check_env`, plus the multi-agent and
 * vector rules of DESIGN.md). It throws an EnvCheckError listing every violated rule, each as one
 * precise sentence, or returns a report of what it checked. It closes the env (twice) when done.
 */
import { isMultiAgent, numAgentsOf, type AnyEnv, type Info, type Observation } from './env';
import { Rng } from './rng';
import { actionLength, boxBounds, formatSpace, sampleSpace, validateSpace, whyNotContained, type Space, type SpaceValue } from './spaces';
import type { VecEnvLike } from './vector';

export class EnvCheckError extends Error {
  override name = 'EnvCheckError';
  constructor(
    readonly envId: string,
    readonly problems: string[],
  ) {
    super(`${envId} fails the env checker:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export interface CheckEnvOptions {
  seed?: number;
  /** Steps of the determinism rollout. */
  steps?: number;
}

export interface EnvCheckReport {
  envId: string;
  numAgents: number;
  checks: string[];
}

type AnyStep = { obs: Observation | Observation[]; reward: number | number[]; terminated: boolean; truncated: boolean; info: Info };
type AnyReset = { obs: Observation | Observation[]; info: Info };

/** Stops the checker: later checks depend on this one. */
class Fatal extends Error {}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

function obsList(env: AnyEnv, obs: Observation | Observation[]): Observation[] {
  return isMultiAgent(env) ? (obs as Observation[]) : [obs as Observation];
}

function flatObs(obs: Observation): Float32Array[] {
  return obs instanceof Float32Array ? [obs] : Object.keys(obs).sort().map((k) => (obs as Record<string, Float32Array>)[k]!);
}

export async function checkEnv(env: AnyEnv, options: CheckEnvOptions = {}): Promise<EnvCheckReport> {
  const id = typeof env?.id === 'string' ? env.id : '(env without an id)';
  const seed = options.seed ?? 42;
  const steps = options.steps ?? 50;
  const problems: string[] = [];
  const checks: string[] = [];
  const fail = (msg: string, fatal = false): void => {
    problems.push(msg);
    if (fatal) throw new Fatal(msg);
  };
  const multi = isMultiAgent(env);
  const n = numAgentsOf(env);

  try {
    // --- spaces -------------------------------------------------------------------------------
    for (const [name, space] of [['observationSpace', env.observationSpace], ['actionSpace', env.actionSpace]] as const) {
      try {
        validateSpace(space, name);
      } catch (err) {
        fail((err as Error).message, true);
      }
      if (JSON.stringify(JSON.parse(JSON.stringify(space))) !== JSON.stringify(space) || hasNonFinite(space)) {
        fail(`${name} ${formatSpace(space)} does not survive JSON (bounds must be finite numbers; use ±3.4028234663852886e38 for unbounded)`);
      }
    }
    checks.push('spaces are valid JSON descriptors');
    if (multi) {
      const agents = (env as { agents: unknown }).agents as unknown[];
      if (agents.length === 0) fail('multi-agent env has no agent slots', true);
      if (!agents.every((a) => typeof a === 'string') || new Set(agents).size !== agents.length) fail(`agents must be unique strings, got ${JSON.stringify(agents)}`);
      checks.push(`multi-agent: ${n} slots`);
    }

    // --- reset ------------------------------------------------------------------------------------
    const checkObs = (obs: Observation | Observation[], where: string): void => {
      if (multi && (!Array.isArray(obs) || obs.length !== n)) fail(`${where}: expected an array of ${n} observations (one per agent slot), got ${Array.isArray(obs) ? `${obs.length}` : typeof obs}`, true);
      obsList(env, obs).forEach((o, slot) => {
        const at = multi ? `${where}, agent slot ${slot}` : where;
        if (env.observationSpace.kind === 'dict') {
          if (typeof o !== 'object' || o === null || o instanceof Float32Array) fail(`${at}: observation must be an object of Float32Arrays for ${formatSpace(env.observationSpace)}`, true);
          for (const [k, v] of Object.entries(o)) if (!(v instanceof Float32Array)) fail(`${at}: observation.${k} must be a Float32Array, got ${(v as object)?.constructor?.name ?? typeof v}`);
        } else if (!(o instanceof Float32Array)) {
          fail(`${at}: observation must be a Float32Array, got ${(o as object)?.constructor?.name ?? typeof o}`, true);
        }
        const why = whyNotContained(env.observationSpace, o);
        if (why) fail(`${at}: observation is not in the observation space ${formatSpace(env.observationSpace)}: ${why}`);
      });
    };
    const reset = async (params: Parameters<AnyEnv['reset']>[0]): Promise<AnyReset> => {
      const r = (await env.reset(params)) as AnyReset;
      if (typeof r !== 'object' || r === null || !('obs' in r) || !('info' in r)) fail(`reset must return { obs, info }, got ${JSON.stringify(r)?.slice(0, 80)}`, true);
      if (typeof r.info !== 'object' || r.info === null) fail(`reset info must be an object, got ${typeof r.info}`);
      checkObs(r.obs, 'reset');
      return r;
    };
    const first = await reset({ seed });
    checks.push('reset returns { obs, info } with obs in the observation space');

    // --- step ---------------------------------------------------------------------------------------
    const actionRng = new Rng(seed);
    const sampleActions = (): SpaceValue | SpaceValue[] => (multi ? Array.from({ length: n }, () => sampleSpace(env.actionSpace, actionRng)) : sampleSpace(env.actionSpace, actionRng));
    const step = async (action: SpaceValue | SpaceValue[], where: string): Promise<AnyStep> => {
      const r = (await (env.step as (a: unknown) => unknown)(action)) as AnyStep;
      if (typeof r !== 'object' || r === null) fail(`${where}: step must return { obs, reward, terminated, truncated, info }`, true);
      for (const key of ['obs', 'reward', 'terminated', 'truncated', 'info']) if (!(key in r)) fail(`${where}: step result has no ${key}`, true);
      checkObs(r.obs, where);
      if (multi) {
        if (!Array.isArray(r.reward) || r.reward.length !== n) fail(`${where}: reward must be an array of ${n} numbers (one per agent slot), got ${JSON.stringify(r.reward)}`);
        else r.reward.forEach((x, slot) => typeof x === 'number' && Number.isFinite(x) ? undefined : fail(`${where}, agent slot ${slot}: reward ${x} is not a finite number`));
      } else if (typeof r.reward !== 'number' || !Number.isFinite(r.reward)) fail(`${where}: reward must be a finite number, got ${String(r.reward)}`);
      if (typeof r.terminated !== 'boolean') fail(`${where}: terminated must be a boolean, got ${typeof r.terminated}`);
      if (typeof r.truncated !== 'boolean') fail(`${where}: truncated must be a boolean, got ${typeof r.truncated}`);
      if (typeof r.info !== 'object' || r.info === null) fail(`${where}: info must be an object`);
      if (multi && r.info && r.info.agents !== undefined && (!Array.isArray(r.info.agents) || r.info.agents.length !== n)) {
        fail(`${where}: info.agents must hold one entry per agent slot (${n})`);
      }
      return r;
    };

    type Trace = { obs: Float32Array[][]; rewards: number[]; flags: string[] };
    const rollout = async (label: string): Promise<Trace> => {
      const rng = new Rng(seed + 1);
      actionRng.setState(rng.getState());
      const r0 = await reset({ seed });
      const trace: Trace = { obs: [obsList(env, r0.obs).flatMap(flatObs).map((o) => o.slice())], rewards: [], flags: [] };
      for (let t = 0; t < steps; t++) {
        const r = await step(sampleActions(), `${label} step ${t}`);
        trace.obs.push(obsList(env, r.obs).flatMap(flatObs).map((o) => o.slice()));
        trace.rewards.push(...(typeof r.reward === 'number' ? [r.reward] : r.reward));
        trace.flags.push(`${r.terminated}/${r.truncated}`);
        if (r.terminated || r.truncated) {
          const again = await reset({});
          trace.obs.push(obsList(env, again.obs).flatMap(flatObs).map((o) => o.slice()));
        }
      }
      return trace;
    };

    // Seeding determinism: same seed → same first observation, same seed and actions → same trajectory.
    const second = await reset({ seed });
    const a = obsList(env, first.obs).flatMap(flatObs);
    const b = obsList(env, second.obs).flatMap(flatObs);
    if (a.length !== b.length || a.some((x, i) => !sameBits(x, b[i]!))) fail(`reset(seed=${seed}) twice gave different observations: seeding is not deterministic`);
    const t1 = await rollout('rollout 1');
    const t2 = await rollout('rollout 2');
    const diverged = t1.obs.findIndex((o, i) => !t2.obs[i] || o.some((x, k) => !sameBits(x, t2.obs[i]![k]!)));
    const rewardDiverged = t1.rewards.findIndex((r, i) => !Object.is(r, t2.rewards[i]));
    if (diverged >= 0 || rewardDiverged >= 0 || t1.flags.join() !== t2.flags.join()) {
      fail(`two rollouts with seed ${seed} and the same actions diverged (${diverged >= 0 ? `observation ${diverged}` : rewardDiverged >= 0 ? `reward ${rewardDiverged}` : 'episode flags'}): stepping is not deterministic`);
    }
    checks.push(`same seed and actions give the same ${steps}-step trajectory bit for bit`);

    // Fresh arrays: the obs handed out earlier must not change when the env steps again.
    if (!env.metadata?.reusesObsBuffer) {
      const r0 = await reset({ seed });
      const kept = obsList(env, r0.obs).flatMap(flatObs);
      const copies = kept.map((o) => o.slice());
      const r1 = await step(sampleActions(), 'fresh-array step');
      const after = obsList(env, r1.obs).flatMap(flatObs);
      if (kept.some((o, i) => o === after[i])) fail('step returned the same observation array as reset: return fresh arrays, or declare metadata.reusesObsBuffer');
      else if (kept.some((o, i) => !sameBits(o, copies[i]!))) fail('stepping changed an observation array returned earlier: return fresh arrays, or declare metadata.reusesObsBuffer');
      checks.push('observations are fresh arrays');
    } else checks.push('observation buffers are reused (declared)');

    // Invalid actions are rejected with the env named, and leave the env as it was.
    const invalid = invalidAction(env.actionSpace);
    const r0 = await reset({ seed });
    void r0;
    actionRng.setState(new Rng(seed + 2).getState());
    const valid = sampleActions();
    const reference = await step(valid, 'reference step');
    const refObs = obsList(env, reference.obs).flatMap(flatObs).map((o) => o.slice());
    await reset({ seed });
    const badActions = multi ? Array.from({ length: n }, (_, i) => (i === n - 1 ? invalid : sampleSpace(env.actionSpace, new Rng(i)))) : invalid;
    let threw: Error | null = null;
    try {
      await (env.step as (x: unknown) => unknown)(badActions);
    } catch (err) {
      threw = err as Error;
    }
    if (!threw) fail(`step accepted an invalid action ${describeInvalid(env.actionSpace)} without an error`);
    else {
      if (!String(threw.message).includes(id)) fail(`the invalid-action error does not name the env ${id}: "${threw.message}"`);
      if (multi && !/slot/.test(threw.message)) fail(`the invalid-action error does not name the agent slot: "${threw.message}"`);
    }
    if (multi) {
      let threwLength = false;
      try {
        await (env.step as (x: unknown) => unknown)((valid as SpaceValue[]).slice(0, n - 1));
      } catch {
        threwLength = true;
      }
      if (!threwLength) fail(`step accepted ${n - 1} actions for ${n} agent slots`);
    }
    const afterBad = await step(valid, 'step after the invalid action');
    const afterObs = obsList(env, afterBad.obs).flatMap(flatObs);
    if (afterObs.some((o, i) => !sameBits(o, refObs[i]!))) fail('an invalid action changed the env state (a valid step after it differs from the same step without it)');
    checks.push('invalid actions are rejected with a named error and change nothing');

    // Bad reset parameters are rejected.
    for (const [params, what] of [[{ seed: -1 }, 'a negative seed'], [{ seed: 1.5 }, 'a fractional seed'], [{ options: 'fast' }, 'non-object options']] as const) {
      let rejected = false;
      try {
        await env.reset(params as never);
      } catch {
        rejected = true;
      }
      if (!rejected) fail(`reset accepted ${what}`);
    }
    checks.push('reset rejects bad seeds and options');
  } catch (err) {
    if (!(err instanceof Fatal)) problems.push(`threw ${(err as Error)?.name ?? 'error'}: ${(err as Error)?.message ?? String(err)}`);
  }

  // Double close.
  try {
    await env.close();
    await env.close();
    checks.push('close can be called twice');
  } catch (err) {
    problems.push(`close() twice threw: ${(err as Error).message}`);
  }

  if (problems.length) throw new EnvCheckError(id, problems);
  return { envId: id, numAgents: n, checks };
}

function hasNonFinite(space: Space): boolean {
  if (space.kind === 'box') {
    const { low, high } = boxBounds(space);
    return low.some((v) => !Number.isFinite(v)) || high.some((v) => !Number.isFinite(v));
  }
  if (space.kind === 'dict') return Object.values(space.spaces).some(hasNonFinite);
  return false;
}

function invalidAction(space: Space): SpaceValue {
  switch (space.kind) {
    case 'box':
      return new Float32Array(actionLength(space)).fill(NaN);
    case 'discrete':
      return space.n;
    case 'multi-discrete':
      return Int32Array.from(space.nvec);
    case 'dict':
      return {};
  }
}

function describeInvalid(space: Space): string {
  return space.kind === 'box' ? '(NaN)' : space.kind === 'discrete' ? `(${space.n})` : '(out of range)';
}

/**
 * The vector rules: flat buffers of the declared sizes, rows inside the space, finite rewards, episode
 * ends reported with final observations, and the autoreset mode's semantics. Runs up to `maxSteps`
 * steps with seeded random actions; the VecEnv stays open.
 */
export async function checkVecEnv(vec: VecEnvLike, options: { seed?: number; maxSteps?: number } = {}): Promise<EnvCheckReport> {
  const seed = options.seed ?? 7;
  const maxSteps = options.maxSteps ?? 2000;
  const problems: string[] = [];
  const checks: string[] = [];
  const rng = new Rng(seed);
  const { obs } = await vec.reset({ seed });
  if (obs.length !== vec.numSlots * vec.obsSize) problems.push(`obs buffer has ${obs.length} floats, expected ${vec.numSlots} slots × ${vec.obsSize}`);
  const rowInSpace = (buf: Float32Array, s: number, where: string): void => {
    const why = whyNotContained(vec.singleObservationSpace, buf.subarray(s * vec.obsSize, (s + 1) * vec.obsSize));
    if (why) problems.push(`${where}, slot ${s}: ${why}`);
  };
  for (let s = 0; s < vec.numSlots; s++) rowInSpace(obs, s, 'reset');
  const actions = vec.createActionBuffer();
  let sawEnd = false;
  for (let t = 0; t < maxSteps && problems.length === 0; t++) {
    for (let s = 0; s < vec.numSlots; s++) {
      const a = sampleSpace(vec.singleActionSpace, rng);
      if (typeof a === 'number') actions[s] = a;
      else actions.set(a as ArrayLike<number>, s * vec.actionSize);
    }
    const r = await vec.step(actions);
    for (let s = 0; s < vec.numSlots; s++) {
      rowInSpace(r.obs, s, `step ${t}`);
      if (!Number.isFinite(r.rewards[s])) problems.push(`step ${t}, slot ${s}: reward ${r.rewards[s]} is not finite`);
    }
    for (const ep of r.info.episodes) {
      sawEnd = true;
      const s = ep.env * vec.numAgents + ep.agent;
      if (!r.terminated[s] && !r.truncated[s]) problems.push(`step ${t}: episode of slot ${s} reported without terminated/truncated`);
      rowInSpace(r.info.finalObs, s, `final observation at step ${t}`);
      if (vec.autoresetMode === 'next-step' && !sameBits(r.info.finalObs.subarray(s * vec.obsSize, (s + 1) * vec.obsSize), r.obs.subarray(s * vec.obsSize, (s + 1) * vec.obsSize))) {
        problems.push(`step ${t}, slot ${s}: in next-step mode obs must hold the final observation on the ending step`);
      }
    }
    if (sawEnd && vec.autoresetMode === 'next-step') {
      const ended = r.info.episodes.map((e) => e.env);
      if (ended.length) {
        const next = await vec.step(actions);
        for (const i of ended) {
          if (!next.info.autoreset[i]) problems.push(`step ${t + 1}: env ${i} ended at step ${t} but was not reset (next-step autoreset)`);
          for (let a = 0; a < vec.numAgents; a++) {
            const s = i * vec.numAgents + a;
            if (next.rewards[s] !== 0 || next.terminated[s] || next.truncated[s]) problems.push(`step ${t + 1}, slot ${s}: an autoreset step must have reward 0 and no episode flags`);
          }
        }
      }
      break;
    }
    if (sawEnd) break;
  }
  if (!sawEnd) problems.push(`no episode ended within ${maxSteps} random steps, so autoreset could not be checked`);
  else checks.push(`episodes end with final observations and ${vec.autoresetMode} autoreset`);
  if (problems.length) throw new EnvCheckError(`${vec.envId} (VecEnv)`, problems);
  checks.push('flat buffers have the declared sizes and rows stay in the space');
  return { envId: vec.envId, numAgents: vec.numAgents, checks };
}
