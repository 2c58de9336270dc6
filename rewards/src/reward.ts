/**
 * Compiles a reward spec into a function of one transition: per agent slot, the value of every named
 * component and their total. Composition rules:
 *
 * - weighted sum: a `sum` node adds its children; every node's `weight` multiplies its value;
 * - KRC (Lucy-SKG, Moschopoulos et al. 2023): R_c = sgn · |r₁ · … · rₙ|^(1/n), sgn = +1 only when every
 *   rᵢ ≥ 0, else −1;
 * - potential shaping (Ng, Harada & Russell 1999): F = γ·Φ(s′) − Φ(s), with Φ(terminal) = 0;
 * - gates (G-RA, 2025, *unverified* form): r̃ = r · 1[r_high ≥ δ], per step;
 * - team spirit (Lucy-SKG / Necto): r′ᵢ = (1 − τ)·rᵢ + τ·mean(own team) − mean(opponents), applied to each
 *   component (it is linear, so the components still add up to the total).
 *
 * A value that is NaN or ±Infinity throws a RewardTermError naming the term and its JSON path.
 */
import { isCarballState, type CarballState } from './carball';
import {
  componentOrder,
  isKrcNode,
  isRefNode,
  isSumNode,
  isTermNode,
  isPerceptualNode,
  isVlmNode,
  parseRewardSpec,
  RewardSpecError,
  type RewardNodeSpec,
  type RewardSpec,
  type RewardSpecLike,
  type PerceptualNodeSpec,
  type VlmNodeSpec,
} from './spec';
import { TERMS, type StateFunction, type Transition, type TransitionFunction, type RewardState } from './terms';

/** 'carball': states are CarballState; 'generic': states are the env's observations. */
export type RewardDomain = 'carball' | 'generic';

