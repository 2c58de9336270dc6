/**
 * Action distributions of the policy head, in two halves: sampling and log-probabilities in JS on the
 * downloaded head outputs (rollouts: one small download per step, seeded by the trainer's Rng), and the
 * same log-probabilities and entropies as tensors for the PPO loss.
 * - discrete(n): categorical over logits [B, n];
 * - multi-discrete(nvec): independent categoricals over consecutive logit slices [B, Σ nvec];
 * - box(d): diagonal Gaussian with mean [B, d] and a state-independent log-std parameter [d]
 *   (as SB3 and CleanRL); samples are stored unclipped and clipped to the bounds only for the env.
 */
import * as tf from '@tensorflow/tfjs';
import { boxBounds, type Rng, type Space } from '@rewardlab/sim';

export type DistributionKind = { kind: 'categorical'; n: number } | { kind: 'multi-categorical'; nvec: number[] } | { kind: 'gaussian'; dim: number; low: Float64Array; high: Float64Array };

export function distributionFor(space: Space): DistributionKind {
  switch (space.kind) {
    case 'discrete':
      return { kind: 'categorical', n: space.n };
    case 'multi-discrete':
      return { kind: 'multi-categorical', nvec: [...space.nvec] };
    case 'box': {
      const { low, high } = boxBounds(space);
      return { kind: 'gaussian', dim: low.length, low, high };
    }
    default:
      throw new TypeError(`no action distribution for ${space.kind} action spaces`);
  }
}

/** Width of the policy head's output. */
export function headSize(d: DistributionKind): number {
  return d.kind === 'categorical' ? d.n : d.kind === 'multi-categorical' ? d.nvec.reduce((a, b) => a + b, 0) : d.dim;
}

/** Numbers per action in the rollout's action buffer. */
export function actionWidth(d: DistributionKind): number {
  return d.kind === 'categorical' ? 1 : d.kind === 'multi-categorical' ? d.nvec.length : d.dim;
}

const LOG_2PI = Math.log(2 * Math.PI);

/** Samples one categorical from logits[off … off+n) and returns [index, log-prob]. */
function sampleCategorical(logits: ArrayLike<number>, off: number, n: number, rng: Rng, greedy: boolean): [number, number] {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[off + i]!);
  let z = 0;
  for (let i = 0; i < n; i++) z += Math.exp(logits[off + i]! - max);
  const logZ = max + Math.log(z);
  let choice = n - 1;
  if (greedy) {
    let best = -Infinity;
    for (let i = 0; i < n; i++) if (logits[off + i]! > best) (best = logits[off + i]!), (choice = i);
  } else {
    let u = rng.random() * z;
    for (let i = 0; i < n; i++) {
      u -= Math.exp(logits[off + i]! - max);
      if (u <= 0) {
        choice = i;
        break;
      }
    }
  }
  return [choice, logits[off + choice]! - logZ];
}

/**
 * Samples actions for `batch` rows: writes the stored actions (`actions`, `batch × actionWidth`), the
 * env actions (clipped to the box for Gaussians) and each row's log-probability.
 */
export function sampleActions(
  d: DistributionKind,
  head: Float32Array,
  logStd: Float32Array | null,
  batch: number,
  rng: Rng,
  out: { actions: Float32Array; envActions: Float32Array | Int32Array; logProbs: Float32Array },
  greedy = false,
): void {
  const h = headSize(d);
  const w = actionWidth(d);
  for (let r = 0; r < batch; r++) {
    if (d.kind === 'categorical') {
      const [a, lp] = sampleCategorical(head, r * h, d.n, rng, greedy);
      out.actions[r] = a;
      out.envActions[r] = a;
      out.logProbs[r] = lp;
    } else if (d.kind === 'multi-categorical') {
      let off = r * h;
      let lp = 0;
      for (let k = 0; k < d.nvec.length; k++) {
        const [a, l] = sampleCategorical(head, off, d.nvec[k]!, rng, greedy);
        out.actions[r * w + k] = a;
        out.envActions[r * w + k] = a;
        lp += l;
        off += d.nvec[k]!;
      }
      out.logProbs[r] = lp;
    } else {
      let lp = 0;
      for (let k = 0; k < d.dim; k++) {
        const mean = head[r * h + k]!;
        const ls = logStd![k]!;
        const eps = greedy ? 0 : rng.normal();
        const a = mean + Math.exp(ls) * eps;
        out.actions[r * w + k] = a;
        out.envActions[r * w + k] = Math.min(Math.max(a, d.low[k]!), d.high[k]!);
        lp += -0.5 * eps * eps - ls - 0.5 * LOG_2PI;
      }
      out.logProbs[r] = lp;
    }
  }
}

/** Log-probabilities [B] and entropies [B] of stored actions under the head outputs (tensors, differentiable). */
export function logProbAndEntropy(d: DistributionKind, head: tf.Tensor2D, actions: tf.Tensor2D, logStd: tf.Variable | null): { logProb: tf.Tensor1D; entropy: tf.Tensor1D } {
  if (d.kind === 'gaussian') {
    const ls = logStd as unknown as tf.Tensor1D;
    const z = tf.div(tf.sub(actions, head), tf.exp(ls));
    const logProb = tf.sub(tf.mul(-0.5, tf.sum(tf.square(z), 1)), tf.add(tf.sum(ls), 0.5 * d.dim * LOG_2PI)) as tf.Tensor1D;
    const entropy = tf.broadcastTo(tf.reshape(tf.add(tf.sum(ls), 0.5 * d.dim * (1 + LOG_2PI)), [1]), [head.shape[0]]) as tf.Tensor1D;
    return { logProb, entropy };
  }
  const sizes = d.kind === 'categorical' ? [d.n] : d.nvec;
  const parts = sizes.length === 1 ? [head] : tf.split(head, sizes, 1);
  let logProb: tf.Tensor1D | null = null;
  let entropy: tf.Tensor1D | null = null;
  parts.forEach((logits, k) => {
    const logp = tf.logSoftmax(logits);
    const idx = tf.cast(sizes.length === 1 ? tf.reshape(actions, [-1]) : tf.reshape(tf.slice(actions, [0, k], [-1, 1]), [-1]), 'int32');
    const lp = tf.sum(tf.mul(logp, tf.oneHot(idx, sizes[k]!)), 1) as tf.Tensor1D;
    const ent = tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), 1)) as tf.Tensor1D;
    logProb = logProb ? (tf.add(logProb, lp) as tf.Tensor1D) : lp;
    entropy = entropy ? (tf.add(entropy, ent) as tf.Tensor1D) : ent;
  });
  return { logProb: logProb!, entropy: entropy! };
}
