/**
 * Perceptual step rewards learned from demonstrations (Sermanet, Xu & Levine 2016, §3): discover `K`
 * steps in each demo, pick for each step the features that best tell its frames from the others, and
 * reward a frame by how likely its selected features are under the step's Gaussian.
 *
 * Learning (`learnPerceptualReward`):
 * 1. Normalise: every feature is z-scored by its mean and population std over all frames of all demos
 *    (stored in the model). A feature whose std is ≤ 1e-6·max(1, |mean|) is constant over the demos:
 *    it is stored with std 1 and never selected.
 * 2. Steps: `discoverSteps` on each demo's normalised features, separately (see steps.ts for the
 *    objective; default frame-weighted, steps of ≥ 1 frame).
 * 3. Selection, per step k: over the frames of step k in all demos (+) and all other demo frames (−),
 *    per normalised feature i the means μᵢ± and population stds σᵢ±; the score
 *    zᵢ = α·|μᵢ⁺ − μᵢ⁻| − (σᵢ⁺ + σᵢ⁻) (α = 5); the `topFeatures` (32) highest zᵢ are kept (ties: lower
 *    index first). μ⁺ and σ⁺ of the kept features are stored; σ⁺ is floored at `stdFloor` (default 1:
 *    a step's Gaussian is never narrower than the feature's spread over all demo frames), so a
 *    feature that happens to be nearly constant within a step cannot make the reward needle-sharp.
 *    Selected features have small σ⁺ by construction (zᵢ penalises it), and held-out demos differ
 *    from the training ones more than frames within a demo do: on rendered door-open demos with the
 *    camera jittered per demo (features.ts), held-out classification at threshold 0.5 went 72 / 81 /
 *    92 / 95 / 81 % for floors 0.1 / 0.5 / 0.75 / 1 / 1.5 with K = 2, and 76 / 80 / 88 / 92 / 82 % with
 *    K = 3 (default features); the floor hardly changes which step scores highest. The floor
 *    applies to the reward only; selection uses the raw σ.
 *
 * Step reward (`perceptualStepRewards`), per frame a and step k, with âᵢ the normalised feature:
 *   R_k(a) = −(1/n)·Σᵢ (âᵢ − μᵢ⁺)² / σᵢ⁺²
 * i.e. the mean squared z-score, negated: the Gaussian log-likelihood of the selected features up to
 * the factor ½ and constants (the paper prints the sum without the sign and with σ unsquared; we keep
 * the log-likelihood's sign and σ², so higher is better and the value is 0 exactly at the step's mean).
 *
 * Step score (`perceptualStepScores`): pₖ(a) = exp(R_k(a) / 2) = exp(−½·mean zᵢ²) ∈ (0, 1], the
 * geometric mean over the selected features of the Gaussian density relative to its peak. A frame drawn
 * from the step's own Gaussian has E[mean z²] = 1, so p ≈ e^{−½} ≈ 0.61; p ≥ 0.5 ⇔ mean z² ≤ 2 ln 2 ≈
 * 1.39. This is the number thresholded at 0.5 in `stepClassificationAccuracy`.
 *
 * Combined reward (`perceptualReward`): the steps' scores are turned into a step posterior
 * qₖ(a) = pₖ(a) / Σⱼ pⱼ(a) (equal priors; computed as a softmax of R/2, so it never underflows) and
 *   r(a) = Σₖ wₖ·qₖ(a),  wₖ = (2^k − 1) / (2^{K−1} − 1)  (k = 0 … K−1)
 * so r ∈ [0, 1]: a frame surely in the first step earns 0, one surely in the last step 1, and each
 * step's increment is twice the one before: the paper's doubling of the weight from one step to the
 * next (2^{i−1} for step i, as we read it; not re-checked against the paper offline), shifted and
 * scaled to [0, 1]. Why the posterior and not Σₖ 2^k·pₖ directly: with a broad σ floor
 * neighbouring steps overlap, and a frame of step k that half-matches step k+1 can then out-earn the
 * frames of step k+1 themselves (it happened in our synthetic test); normalising over the steps removes
 * that. On the door demos (held-out, default features) the Spearman correlation of r with the true
 * step was 0.85 (K = 2) and 0.88 (K = 3) against 0.85 and 0.82 for Σ 2^k·pₖ / Σ 2^k, and the mean reward
 * rose from step to step in every held-out demo. The weights never multiply the negative
 * log-likelihoods R_k: weighting those by 2^k would make later steps *penalise* more, not pay more.
 * The posterior forgets how well a frame matches any step at all: a frame unlike every demo frame still
 * gets the weight of the step it is least unlike. Where an agent can reach such frames, gate or
 * multiply r by a confidence such as maxₖ pₖ (`perceptualStepScores`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { PerceptualRewardError } from './errors';
import { checkDemos, checkFeatureMatrix, discoverSteps, type PerceptualDemo, type StepSearchOptions, type StepWeighting } from './steps';

export const PERCEPTUAL_REWARD_FORMAT = 'rewardlab-perceptual-reward';
export const PERCEPTUAL_REWARD_VERSION = 1;
export const DEFAULT_TOP_FEATURES = 32;
export const DEFAULT_ALPHA = 5;
export const DEFAULT_STD_FLOOR = 1;

/** One step's reward: the selected features and their Gaussian (normalised units). */
export interface PerceptualStepModel {
  /** Selected feature indices (into the per-frame features), best zᵢ first. */
  features: number[];
  /** zᵢ of each selected feature. */
  scores: number[];
  /** μᵢ⁺ of each selected feature. */
  mean: number[];
  /** σᵢ⁺ of each selected feature, floored at the model's stdFloor. */
  std: number[];
  /** Demo frames in this step, over all demos. */
  frames: number;
}

