/**
 * Step discovery (Sermanet, Xu & Levine 2016, §3.2): split a demonstration into `K` contiguous steps
 * so that the frames of each step look alike, measured as the average per-feature standard deviation
 * within the steps.
 *
 * The objective, exactly (`segmentationCost`): a demo of `T` frames × `D` features is cut at step
 * starts `0 = s₀ < s₁ < … < s_{K−1} < T` into segments `S_k = [s_k, s_{k+1})` (`s_K = T`) of `n_k`
 * frames. For each segment and feature, `σ_{k,d}` is the population standard deviation (divide by
 * `n_k`) of that feature over the segment's frames; the segment's cost is the mean over features,
 * `c_k = (1/D)·Σ_d σ_{k,d}`. Segments are averaged
 * - `weighting: 'frames'` (default): by their share of frames, `cost = Σ_k (n_k/T)·c_k`, i.e. the
 *   average over frames of their own segment's mean std. This is the objective of fitting one Gaussian
 *   per segment and scoring every frame; it does not favour tiny segments;
 * - `weighting: 'segments'`: equally, `cost = (1/K)·Σ_k c_k`. A one-frame segment costs 0 here, so this
 *   reading of the paper tends to carve single frames off the ends unless `minSegmentLength` prevents it.
 * Each segment has at least `minSegmentLength` frames (default 1; a one-frame segment has σ = 0).
 *
 * The paper's recursive search over split points enumerates every combination (O(T^{K−1}));
 * `discoverSteps` finds the same optimum with the recursion memoised (dynamic programming over
 * "best cost of the first j frames in k segments", exact because the cost is a sum over segments):
 * O(T²·D) time for the segment costs (running sums of x and x² from each start, features centred
 * first for precision) plus O(K·T²), and O(K·T + D) memory. On this (shared, 2-core) machine, K = 3:
 * 1.1 s for 100 frames of 28,224 features (the default Inception features), 7 s for 300 frames, 0.9 s
 * for 300 frames of 3,136. `bruteForceSteps` is the literal exhaustive search, for tests and small
 * inputs. Ties (equal cost to ~1e-12) are resolved towards earlier split points in both, but exact ties
 * are only expected for degenerate inputs (repeated frames).
 *
 * Features are used as given: step discovery on raw Inception activations is dominated by the
 * channels with the largest spread. `learnPerceptualReward` runs it on features normalised by their
 * mean/std over all demo frames, so every feature counts alike.
 */
import { PerceptualRewardError } from './errors';

export type StepWeighting = 'frames' | 'segments';

export interface StepSearchOptions {
  /** Fewest frames a step may have (default 1). */
  minSegmentLength?: number;
  /** How segment costs are averaged (see the module comment; default 'frames'). */
  weighting?: StepWeighting;
}

/** One demonstration's per-frame features, `count × dim` row-major. */
export interface PerceptualDemo {
  features: Float32Array | Float64Array;
  count: number;
}

type Features = Float32Array | Float64Array;

interface Resolved {
  minLength: number;
  weighting: StepWeighting;
}

function resolveOptions(options: StepSearchOptions | undefined): Resolved {
  const minLength = options?.minSegmentLength ?? 1;
  if (!Number.isInteger(minLength) || minLength < 1) throw new PerceptualRewardError(`minSegmentLength must be a positive integer, got ${String(minLength)}`);
  const weighting = options?.weighting ?? 'frames';
  if (weighting !== 'frames' && weighting !== 'segments') throw new PerceptualRewardError(`weighting must be 'frames' or 'segments', got ${JSON.stringify(weighting)}`);
  return { minLength, weighting };
}