/** A term (or combinator) produced NaN or ±Infinity, or failed; `term` and `path` say which. */
export class RewardTermError extends Error {
  override name = 'RewardTermError';
  constructor(
    readonly term: string,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** Kinesthetic Reward Combination: the sign-preserving geometric mean of n components (Lucy-SKG). */
export function krc(values: readonly number[]): number {
  const n = values.length;
  let product = 1;
  let allNonNegative = true;
  for (const r of values) {
    product *= r;
    if (r < 0) allNonNegative = false;
  }
  return (allNonNegative ? 1 : -1) * Math.abs(product) ** (1 / n);
}

/** Potential-based shaping F = γ·Φ(s′) − Φ(s) with Φ(terminal) = 0 (Ng et al. 1999). */
export function potentialShaping(phiPrev: number, phiNext: number, gamma: number, terminated: boolean): number {
  return gamma * (terminated ? 0 : phiNext) - phiPrev;
}

/**
 * Team spirit in place: r′ᵢ = (1 − τ)·rᵢ + τ·mean(own team) − mean(opponents) (Lucy-SKG, after Necto).
 * `teams[i]` is slot i's team; an empty opponent set has mean 0.
 */
export function teamSpirit(rewards: Float64Array, teams: readonly number[], tau: number): void {
  const sums = new Map<number, { sum: number; n: number }>();
  for (let i = 0; i < rewards.length; i++) {
    const e = sums.get(teams[i]!) ?? { sum: 0, n: 0 };
    e.sum += rewards[i]!;
    e.n += 1;
    sums.set(teams[i]!, e);
  }
  const original = Float64Array.from(rewards);
  for (let i = 0; i < rewards.length; i++) {
    const own = sums.get(teams[i]!)!;
    let oppSum = 0;
    let oppN = 0;
    for (const [team, e] of sums) {
      if (team === teams[i]) continue;
      oppSum += e.sum;
      oppN += e.n;
    }
    rewards[i] = (1 - tau) * original[i]! + tau * (own.sum / own.n) - (oppN ? oppSum / oppN : 0);
  }
}

interface CompiledNode {
  transition: TransitionFunction;
  /** Present when the node is a function of one state. */
  state?: StateFunction;
}

export interface RewardFunctionOptions {
  numSlots: number;
  domain: RewardDomain;
  /** Overrides the spec's shaping γ. */
  gamma?: number;
  /** For error messages. */
  envId?: string;
}

export interface RewardEvaluation {
  /** Per slot: the reward paid (the sum of the components). */
  total: Float64Array;
  /** Per component name, per slot: what the component paid (after weight, shaping, gate and team spirit). */
  components: Record<string, Float64Array>;
}

function checkFinite(value: number, term: string, path: string, slot: number): number {
  if (!Number.isFinite(value)) throw new RewardTermError(term, path, `reward term ${term} at ${path} returned ${value} for agent slot ${slot}`);
  return value;
}

/**
 * A node whose value at a state comes from outside the synchronous reward function: a `vlm` node, scored
 * on the rendered state by a vision-language model. Whoever steps the env (withReward, withVecReward)
 * scores each state with `frameTerms` and hands the values over with `setFrameScores` before `evaluate`.
 */
export interface FrameTerm {
  /** Index into the values given to setFrameScores. */
  index: number;
  /** The node kind, which says what scores it (`vlm`, `perceptual`). */
  kind: 'vlm' | 'perceptual';
  /** JSON paths of the nodes (equal nodes share one term). */
  paths: string[];
  /** The node's parameters (its `vlm` or `perceptual` object). */
  params: VlmNodeSpec['vlm'] | PerceptualNodeSpec['perceptual'];
}

/** A compiled reward spec for an env with `numSlots` agent slots. */
export class RewardFunction {
  readonly spec: RewardSpec;
  readonly componentNames: readonly string[];
  readonly gamma: number;
  private readonly order: string[];
  private readonly compiled = new Map<string, CompiledNode>();
  private current: Record<string, Float64Array> = {};
  /** Frame-scored nodes (`vlm`), in the order of the values setFrameScores takes. */
  readonly frameTerms: FrameTerm[] = [];
  private frameScores = new WeakMap<object, Float64Array>();

  constructor(
    spec: RewardSpecLike,
    readonly options: RewardFunctionOptions,
  ) {
    this.spec = parseRewardSpec(spec);
    this.gamma = options.gamma ?? this.spec.gamma;
    this.componentNames = Object.keys(this.spec.components);
    this.order = componentOrder(this.spec.components);
    for (const name of this.order) this.compiled.set(name, this.compileNode(this.spec.components[name]!, `$.components.${name}`));
  }

  private compileNode(node: RewardNodeSpec, path: string): CompiledNode {
    let label: string;
    let base: CompiledNode;
    if (isTermNode(node)) {
      const def = TERMS[node.term]!;
      label = def.name;
      if (def.domain === 'carball' && this.options.domain !== 'carball') {
        throw new RewardSpecError([{ path: `${path}.term`, message: `term ${def.name} needs a carball env (it reads CarballState); ${this.options.envId ?? 'this env'} gives observations, where only native, constant and observation apply` }]);
      }
      const params = Object.fromEntries(Object.entries(node).filter(([k]) => k !== 'term' && k !== 'weight' && k !== 'potential' && k !== 'gate'));
      const wrapErrors = <F extends (...args: never[]) => number>(f: F): F =>
        ((...args: Parameters<F>) => {
          try {
            return f(...args);
          } catch (err) {
            if (err instanceof RewardTermError) throw err;
            throw new RewardTermError(def.name, path, `reward term ${def.name} at ${path}: ${(err as Error).message}`);
          }
        }) as F;
      if (def.kind === 'state') {
        const f = wrapErrors(def.create(params as never));
        base = { state: f, transition: (t, slot) => f(t.next, slot) };
      } else {
        base = { transition: wrapErrors(def.create(params as never)) };
      }
    } else if (isKrcNode(node) || isSumNode(node)) {
      const isKrc = isKrcNode(node);
      label = isKrc ? 'krc' : 'sum';
      const children = (isKrc ? node.krc : (node as { sum: RewardNodeSpec[] }).sum).map((c, i) => this.compileNode(c, `${path}.${label}[${i}]`));
      const values = new Array<number>(children.length).fill(0);
      const combine = (): number => {
        if (isKrc) return krc(values);
        let total = 0;
        for (const v of values) total += v;
        return total;
      };
      base = {
        transition: (t, slot) => {
          for (let i = 0; i < children.length; i++) values[i] = children[i]!.transition(t, slot);
          return combine();
        },
      };
      if (children.every((c) => c.state)) {
        base.state = (s, slot) => {
          for (let i = 0; i < children.length; i++) values[i] = children[i]!.state!(s, slot);
          return combine();
        };
      }
    } else if (isRefNode(node)) {
      label = `ref ${node.ref}`;
      const name = node.ref;
      const target = this.compiled.get(name)!;
      // Components are evaluated in dependency order, so a ref reads the value already computed this step.
      base = { transition: (_t, slot) => this.current[name]![slot]! };
      if (target.state) base.state = target.state;
    } else if (isVlmNode(node) || isPerceptualNode(node)) {
      const kind = isVlmNode(node) ? 'vlm' : 'perceptual';
      const params = isVlmNode(node) ? node.vlm : (node as PerceptualNodeSpec).perceptual;
      const key = `${kind}:${JSON.stringify(params)}`;
      let term = this.frameTerms.find((t) => `${t.kind}:${JSON.stringify(t.params)}` === key);
      if (!term) this.frameTerms.push((term = { index: this.frameTerms.length, kind, paths: [], params }));
      term.paths.push(path);
      const index = term.index;
      label = kind;
      const f: StateFunction = (s) => {
        const scores = s !== null && typeof s === 'object' ? this.frameScores.get(s as object) : undefined;
        if (!scores) throw new RewardTermError(kind, path, `${kind} term at ${path} has no score for this state: ${kind} terms are scored on rendered frames, so evaluate them through withReward / withVecReward (which render and score the states) or give the scores with setFrameScores`);
        return scores[index]!;
      };
      base = { state: f, transition: (t, slot) => f(t.next, slot) };
    } else {
      throw new Error(`unreachable node at ${path}`);
    }

    let transition = base.transition;
    let state = base.state;
    if (node.potential) {
      const phi = base.state!;
      const gamma = this.gamma;
      transition = (t, slot) => potentialShaping(phi(t.prev, slot), phi(t.next, slot), gamma, t.terminated);
      state = undefined;
      label = `shaped ${label}`;
    }
    if (node.gate) {
      const on = this.compileNode(node.gate.on, `${path}.gate.on`).transition;
      const threshold = node.gate.threshold;
      const inner = transition;
      transition = (t, slot) => (on(t, slot) >= threshold ? inner(t, slot) : 0);
      state = undefined;
    }
    const weight = node.weight ?? 1;
    const finalTransition = transition;
    const finalState = state;
    return {
      transition: (t, slot) => checkFinite(weight * finalTransition(t, slot), label, path, slot),
      ...(finalState ? { state: (s: RewardState, slot: number) => checkFinite(weight * finalState(s, slot), label, path, slot) } : {}),
    };
  }

  /** Teams per slot for team spirit: the carball state's, else one team. */
  private teamsOf(t: Transition): number[] {
    const n = this.options.numSlots;
    if (isCarballState(t.next)) return (t.next as CarballState).cars.slice(0, n).map((c) => c.team);
    return new Array<number>(n).fill(0);
  }

  /**
   * The values of the frame-scored terms at `state` (one per entry of `frameTerms`, the same for every
   * agent slot: one camera sees the whole env), kept while the state object lives.
   */
  setFrameScores(state: object, values: ArrayLike<number>): void {
    if (values.length !== this.frameTerms.length) throw new TypeError(`setFrameScores: ${values.length} values for ${this.frameTerms.length} frame terms`);
    this.frameScores.set(state, Float64Array.from(values));
  }

  /** Whether `state` has its frame-term values (always true without frame terms). */
  hasFrameScores(state: unknown): boolean {
    return this.frameTerms.length === 0 || (state !== null && typeof state === 'object' && this.frameScores.has(state));
  }

  evaluate(t: Transition): RewardEvaluation {
    const n = this.options.numSlots;
    this.current = {};
    for (const name of this.order) {
      const node = this.compiled.get(name)!;
      const values = new Float64Array(n);
      for (let slot = 0; slot < n; slot++) values[slot] = node.transition(t, slot);
      this.current[name] = values;
    }
    const components: Record<string, Float64Array> = {};
    const total = new Float64Array(n);
    const tau = this.spec.teamSpirit;
    const teams = tau === undefined ? null : this.teamsOf(t);
    for (const name of this.componentNames) {
      const values = Float64Array.from(this.current[name]!);
      if (teams) teamSpirit(values, teams, tau!);
      components[name] = values;
      for (let slot = 0; slot < n; slot++) total[slot]! += values[slot]!;
    }
    return { total, components };
  }
}