export interface PerceptualRewardModel {
  format: typeof PERCEPTUAL_REWARD_FORMAT;
  version: typeof PERCEPTUAL_REWARD_VERSION;
  /** The env the demos come from (null when not given). */
  env: string | null;
  /** What made the features: source, layers and pooling (null when not given). */
  featureSource: { source: string | null; layers: string[] | null; pooling: string | null; inputSize?: number };
  /** Features per frame. */
  dim: number;
  /** Number of steps K. */
  steps: number;
  topFeatures: number;
  alpha: number;
  stdFloor: number;
  segmentation: { weighting: StepWeighting; minSegmentLength: number };
  /** Per-feature mean and std over all demo frames (std 1 for constant features). */
  normalization: { mean: number[]; std: number[] };
  stepModels: PerceptualStepModel[];
  /** Each demo's length and the start frame of each of its steps. */
  demos: { count: number; starts: number[] }[];
  /** How the demos' frames were drawn (size and camera), so the reward node draws states alike. */
  frames?: { width: number; height: number; camera?: string | { position: [number, number, number]; target: [number, number, number]; fovDeg: number; up?: [number, number, number] } };
}

export interface LearnPerceptualRewardOptions {
  /** Number of steps K (≥ 2: selection contrasts a step with the others). */
  steps: number;
  /** Features kept per step (default 32). */
  topFeatures?: number;
  /** α in zᵢ = α·|μᵢ⁺ − μᵢ⁻| − (σᵢ⁺ + σᵢ⁻) (default 5). */
  alpha?: number;
  /** Least σᵢ⁺ (normalised units) used in the reward (default 1). */
  stdFloor?: number;
  /** Step discovery options (default frame-weighted, ≥ 1 frame a step). */
  segmentation?: StepSearchOptions;
  /** Recorded in the model: what made the features. */
  source?: string;
  layers?: readonly string[];
  pooling?: string;
  /** Recorded in the model: the feature network's input side. */
  inputSize?: number;
  env?: string;
}

function positiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new PerceptualRewardError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function positiveNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new PerceptualRewardError(`${name} must be a positive finite number, got ${String(value)}`);
  return value;
}