/** Checks steps, count, dim and the array length; `what` prefixes messages (e.g. "demo 2: "). */
export function checkFeatureMatrix(features: unknown, count: number, dim: number, what = ''): asserts features is Features {
  if (!(features instanceof Float32Array || features instanceof Float64Array)) throw new PerceptualRewardError(`${what}features must be a Float32Array or Float64Array (count × dim, row-major)`);
  if (!Number.isInteger(count) || count < 1) throw new PerceptualRewardError(`${what}count must be a positive integer number of frames, got ${String(count)}`);
  if (!Number.isInteger(dim) || dim < 1) throw new PerceptualRewardError(`${what}dim must be a positive integer, got ${String(dim)}`);
  if (features.length !== count * dim) {
    throw new PerceptualRewardError(`${what}features has ${features.length} values, expected count × dim = ${count} × ${dim} = ${count * dim}`);
  }
  for (let i = 0; i < features.length; i++) {
    if (!Number.isFinite(features[i]!)) throw new PerceptualRewardError(`${what}features[${i}] (frame ${Math.floor(i / dim)}, feature ${i % dim}) is ${features[i]}, not a finite number`);
  }
}

function checkSteps(steps: number, count: number, minLength: number, what = ''): void {
  if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 1) throw new PerceptualRewardError(`steps must be a positive integer, got ${String(steps)}`);
  if (count < steps * minLength) {
    throw new PerceptualRewardError(
      minLength === 1
        ? `${what}cannot split ${count} frame${count === 1 ? '' : 's'} into ${steps} steps: fewer frames than steps`
        : `${what}cannot split ${count} frames into ${steps} steps of at least ${minLength} frames each (needs ${steps * minLength})`,
    );
  }
}

/** Mean over features of the population std of frames [a, b) — two-pass, as the definition reads. */
function segmentMeanStd(features: Features, dim: number, a: number, b: number): number {
  const n = b - a;
  let total = 0;
  for (let d = 0; d < dim; d++) {
    let mean = 0;
    for (let t = a; t < b; t++) mean += features[t * dim + d]!;
    mean /= n;
    let ss = 0;
    for (let t = a; t < b; t++) {
      const e = features[t * dim + d]! - mean;
      ss += e * e;
    }
    total += Math.sqrt(ss / n);
  }
  return total / dim;
}

function segmentWeight(weighting: StepWeighting, n: number, count: number, steps: number): number {
  return weighting === 'frames' ? n / count : 1 / steps;
}

function checkStarts(starts: readonly number[], count: number, minLength: number): void {
  if (!Array.isArray(starts) || starts.length === 0) throw new PerceptualRewardError('starts must be a non-empty array of step start frames');
  if (starts[0] !== 0) throw new PerceptualRewardError(`the first step must start at frame 0, got ${String(starts[0])}`);
  for (let k = 0; k < starts.length; k++) {
    const s = starts[k]!;
    if (!Number.isInteger(s) || s < 0 || s >= count) throw new PerceptualRewardError(`starts[${k}] = ${String(s)} is not a frame index in [0, ${count})`);
    const end = k + 1 < starts.length ? starts[k + 1]! : count;
    if (end - s < minLength) throw new PerceptualRewardError(`step ${k} (frames ${s}..${end - 1}) has ${end - s} frames, fewer than ${minLength}`);
  }
}

/** The objective above for the steps starting at `starts` (first 0, increasing). */
export function segmentationCost(features: Features, count: number, dim: number, starts: readonly number[], options?: StepSearchOptions): number {
  const { minLength, weighting } = resolveOptions(options);
  checkFeatureMatrix(features, count, dim);
  checkStarts(starts, count, minLength);
  let cost = 0;
  for (let k = 0; k < starts.length; k++) {
    const a = starts[k]!;
    const b = k + 1 < starts.length ? starts[k + 1]! : count;
    cost += segmentWeight(weighting, b - a, count, starts.length) * segmentMeanStd(features, dim, a, b);
  }
  return cost;
}

/** Whether `candidate` beats `current` by more than rounding (so ties keep the earlier split points). */
function improves(candidate: number, current: number): boolean {
  return current === Infinity || candidate < current - 1e-12 * Math.max(1, Math.abs(current));
}

/** Most segmentations `bruteForceSteps` will enumerate. */
export const BRUTE_FORCE_LIMIT = 2_000_000;

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/**
 * Exhaustive search over every placement of the `steps − 1` split points (for tests and small inputs;
 * refuses more than `BRUTE_FORCE_LIMIT` segmentations). Returns the start frame of each step.
 */
