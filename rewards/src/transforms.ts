/**
 * Return transforms the learner applies to a rollout's rewards before computing returns and advantages.
 * Rewards are laid out step-major (`rewards[t * numSlots + s]`) and `dones[t * numSlots + s] = 1` when slot
 * s's episode ended at step t; each transform rewrites the rewards in place, in the spec's order.
 *
 * A trajectory here is a run of steps of one slot ending at a done (or at the rollout's end: the
 * trajectory-level transforms, min-form and delta, treat a trajectory cut by the rollout's end as if it
 * ended there).
 */
import { RunningMeanStd } from '@rewardlab/sim';
import { parseRewardSpec, type ReturnTransformSpec, type RewardSpecLike } from './spec';

export interface RewardTransform {
  readonly name: string;
  apply(rewards: Float32Array, dones: Uint8Array, numSteps: number, numSlots: number): void;
  /** Stateful transforms (running normalisation) save their state in checkpoints. */
  getState?(): unknown;
  setState?(s: unknown): void;
}

/** Calls `f(start, end)` for every trajectory [start, end] (step indices, inclusive) of one slot. */
function forEachTrajectory(dones: Uint8Array, numSteps: number, numSlots: number, slot: number, f: (start: number, end: number) => void): void {
  let start = 0;
  for (let t = 0; t < numSteps; t++) {
    if (dones[t * numSlots + slot] || t === numSteps - 1) {
      f(start, t);
      start = t + 1;
    }
  }
}

/**
 * Min-form credit assignment (PURE, 2025): wᵢ = softmax(−rᵢ / T) over the trajectory's step rewards and
 * r*ᵢ = wᵢ·rᵢ, so the undiscounted return Σᵢ r*ᵢ is a soft minimum of the step rewards (the minimum as
 * T → 0) and a policy cannot farm one high-reward step.
 */
export function minForm(temperature = 0.1): RewardTransform {
  if (!(temperature > 0)) throw new RangeError(`minForm: temperature must be positive, got ${temperature}`);
  return {
    name: 'minForm',
    apply(rewards, dones, numSteps, numSlots) {
      for (let s = 0; s < numSlots; s++) {
        forEachTrajectory(dones, numSteps, numSlots, s, (start, end) => {
          let min = Infinity;
          for (let t = start; t <= end; t++) min = Math.min(min, rewards[t * numSlots + s]!);
          // Shifted by the minimum so the largest exponent is 0 (a stable softmax).
          let z = 0;
          for (let t = start; t <= end; t++) z += Math.exp(-(rewards[t * numSlots + s]! - min) / temperature);
          for (let t = start; t <= end; t++) {
            const i = t * numSlots + s;
            rewards[i] = (Math.exp(-(rewards[i]! - min) / temperature) / z) * rewards[i]!;
          }
        });
      }
    },
  };
}

/** Clip (Gao et al. 2024, *unverified*): r̃ₖ = min(rₖ − η, 0), so accumulated process reward is bounded above by 0. */
export function clipReward(eta = 0): RewardTransform {
  return {
    name: 'clip',
    apply(rewards, _dones, numSteps, numSlots) {
      const n = numSteps * numSlots;
      for (let i = 0; i < n; i++) rewards[i] = Math.min(rewards[i]! - eta, 0);
    },
  };
}

/** Delta (Gao et al. 2024, *unverified*): r̃ₖ = rₖ − rₖ₊₁ within a trajectory, the last step kept, so Σ_{k≥t} r̃ₖ = rₜ. */
export function deltaReward(): RewardTransform {
  return {
    name: 'delta',
    apply(rewards, dones, numSteps, numSlots) {
      for (let s = 0; s < numSlots; s++) {
        forEachTrajectory(dones, numSteps, numSlots, s, (start, end) => {
          for (let t = start; t < end; t++) rewards[t * numSlots + s] = rewards[t * numSlots + s]! - rewards[(t + 1) * numSlots + s]!;
        });
      }
    },
  };
}

export interface ReturnNormalizationState {
  /** Running discounted return per slot, carried from one rollout to the next. */
  returns: number[];
  rms: { mean: number[]; var: number[]; count: number };
}

/**
 * Running return normalisation (Gymnasium's NormalizeReward / SB3's VecNormalize): keeps the discounted
 * return Gₜ = γ·Gₜ₋₁ + rₜ per slot (reset after a done), tracks its running variance, and divides the
 * rewards by √(var + ε), clipped to ±clip. The statistics are updated with the whole rollout, then applied.
 */
export function normalizeReturns(gamma: number, clip = 10, epsilon = 1e-8): RewardTransform {
  let rms = new RunningMeanStd(1);
  let returns: number[] = [];
  return {
    name: 'normalize',
    apply(rewards, dones, numSteps, numSlots) {
      if (returns.length !== numSlots) returns = new Array<number>(numSlots).fill(0);
      const g = new Float64Array(numSteps * numSlots);
      for (let t = 0; t < numSteps; t++) {
        for (let s = 0; s < numSlots; s++) {
          const i = t * numSlots + s;
          returns[s] = gamma * returns[s]! + rewards[i]!;
          g[i] = returns[s]!;
          if (dones[i]) returns[s] = 0;
        }
      }
      if (g.length) rms.update(g, g.length);
      const scale = 1 / Math.sqrt(rms.var[0]! + epsilon);
      for (let i = 0; i < g.length; i++) rewards[i] = Math.max(-clip, Math.min(clip, rewards[i]! * scale));
    },
    getState(): ReturnNormalizationState {
      return { returns: [...returns], rms: rms.toJSON() };
    },
    setState(s: unknown) {
      const state = s as ReturnNormalizationState;
      if (!state || !Array.isArray(state.returns) || !state.rms || !Array.isArray(state.rms.var)) throw new TypeError('normalize: expected a state saved by getState()');
      returns = [...state.returns];
      rms = RunningMeanStd.fromJSON(state.rms);
    },
  };
}

export function createReturnTransform(spec: ReturnTransformSpec, gamma: number): RewardTransform {
  switch (spec.type) {
    case 'minForm':
      return minForm(spec.temperature);
    case 'clip':
      return clipReward(spec.eta);
    case 'delta':
      return deltaReward();
    case 'normalize':
      return normalizeReturns(gamma, spec.clip, spec.epsilon);
  }
}

/** The spec's return transforms, in order (none: an empty list). `gamma` is the learner's discount. */
export function createReturnTransforms(spec: RewardSpecLike | null | undefined, options: { gamma: number }): RewardTransform[] {
  if (spec === null || spec === undefined) return [];
  // A spec with only transforms (no components) is fine here: the learner needs nothing else.
  const parsed = typeof spec === 'object' && !('components' in spec) ? parseRewardSpec({ ...(spec as object), components: { native: { term: 'native' } } }) : parseRewardSpec(spec);
  if (!(options.gamma >= 0 && options.gamma <= 1)) throw new RangeError(`createReturnTransforms: gamma must be in [0, 1], got ${options.gamma}`);
  return parsed.transforms.map((t) => createReturnTransform(t, options.gamma));
}