/** Learns per-step perceptual rewards from demos (`features` count × dim per demo). */
export function learnPerceptualReward(demos: readonly PerceptualDemo[], dim: number, options: LearnPerceptualRewardOptions): PerceptualRewardModel {
  if (!options || typeof options !== 'object') throw new PerceptualRewardError('options must be an object with at least { steps }');
  const steps = positiveInt(options.steps, 'steps');
  if (steps < 2) throw new PerceptualRewardError(`steps must be at least 2, got ${steps}: feature selection contrasts each step's frames with the other steps'`);
  const topFeatures = positiveInt(options.topFeatures ?? DEFAULT_TOP_FEATURES, 'topFeatures');
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha < 0) throw new PerceptualRewardError(`alpha must be a finite number ≥ 0, got ${String(alpha)}`);
  const stdFloor = positiveNumber(options.stdFloor ?? DEFAULT_STD_FLOOR, 'stdFloor');
  positiveInt(dim, 'dim');
  checkDemos(demos, dim);
  const segmentation = { weighting: options.segmentation?.weighting ?? 'frames', minSegmentLength: options.segmentation?.minSegmentLength ?? 1 };

  // 1. Normalisation over all demo frames (two passes, float64).
  const total = demos.reduce((s, d) => s + d.count, 0);
  const mean = new Float64Array(dim);
  for (const d of demos) for (let t = 0; t < d.count; t++) for (let i = 0; i < dim; i++) mean[i]! += d.features[t * dim + i]!;
  for (let i = 0; i < dim; i++) mean[i]! /= total;
  const std = new Float64Array(dim);
  for (const d of demos) {
    for (let t = 0; t < d.count; t++) {
      for (let i = 0; i < dim; i++) {
        const e = d.features[t * dim + i]! - mean[i]!;
        std[i]! += e * e;
      }
    }
  }
  const constant = new Uint8Array(dim);
  for (let i = 0; i < dim; i++) {
    std[i] = Math.sqrt(std[i]! / total);
    if (std[i]! <= 1e-6 * Math.max(1, Math.abs(mean[i]!))) {
      constant[i] = 1;
      std[i] = 1;
    }
  }
  const selectable = dim - constant.reduce((s, c) => s + c, 0);
  if (selectable === 0) throw new PerceptualRewardError('every feature is constant over the demos: there is nothing to tell the steps apart by');

  // 2. Steps, per demo, on its normalised features (one demo's copy at a time).
  const starts = demos.map((d, j) => {
    if (d.count < steps * segmentation.minSegmentLength) {
      throw new PerceptualRewardError(`demo ${j}: cannot split ${d.count} frames into ${steps} steps${segmentation.minSegmentLength > 1 ? ` of at least ${segmentation.minSegmentLength} frames` : ': fewer frames than steps'}`);
    }
    const x = new Float64Array(d.count * dim);
    for (let t = 0; t < d.count; t++) for (let i = 0; i < dim; i++) x[t * dim + i] = (d.features[t * dim + i]! - mean[i]!) / std[i]!;
    return discoverSteps(x, d.count, dim, steps, segmentation);
  });

  // 3. Per-step statistics and selection (two passes per group, float64).
  const n = Math.min(topFeatures, selectable);
  const stepModels: PerceptualStepModel[] = [];
  for (let k = 0; k < steps; k++) {
    const sum = [new Float64Array(dim), new Float64Array(dim)];
    const cnt = [0, 0];
    // Every demo frame, normalised into `row`, with its group (0: in step k, 1: not).
    const row = new Float64Array(dim);
    const eachFrame = (fn: (x: Float64Array, o: number, g: 0 | 1) => void): void => {
      demos.forEach((d, j) => {
        const s = starts[j]!;
        const a = s[k]!;
        const b = k + 1 < steps ? s[k + 1]! : d.count;
        for (let t = 0; t < d.count; t++) {
          for (let i = 0; i < dim; i++) row[i] = (d.features[t * dim + i]! - mean[i]!) / std[i]!;
          fn(row, 0, t >= a && t < b ? 0 : 1);
        }
      });
    };
    eachFrame((x, o, g) => {
      cnt[g]!++;
      const acc = sum[g]!;
      for (let i = 0; i < dim; i++) acc[i]! += x[o + i]!;
    });
    const mu = sum.map((s, g) => s.map((v) => v / cnt[g]!));
    const ss = [new Float64Array(dim), new Float64Array(dim)];
    eachFrame((x, o, g) => {
      const m = mu[g]!;
      const acc = ss[g]!;
      for (let i = 0; i < dim; i++) {
        const e = x[o + i]! - m[i]!;
        acc[i]! += e * e;
      }
    });
    const sigma = ss.map((s, g) => s.map((v) => Math.sqrt(v / cnt[g]!)));
    const z = new Float64Array(dim);
    const order: number[] = [];
    for (let i = 0; i < dim; i++) {
      if (constant[i]) continue;
      z[i] = alpha * Math.abs(mu[0]![i]! - mu[1]![i]!) - (sigma[0]![i]! + sigma[1]![i]!);
      order.push(i);
    }
    order.sort((a, b) => z[b]! - z[a]! || a - b);
    const chosen = order.slice(0, n);
    stepModels.push({
      features: chosen,
      scores: chosen.map((i) => z[i]!),
      mean: chosen.map((i) => mu[0]![i]!),
      std: chosen.map((i) => Math.max(stdFloor, sigma[0]![i]!)),
      frames: cnt[0]!,
    });
  }

  return {
    format: PERCEPTUAL_REWARD_FORMAT,
    version: PERCEPTUAL_REWARD_VERSION,
    env: options.env ?? null,
    featureSource: { source: options.source ?? null, layers: options.layers ? [...options.layers] : null, pooling: options.pooling ?? null, ...(options.inputSize !== undefined ? { inputSize: options.inputSize } : {}) },
    dim,
    steps,
    topFeatures,
    alpha,
    stdFloor,
    segmentation,
    normalization: { mean: Array.from(mean), std: Array.from(std) },
    stepModels,
    demos: demos.map((d, j) => ({ count: d.count, starts: starts[j]! })),
  };
}