export function bruteForceSteps(features: Features, count: number, dim: number, steps: number, options?: StepSearchOptions): number[] {
  const { minLength, weighting } = resolveOptions(options);
  checkFeatureMatrix(features, count, dim);
  checkSteps(steps, count, minLength);
  // Choosing the splits with each segment ≥ m frames is choosing K−1 items from T − K·m + K − 1.
  const combos = binomial(count - steps * minLength + steps - 1, steps - 1);
  if (combos > BRUTE_FORCE_LIMIT) throw new PerceptualRewardError(`brute force over ${count} frames and ${steps} steps would try ${combos.toExponential(2)} segmentations (limit ${BRUTE_FORCE_LIMIT}); use discoverSteps`);
  // Segment costs are cached: each [a, b) is visited by many combinations.
  const cache = new Map<number, number>();
  const seg = (a: number, b: number): number => {
    const key = a * (count + 1) + b;
    let v = cache.get(key);
    if (v === undefined) {
      v = segmentWeight(weighting, b - a, count, steps) * segmentMeanStd(features, dim, a, b);
      cache.set(key, v);
    }
    return v;
  };
  let best = Infinity;
  let bestStarts: number[] = [];
  const starts = [0];
  const recurse = (k: number, acc: number): void => {
    const a = starts[k - 1]!;
    if (k === steps) {
      const total = acc + seg(a, count);
      if (improves(total, best)) {
        best = total;
        bestStarts = starts.slice();
      }
      return;
    }
    // Step k starts at s: the previous segment needs ≥ m frames, the remaining steps−k need ≥ m each.
    for (let s = a + minLength; s <= count - (steps - k) * minLength; s++) {
      starts.push(s);
      recurse(k + 1, acc + seg(a, s));
      starts.pop();
    }
  };
  recurse(1, 0);
  return bestStarts;
}

/**
 * Splits one demo into `steps` steps minimising `segmentationCost` (exactly: the memoised recursion
 * described above). Returns the start frame of each step; the first is 0.
 */
export function discoverSteps(features: Features, count: number, dim: number, steps: number, options?: StepSearchOptions): number[] {
  const { minLength, weighting } = resolveOptions(options);
  checkFeatureMatrix(features, count, dim);
  checkSteps(steps, count, minLength);
  if (steps === 1) return [0];
  const T = count;
  const D = dim;
  // Centre each feature (on its mean over the demo) first: E[x²] − E[x]² then subtracts numbers of
  // the size of the variance, not of the mean.
  const centre = new Float64Array(D);
  for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) centre[d]! += features[t * D + d]!;
  for (let d = 0; d < D; d++) centre[d]! /= T;
  // best[k][j]: least cost of frames [0, j) in k+1 segments; from[k][j]: where its last segment starts.
  const best = Array.from({ length: steps }, () => new Float64Array(T + 1).fill(Infinity));
  const from = Array.from({ length: steps }, () => new Int32Array(T + 1).fill(-1));
  const m = minLength;
  const s1 = new Float64Array(D);
  const s2 = new Float64Array(D);
  // Segments by start i (increasing: best[·][i] is final once every segment ending at i, which all
  // start earlier, has been tried), extended frame by frame with running sums (O(D) memory).
  for (let i = 0; i <= T - m; i++) {
    // Segment [i, j) can be segment k (0-based) when the first i frames hold k segments (k = 0 iff
    // i = 0; best[k−1][i] is finite otherwise) and the T − j frames after it the remaining ones.
    const kFirst = i === 0 ? 0 : 1;
    const kLast = i === 0 ? 0 : Math.min(steps - 1, Math.floor(i / m));
    let usable = false;
    for (let k = kFirst; k <= kLast; k++) if (k === 0 || best[k - 1]![i]! < Infinity) usable = true;
    if (!usable) continue;
    s1.fill(0);
    s2.fill(0);
    for (let j = i + 1; j <= T; j++) {
      const n = j - i;
      // Is [i, j) a candidate for some segment index k here?
      let needed = false;
      if (n >= m) {
        for (let k = kFirst; k <= kLast && !needed; k++) {
          if ((steps - 1 - k) * m > T - j || (k === steps - 1 && j !== T)) continue;
          if (k === 0 || best[k - 1]![i]! < Infinity) needed = true;
        }
      }
      const row = (j - 1) * D;
      if (!needed) {
        for (let d = 0; d < D; d++) {
          const x = features[row + d]! - centre[d]!;
          s1[d]! += x;
          s2[d]! += x * x;
        }
        continue;
      }
      // Add frame j − 1 and take the mean per-feature std in one pass.
      let sum = 0;
      for (let d = 0; d < D; d++) {
        const x = features[row + d]! - centre[d]!;
        const a1 = s1[d]! + x;
        const a2 = s2[d]! + x * x;
        s1[d] = a1;
        s2[d] = a2;
        const mean = a1 / n;
        const v = a2 / n - mean * mean;
        if (v > 0) sum += Math.sqrt(v);
      }
      const c = (segmentWeight(weighting, n, T, steps) * sum) / D;
      for (let k = kFirst; k <= kLast; k++) {
        if ((steps - 1 - k) * m > T - j || (k === steps - 1 && j !== T)) continue;
        const prev = k === 0 ? 0 : best[k - 1]![i]!;
        if (prev === Infinity) continue;
        const total = prev + c;
        if (improves(total, best[k]![j]!)) {
          best[k]![j] = total;
          from[k]![j] = i;
        }
      }
    }
  }
  const starts = new Array<number>(steps);
  let j = T;
  for (let k = steps - 1; k >= 0; k--) {
    const i = from[k]![j]!;
    starts[k] = i;
    j = i;
  }
  return starts;
}

