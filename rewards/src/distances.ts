/**
 * Reward distances between two reward specs over transitions sampled from an env.
 *
 * - EPIC (Gleave et al. 2021): canonicalise C(R)(s,a,s′) = R(s,a,s′) + E[γR(s′,A,S′) − R(s,A,S′) − γR(S,A,S′)],
 *   then D = √((1 − ρ)/2) with ρ the Pearson correlation of the canonicalised rewards. 0 for rewards that
 *   differ by potential shaping and positive scale, 1 for R and −R.
 * - STARC (Skalse et al. 2024): the same canonicalisation, normalised by its L2 norm, then
 *   d = ½·‖c(R₁)/‖c(R₁)‖ − c(R₂)/‖c(R₂)‖‖.
 *
 * The expectations are sample means over M draws (A, S′) of a sampled transition's action and next state
 * (with its events: in carball, events belong to the step that led to S′), and S drawn from the same
 * next states (shifted by one draw), so that E[Φ(S)] = E[Φ(S′)] exactly and shaping cancels exactly.
 * Every transition counts as non-terminal, for both rewards alike. Specs with the `native` term cannot be
 * compared: the env's reward is unknown on the recombined transitions.
 */
import { isMultiAgent, numAgentsOf, Rng, sampleSpace, type AnyEnv, type MultiAgentStepResult, type StepResult } from '@rewardlab/sim';
import { isCarballState } from './carball';
import { RewardFunction } from './reward';
import type { RewardSpecLike } from './spec';
import type { Transition } from './terms';
import { rewardStateOf } from './wrapper';

export interface SampleTransitionsOptions {
  samples: number;
  seed?: number;
}

/** Transitions under uniformly random actions (the coverage distribution), resetting when an episode ends. */
export async function sampleTransitions(env: AnyEnv, options: SampleTransitionsOptions): Promise<Transition[]> {
  const rng = new Rng(options.seed ?? 0);
  const multi = isMultiAgent(env);
  const numSlots = numAgentsOf(env);
  const out: Transition[] = [];
  let reset = await env.reset({ seed: rng.nextSeed() });
  let prev = rewardStateOf(env, reset.obs);
  while (out.length < options.samples) {
    const actions = Array.from({ length: numSlots }, () => sampleSpace(env.actionSpace, rng));
    const r = (await (env.step as (a: unknown) => StepResult | MultiAgentStepResult | Promise<StepResult | MultiAgentStepResult>)(multi ? actions : actions[0])) as StepResult | MultiAgentStepResult;
    const next = rewardStateOf(env, r.obs);
    const agents = r.info.agents as ({ events?: Record<string, number> } | undefined)[] | undefined;
    out.push({ prev, next, actions, events: actions.map((_, i) => (Array.isArray(agents) ? agents[i]?.events : undefined)), nativeReward: null, terminated: false });
    prev = next;
    if (r.terminated || r.truncated) {
      reset = await env.reset();
      prev = rewardStateOf(env, reset.obs);
    }
  }
  return out;
}

export interface DistanceOptions {
  /** γ of the canonicalisation (default: spec A's shaping γ). */
  gamma?: number;
  /** Draws M for the expectations (default 128). */
  canonicalSamples?: number;
  seed?: number;
}

function rewardFunctionFor(spec: RewardSpecLike, transitions: readonly Transition[]): RewardFunction {
  if (transitions.length === 0) throw new RangeError('reward distances need at least one transition');
  const first = transitions[0]!;
  return new RewardFunction(spec, { numSlots: first.actions.length, domain: isCarballState(first.next) ? 'carball' : 'generic' });
}