/**
 * R_k(a) for every frame and step: a `count × steps` row-major array (frame t, step k at t·K + k).
 * Values are ≤ 0; 0 at the step's mean (see the module comment).
 */
export function perceptualStepRewards(model: PerceptualRewardModel, features: Float32Array | Float64Array, count: number): Float64Array {
  checkFeatureMatrix(features, count, model.dim);
  const K = model.steps;
  const { mean, std } = model.normalization;
  const out = new Float64Array(count * K);
  for (let k = 0; k < K; k++) {
    const s = model.stepModels[k]!;
    const nf = s.features.length;
    for (let t = 0; t < count; t++) {
      const row = t * model.dim;
      let acc = 0;
      for (let j = 0; j < nf; j++) {
        const i = s.features[j]!;
        const a = (features[row + i]! - mean[i]!) / std[i]!;
        const e = (a - s.mean[j]!) / s.std[j]!;
        acc += e * e;
      }
      out[t * K + k] = -acc / nf;
    }
  }
  return out;
}

function checkStepRewards(model: PerceptualRewardModel, stepRewards: Float64Array | Float32Array): number {
  if (!(stepRewards instanceof Float64Array || stepRewards instanceof Float32Array)) throw new PerceptualRewardError('stepRewards must be the Float64Array from perceptualStepRewards (count × steps)');
  if (stepRewards.length % model.steps !== 0) throw new PerceptualRewardError(`stepRewards has ${stepRewards.length} values, not a multiple of the model's ${model.steps} steps`);
  return stepRewards.length / model.steps;
}

/** pₖ = exp(R_k / 2) ∈ (0, 1] for every frame and step (same layout as the step rewards). */
export function perceptualStepScores(model: PerceptualRewardModel, stepRewards: Float64Array | Float32Array): Float64Array {
  checkStepRewards(model, stepRewards);
  return Float64Array.from(stepRewards, (r) => Math.exp(r / 2));
}

/** The default step weights (2^k − 1) / (2^{K−1} − 1): 0 for the first step, 1 for the last. */
export function perceptualStepWeights(steps: number): number[] {
  positiveInt(steps, 'steps');
  if (steps === 1) return [1];
  return Array.from({ length: steps }, (_, k) => (2 ** k - 1) / (2 ** (steps - 1) - 1));
}