function demoDim(demo: PerceptualDemo, index: number): number {
  if (!demo || typeof demo !== 'object') throw new PerceptualRewardError(`demo ${index} must be { features, count }`);
  const { features, count } = demo;
  if (!(features instanceof Float32Array || features instanceof Float64Array)) throw new PerceptualRewardError(`demo ${index}: features must be a Float32Array or Float64Array (count × dim, row-major)`);
  if (!Number.isInteger(count) || count < 1) throw new PerceptualRewardError(`demo ${index}: count must be a positive integer number of frames, got ${String(count)}`);
  if (features.length % count !== 0) throw new PerceptualRewardError(`demo ${index}: features has ${features.length} values, not a whole number per frame for ${count} frames`);
  return features.length / count;
}

/**
 * Checks a list of demos against one feature dimension (given, or that of demo 0) and returns it.
 * Demos whose per-frame dimension differs are refused, naming both.
 */
export function checkDemos(demos: readonly PerceptualDemo[], dim?: number): number {
  if (!Array.isArray(demos) || demos.length === 0) throw new PerceptualRewardError('demos must be a non-empty array of { features, count }');
  const d = dim ?? demoDim(demos[0]!, 0);
  demos.forEach((demo, i) => {
    const di = demoDim(demo, i);
    if (di !== d) {
      throw new PerceptualRewardError(
        dim === undefined
          ? `demo ${i} has ${di} features per frame but demo 0 has ${d}: every demo needs the same features`
          : `demo ${i} has ${di} features per frame (${demo.features.length} values for ${demo.count} frames), expected dim = ${d}`,
      );
    }
    checkFeatureMatrix(demo.features, demo.count, d, `demo ${i}: `);
  });
  return d;
}

/**
 * Splits each demo separately into `steps` steps (as the paper: every demo has its own split points).
 * `options.dim` is the feature dimension (default: that of demo 0; all demos must agree).
 */
export function discoverStepsAcross(demos: readonly PerceptualDemo[], steps: number, options?: StepSearchOptions & { dim?: number }): number[][] {
  const dim = checkDemos(demos, options?.dim);
  const { minLength } = resolveOptions(options);
  demos.forEach((demo, i) => checkSteps(steps, demo.count, minLength, `demo ${i}: `));
  return demos.map((demo) => discoverSteps(demo.features, demo.count, dim, steps, options));
}

/** Per-frame step labels (0-based) of a demo whose steps start at `starts`. */
export function stepLabelsFromStarts(starts: readonly number[], count: number): number[] {
  checkStarts(starts, count, 1);
  const labels = new Array<number>(count);
  for (let k = 0; k < starts.length; k++) {
    const end = k + 1 < starts.length ? starts[k + 1]! : count;
    for (let t = starts[k]!; t < end; t++) labels[t] = k;
  }
  return labels;
}
