/**
 * RLB for long episodes (Cai et al., WSDM 2017, §4.3; REFERENCES.md §3): the DP table for a short
 * horizon T0 is summarised by a small tanh MLP D̂(t, b) (2 → 30 → 15 → 1), and an episode longer than
 * T0 bids with D(t, b) ≈ D̂(T0, b·T0/t), the budget per auction left being what the mapping preserves.
 *
 * The MLP is trained with tfjs (Adam on the mean squared error of D / max D, minibatches drawn from the
 * seeded Rng, so a seed gives the same net on the same backend), then evaluated in plain TypeScript:
 * the bid rule needs up to 300 values of D per auction, far too many tfjs calls. Inputs are scaled to
 * [−1, 1] (t/T0 and b/B0, B0 the table's budget); queries beyond B0 are clamped to it. The row t = T0,
 * which every mapped query reads, is cached per integer budget.
 */
import * as tf from '@tensorflow/tfjs';
import { bidFromMarginal, Rng, type Bidder, type RlbValueFunction } from '@rewardlab/sim';

export const RLB_NEURAL_LAYERS = [2, 30, 15, 1] as const;

export interface FitMarginalValueOptions {
  /** Training cells drawn from the table (default 20000). */
  samples?: number;
  /** Adam steps (default 1500). */
  steps?: number;
  batchSize?: number;
  learningRate?: number;
  seed?: number;
}

export interface NeuralMarginalValueWeights {
  /** Row-major dense weights [in × out] and biases, layer by layer. */
  kernels: number[][];
  biases: number[][];
  t0: number;
  budget0: number;
  /** Targets were D / dScale. */
  dScale: number;
}

export class NeuralMarginalValue {
  private readonly kernels: Float64Array[];
  private readonly biases: Float64Array[];
  private readonly rowT0: Float64Array;
  private readonly h1 = new Float64Array(RLB_NEURAL_LAYERS[1]);
  private readonly h2 = new Float64Array(RLB_NEURAL_LAYERS[2]);

  constructor(
    readonly weights: NeuralMarginalValueWeights,
    /** Final training loss (MSE on D / dScale). */
    readonly loss: number,
  ) {
    this.kernels = weights.kernels.map((k) => Float64Array.from(k));
    this.biases = weights.biases.map((b) => Float64Array.from(b));
    this.rowT0 = new Float64Array(weights.budget0 + 1).fill(NaN);
  }

  get t0(): number {
    return this.weights.t0;
  }

  /** D̂(t, b) from the MLP, for t ≤ T0 (clamped to [0, T0] × [0, B0]); never negative. */
  predict(t: number, b: number): number {
    const { t0, budget0, dScale } = this.weights;
    const x0 = (2 * Math.min(Math.max(t, 0), t0)) / t0 - 1;
    const x1 = (2 * Math.min(Math.max(b, 0), budget0)) / budget0 - 1;
    const [k1, k2, k3] = this.kernels as [Float64Array, Float64Array, Float64Array];
    const [c1, c2, c3] = this.biases as [Float64Array, Float64Array, Float64Array];
    const n1 = this.h1.length;
    const n2 = this.h2.length;
    for (let j = 0; j < n1; j++) this.h1[j] = Math.tanh(x0 * k1[j]! + x1 * k1[n1 + j]! + c1[j]!);
    for (let j = 0; j < n2; j++) {
      let z = c2[j]!;
      for (let i = 0; i < n1; i++) z += this.h1[i]! * k2[i * n2 + j]!;
      this.h2[j] = Math.tanh(z);
    }
    let y = c3[0]!;
    for (let i = 0; i < n2; i++) y += this.h2[i]! * k3[i]!;
    return y > 0 ? y * dScale : 0;
  }

  /** D(t, b) with the long-episode mapping D(t, b) ≈ D̂(T0, b·T0/t) for t > T0. */
  marginal(t: number, b: number): number {
    const { t0, budget0 } = this.weights;
    if (t <= 0) return 0;
    if (t <= t0) return this.predict(t, b);
    const mapped = Math.min(Math.floor((b * t0) / t), budget0);
    let d = this.rowT0[mapped]!;
    if (Number.isNaN(d)) {
      d = this.predict(t0, mapped);
      this.rowT0[mapped] = d;
    }
    return d;
  }
}