/**
 * One reward per frame: r = Σₖ wₖ·qₖ with qₖ = pₖ / Σⱼ pⱼ the step posterior and wₖ the default
 * `perceptualStepWeights` (so r ∈ [0, 1], later steps pay more) or `weights` (K finite numbers, used as
 * given). See the module comment.
 */
export function perceptualReward(model: PerceptualRewardModel, stepRewards: Float64Array | Float32Array, options: { weights?: readonly number[] } = {}): Float64Array {
  const count = checkStepRewards(model, stepRewards);
  const K = model.steps;
  let w = perceptualStepWeights(K);
  if (options.weights !== undefined) {
    const given = options.weights;
    if (!Array.isArray(given) || given.length !== K || given.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
      throw new PerceptualRewardError(`weights must be ${K} finite numbers (one per step), got ${JSON.stringify(given)}`);
    }
    w = [...given];
  }
  const out = new Float64Array(count);
  for (let t = 0; t < count; t++) {
    let top = -Infinity;
    for (let k = 0; k < K; k++) top = Math.max(top, stepRewards[t * K + k]!);
    let num = 0;
    let den = 0;
    for (let k = 0; k < K; k++) {
      const e = Math.exp((stepRewards[t * K + k]! - top) / 2);
      num += w[k]! * e;
      den += e;
    }
    out[t] = num / den;
  }
  return out;
}

export interface StepClassificationResult {
  /** Correct (frame, step) decisions / all decisions. */
  accuracy: number;
  /** The same per step (over the frames). */
  perStep: number[];
  /** count × steps. */
  decisions: number;
}

/**
 * Step-reward classification (the paper's held-out accuracy at threshold 0.5): for every frame t and
 * step k, the decision "t is in step k" is pₖ(t) ≥ threshold (pₖ = exp(R_k / 2), see the module
 * comment); it is correct when it agrees with `trueSteps[t] === k`. `trueSteps` holds each frame's
 * step, 0-based (`stepLabelsFromStarts` turns step starts into these).
 */
export function stepClassificationAccuracy(model: PerceptualRewardModel, features: Float32Array | Float64Array, count: number, trueSteps: readonly number[], threshold = 0.5): StepClassificationResult {
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) throw new PerceptualRewardError(`threshold must be a number in [0, 1], got ${String(threshold)}`);
  if (!Array.isArray(trueSteps) || trueSteps.length !== count) throw new PerceptualRewardError(`trueSteps must hold one step per frame (${count}), got ${Array.isArray(trueSteps) ? trueSteps.length : typeof trueSteps}`);
  trueSteps.forEach((s, t) => {
    if (!Number.isInteger(s) || s < 0 || s >= model.steps) throw new PerceptualRewardError(`trueSteps[${t}] = ${String(s)} is not a step in 0 … ${model.steps - 1}`);
  });
  const R = perceptualStepRewards(model, features, count);
  const K = model.steps;
  const right = new Array<number>(K).fill(0);
  for (let t = 0; t < count; t++) {
    for (let k = 0; k < K; k++) {
      const predicted = Math.exp(R[t * K + k]! / 2) >= threshold;
      if (predicted === (trueSteps[t] === k)) right[k]!++;
    }
  }
  const correct = right.reduce((a, b) => a + b, 0);
  return { accuracy: correct / (count * K), perStep: right.map((r) => r / count), decisions: count * K };
}

// ---- JSON ----

const finite = z.number().finite();
const stepModelSchema = z
  .object({
    features: z.array(z.number().int().nonnegative()).min(1),
    scores: z.array(finite),
    mean: z.array(finite),
    std: z.array(finite.positive()),
    frames: z.number().int().positive(),
  })
  .strict();