/** EPIC's canonicalised reward for every (transition, slot), transition-major. */
export function canonicalizeReward(spec: RewardSpecLike, transitions: readonly Transition[], options: DistanceOptions = {}): Float64Array {
  const reward = rewardFunctionFor(spec, transitions);
  const gamma = options.gamma ?? reward.gamma;
  const m = options.canonicalSamples ?? 128;
  const rng = new Rng(options.seed ?? 0);
  const draws = Array.from({ length: m }, () => transitions[rng.integer(transitions.length)]!);
  const n = reward.options.numSlots;
  const at = (prev: unknown, draw: Transition): Float64Array => reward.evaluate({ prev, next: draw.next, actions: draw.actions, events: draw.events, nativeReward: null, terminated: false }).total;
  // E[R(S, A, S′)]: S is the next state of the following draw.
  const e3 = new Float64Array(n);
  for (let j = 0; j < m; j++) {
    const r = at(draws[(j + 1) % m]!.next, draws[j]!);
    for (let s = 0; s < n; s++) e3[s]! += r[s]! / m;
  }
  const out = new Float64Array(transitions.length * n);
  let rawSquares = 0;
  transitions.forEach((t, i) => {
    const r = reward.evaluate({ ...t, nativeReward: null, terminated: false }).total;
    for (let s = 0; s < n; s++) rawSquares += r[s]! ** 2;
    const e1 = new Float64Array(n);
    const e2 = new Float64Array(n);
    for (const draw of draws) {
      const fromNext = at(t.next, draw);
      const fromPrev = at(t.prev, draw);
      for (let s = 0; s < n; s++) {
        e1[s]! += fromNext[s]! / m;
        e2[s]! += fromPrev[s]! / m;
      }
    }
    for (let s = 0; s < n; s++) out[i * n + s] = r[s]! + gamma * e1[s]! - e2[s]! - gamma * e3[s]!;
  });
  // A reward that canonicalises to (numerically) nothing — a constant, or pure shaping — is the zero reward.
  let squares = 0;
  for (const x of out) squares += x * x;
  if (Math.sqrt(squares) <= 1e-9 * Math.sqrt(rawSquares)) out.fill(0);
  return out;
}

/** Pearson distance √((1 − ρ)/2); two constant rewards are at distance 0, a constant and a varying one at √½ (ρ taken as 0). */
export function pearsonDistance(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]! / n;
    my += y[i]! / n;
  }
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  const tiny = 1e-12 * n;
  if (sxx <= tiny && syy <= tiny) return 0;
  const rho = sxx <= tiny || syy <= tiny ? 0 : Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
  return Math.sqrt((1 - rho) / 2);
}

/** ½·‖x/‖x‖ − y/‖y‖‖ (a zero vector stays zero). */
export function normalizedL2Distance(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let nx = 0;
  let ny = 0;
  for (let i = 0; i < x.length; i++) {
    nx += x[i]! ** 2;
    ny += y[i]! ** 2;
  }
  nx = Math.sqrt(nx) || 1;
  ny = Math.sqrt(ny) || 1;
  let d = 0;
  for (let i = 0; i < x.length; i++) d += (x[i]! / nx - y[i]! / ny) ** 2;
  return 0.5 * Math.sqrt(d);
}

export function epic(specA: RewardSpecLike, specB: RewardSpecLike, transitions: readonly Transition[], options: DistanceOptions = {}): number {
  return rewardDistances(specA, specB, transitions, options).epic;
}

export function starc(specA: RewardSpecLike, specB: RewardSpecLike, transitions: readonly Transition[], options: DistanceOptions = {}): number {
  return rewardDistances(specA, specB, transitions, options).starc;
}

/**
 * Both distances from one canonicalisation of each spec (same draws for both). `constant` says which
 * canonical rewards are zero on these transitions (a reward that pays only potential shaping, or only for
 * events that never happened here): against such a reward EPIC is √½ and STARC ½ whatever the other is.
 */
export function rewardDistances(specA: RewardSpecLike, specB: RewardSpecLike, transitions: readonly Transition[], options: DistanceOptions = {}): { epic: number; starc: number; constant: [boolean, boolean] } {
  const gamma = options.gamma ?? rewardFunctionFor(specA, transitions).gamma;
  const a = canonicalizeReward(specA, transitions, { ...options, gamma });
  const b = canonicalizeReward(specB, transitions, { ...options, gamma });
  const isZero = (x: Float64Array): boolean => x.every((v) => v === 0);
  return { epic: pearsonDistance(a, b), starc: normalizedL2Distance(a, b), constant: [isZero(a), isZero(b)] };
}