/** Fits D̂ to the table's D(t, b), t = 1…N−1 (T0 = N − 1), b = 0…B0−1. */
export async function fitMarginalValueNet(table: RlbValueFunction, options: FitMarginalValueOptions = {}): Promise<NeuralMarginalValue> {
  const samples = options.samples ?? 20_000;
  const steps = options.steps ?? 1500;
  const batchSize = options.batchSize ?? 256;
  const learningRate = options.learningRate ?? 1e-2;
  const rng = new Rng(options.seed ?? 0);
  const t0 = table.auctions - 1;
  const budget0 = table.maxBudget;
  if (t0 < 1 || budget0 < 1) throw new RangeError(`fitMarginalValueNet: the table must have N ≥ 2 and a budget ≥ 1 (got N = ${table.auctions}, B = ${budget0})`);

  // --- training set: random cells of the table ------------------------------------------------------
  const xs = new Float32Array(samples * 2);
  const raw = new Float64Array(samples);
  let dScale = 0;
  for (let i = 0; i < samples; i++) {
    const t = 1 + rng.integer(t0);
    const b = rng.integer(budget0);
    xs[2 * i] = (2 * t) / t0 - 1;
    xs[2 * i + 1] = (2 * b) / budget0 - 1;
    raw[i] = table.marginal(t, b);
    dScale = Math.max(dScale, raw[i]!);
  }
  if (!(dScale > 0)) dScale = 1;
  const ys = Float32Array.from(raw, (d) => d / dScale);

  // --- the MLP: Glorot-uniform weights from the seeded Rng, zero biases -------------------------------
  const variables: tf.Variable[] = [];
  for (let l = 0; l + 1 < RLB_NEURAL_LAYERS.length; l++) {
    const fanIn = RLB_NEURAL_LAYERS[l]!;
    const fanOut = RLB_NEURAL_LAYERS[l + 1]!;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const w = Float32Array.from({ length: fanIn * fanOut }, () => rng.uniform(-limit, limit));
    // tidy frees the initial values; the variables survive it.
    variables.push(...tf.tidy(() => [tf.variable(tf.tensor2d(w, [fanIn, fanOut])), tf.variable(tf.zeros([fanOut]))]));
  }
  const forward = (x: tf.Tensor2D): tf.Tensor2D => {
    let h: tf.Tensor2D = x;
    for (let l = 0; l < variables.length; l += 2) {
      const z = tf.add(tf.matMul(h, variables[l] as tf.Tensor2D), variables[l + 1]!) as tf.Tensor2D;
      h = l + 2 < variables.length ? tf.tanh(z) : z;
    }
    return h;
  };

  // --- Adam on minibatches ------------------------------------------------------------------------------
  const optimizer = tf.train.adam(learningRate);
  const bx = new Float32Array(batchSize * 2);
  const by = new Float32Array(batchSize);
  let loss = NaN;
  for (let step = 0; step < steps; step++) {
    for (let i = 0; i < batchSize; i++) {
      const k = rng.integer(samples);
      bx[2 * i] = xs[2 * k]!;
      bx[2 * i + 1] = xs[2 * k + 1]!;
      by[i] = ys[k]!;
    }
    const report = step === steps - 1;
    const value = optimizer.minimize(() => {
      const x = tf.tensor2d(bx, [batchSize, 2]);
      const y = tf.tensor2d(by, [batchSize, 1]);
      return tf.losses.meanSquaredError(y, forward(x)) as tf.Scalar;
    }, report, variables);
    if (report && value) {
      loss = (await value.data())[0]!;
      value.dispose();
    }
  }
  optimizer.dispose();

  const kernels: number[][] = [];
  const biases: number[][] = [];
  for (let l = 0; l < variables.length; l += 2) {
    kernels.push(Array.from(await variables[l]!.data()));
    biases.push(Array.from(await variables[l + 1]!.data()));
  }
  for (const v of variables) v.dispose();
  return new NeuralMarginalValue({ kernels, biases, t0, budget0, dScale }, loss);
}

/** RLB bidding with the neural D and the long-episode mapping (clicks objective unless given). */
export function neuralRlbBidder(net: NeuralMarginalValue, objective: { clickValue?: number; costWeight?: number } = {}): Bidder {
  const marginal = (t: number, b: number): number => net.marginal(t, b);
  return { name: 'rlb-nn', bid: (t, b, pctr) => bidFromMarginal(marginal, t, b, pctr, objective.clickValue ?? 1, objective.costWeight ?? 0) };
}