const modelSchema = z
  .object({
    format: z.literal(PERCEPTUAL_REWARD_FORMAT),
    version: z.literal(PERCEPTUAL_REWARD_VERSION),
    env: z.string().nullable(),
    featureSource: z.object({ source: z.string().nullable(), layers: z.array(z.string()).nullable(), pooling: z.string().nullable(), inputSize: z.number().int().min(75).optional() }).strict(),
    dim: z.number().int().positive(),
    steps: z.number().int().min(2),
    topFeatures: z.number().int().positive(),
    alpha: finite.nonnegative(),
    stdFloor: finite.positive(),
    segmentation: z.object({ weighting: z.enum(['frames', 'segments']), minSegmentLength: z.number().int().positive() }).strict(),
    normalization: z.object({ mean: z.array(finite), std: z.array(finite.positive()) }).strict(),
    stepModels: z.array(stepModelSchema),
    demos: z.array(z.object({ count: z.number().int().positive(), starts: z.array(z.number().int().nonnegative()) }).strict()).min(1),
    frames: z
      .object({
        width: z.number().int().min(8).max(2048),
        height: z.number().int().min(8).max(2048),
        camera: z.union([z.string().min(1), z.object({ position: z.tuple([finite, finite, finite]), target: z.tuple([finite, finite, finite]), fovDeg: finite.positive(), up: z.tuple([finite, finite, finite]).optional() }).strict()]).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * Validates a perceptual reward model (parsed JSON, or JSON text). Errors name `file` (when given) and
 * the field: `model.json: stepModels[1].std[3]: …`.
 */
export function parsePerceptualRewardModel(json: unknown, file?: string): PerceptualRewardModel {
  const where = file ?? 'perceptual reward model';
  let raw = json;
  if (typeof json === 'string') {
    try {
      raw = JSON.parse(json);
    } catch (err) {
      throw new PerceptualRewardError(`${where} is not valid JSON: ${(err as Error).message}`);
    }
  }
  const parsed = modelSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${formatPath(i.path)}: ${i.message}`);
    const more = parsed.error.issues.length > 5 ? ` (and ${parsed.error.issues.length - 5} more)` : '';
    throw new PerceptualRewardError(`${where}: ${issues.join('; ')}${more}`);
  }
  const m = parsed.data as PerceptualRewardModel;
  const fail = (field: string, message: string): never => {
    throw new PerceptualRewardError(`${where}: ${field}: ${message}`);
  };
  for (const key of ['mean', 'std'] as const) if (m.normalization[key].length !== m.dim) fail(`normalization.${key}`, `has ${m.normalization[key].length} entries, expected dim = ${m.dim}`);
  if (m.stepModels.length !== m.steps) fail('stepModels', `has ${m.stepModels.length} steps, expected steps = ${m.steps}`);
  m.stepModels.forEach((s, k) => {
    for (const key of ['scores', 'mean', 'std'] as const) if (s[key].length !== s.features.length) fail(`stepModels[${k}].${key}`, `has ${s[key].length} entries but features has ${s.features.length}`);
    s.features.forEach((i, j) => {
      if (i >= m.dim) fail(`stepModels[${k}].features[${j}]`, `feature ${i} is out of range for dim = ${m.dim}`);
    });
  });
  m.demos.forEach((d, j) => {
    if (d.starts.length !== m.steps) fail(`demos[${j}].starts`, `has ${d.starts.length} entries, expected steps = ${m.steps}`);
    if (d.starts[0] !== 0) fail(`demos[${j}].starts[0]`, `the first step starts at frame 0, got ${d.starts[0]}`);
    d.starts.forEach((s, k) => {
      if (s >= d.count || (k > 0 && s <= d.starts[k - 1]!)) fail(`demos[${j}].starts[${k}]`, `${s} is not increasing within the demo's ${d.count} frames`);
    });
  });
  return m;
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

/** Writes the model as JSON (validated first; creates the directory). */
export function savePerceptualRewardModel(model: PerceptualRewardModel, path: string): void {
  parsePerceptualRewardModel(model, 'the model to save');
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${JSON.stringify(model)}\n`);
  } catch (err) {
    throw new PerceptualRewardError(`cannot write the perceptual reward model to ${path}: ${(err as Error).message}`);
  }
}

/** Reads and validates a model file; a missing, unreadable or corrupt file is an error naming the path. */
export function loadPerceptualRewardModel(path: string): PerceptualRewardModel {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new PerceptualRewardError(code === 'ENOENT' ? `perceptual reward model ${path} does not exist` : `cannot read perceptual reward model ${path}: ${(err as Error).message}`);
  }
  return parsePerceptualRewardModel(text, path);
}
