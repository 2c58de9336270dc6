import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bruteForceSteps,
  discoverSteps,
  discoverStepsAcross,
  learnPerceptualReward,
  loadPerceptualRewardModel,
  parsePerceptualRewardModel,
  perceptualReward,
  perceptualStepRewards,
  perceptualStepScores,
  perceptualStepWeights,
  PerceptualRewardError,
  savePerceptualRewardModel,
  segmentationCost,
  stepClassificationAccuracy,
  stepLabelsFromStarts,
  type PerceptualDemo,
} from '../src';

/** mulberry32: a small seeded generator for the random inputs. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

function randomFeatures(seed: number, count: number, dim: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: count * dim }, () => gaussian(r));
}

/** Frames whose features sit at per-step levels (levels[k][d]) plus noise of std `noise`; steps start at `starts`. */
function planted(seed: number, starts: number[], count: number, levels: number[][], noise: number): Float64Array {
  const r = rng(seed);
  const dim = levels[0]!.length;
  const labels = stepLabelsFromStarts(starts, count);
  const x = new Float64Array(count * dim);
  for (let t = 0; t < count; t++) for (let d = 0; d < dim; d++) x[t * dim + d] = levels[labels[t]!]![d]! + noise * gaussian(r);
  return x;
}

describe('perceptual rewards: step discovery', () => {
  it('finds the same split as the exhaustive search on random inputs (K = 2 and 3, several seeds, both weightings)', () => {
    let compared = 0;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      for (const steps of [2, 3]) {
        for (const options of [{}, { weighting: 'segments' as const }, { minSegmentLength: 2 }]) {
          const count = 9 + seed * 2;
          const dim = 1 + (seed % 4);
          const x = randomFeatures(seed * 31 + steps, count, dim);
          const fast = discoverSteps(x, count, dim, steps, options);
          const slow = bruteForceSteps(x, count, dim, steps, options);
          expect(fast).toEqual(slow);
          expect(segmentationCost(x, count, dim, fast, options)).toBeCloseTo(segmentationCost(x, count, dim, slow, options), 12);
          compared++;
        }
      }
    }
    expect(compared).toBe(36);
  });

  it('the exhaustive search is the minimum of segmentationCost over every split (checked by enumeration here)', () => {
    const x = randomFeatures(99, 10, 2);
    let best = Infinity;
    let at: number[] = [];
    for (let a = 1; a < 9; a++) {
      for (let b = a + 1; b < 10; b++) {
        const c = segmentationCost(x, 10, 2, [0, a, b]);
        if (c < best) [best, at] = [c, [0, a, b]];
      }
    }
    expect(bruteForceSteps(x, 10, 2, 3)).toEqual(at);
    expect(discoverSteps(x, 10, 2, 3)).toEqual(at);
  });

  it('segmentationCost is the frame-weighted (or segment-averaged) mean per-feature population std', () => {
    // One feature, frames [0, 2 | 10, 12, 14]: stds 1 and √(8/3).
    const x = Float64Array.from([0, 2, 10, 12, 14]);
    expect(segmentationCost(x, 5, 1, [0, 2])).toBeCloseTo((2 / 5) * 1 + (3 / 5) * Math.sqrt(8 / 3), 12);
    expect(segmentationCost(x, 5, 1, [0, 2], { weighting: 'segments' })).toBeCloseTo((1 + Math.sqrt(8 / 3)) / 2, 12);
    // Two features: the mean over features of each segment's std.
    const y = Float64Array.from([0, 0, 2, 4, 10, 0, 12, 2]);
    expect(segmentationCost(y, 4, 2, [0, 2])).toBeCloseTo(0.5 * ((1 + 2) / 2) + 0.5 * ((1 + 1) / 2), 12);
    expect(segmentationCost(y, 4, 2, [0])).toBeCloseTo((Math.sqrt(((0 - 6) ** 2 + (2 - 6) ** 2 + (10 - 6) ** 2 + (12 - 6) ** 2) / 4) + Math.sqrt((1.5 ** 2 + 2.5 ** 2 + 1.5 ** 2 + 0.5 ** 2) / 4)) / 2, 12);
  });

  it('recovers planted steps, and splits each demo on its own', () => {
    const levels = [
      [0, 0, 0],
      [3, -2, 1],
      [6, 1, -3],
    ];
    const a = planted(7, [0, 12, 25], 40, levels, 0.3);
    const b = planted(8, [0, 5, 30], 36, levels, 0.3);
    expect(discoverSteps(a, 40, 3, 3)).toEqual([0, 12, 25]);
    expect(discoverStepsAcross([{ features: a, count: 40 }, { features: b, count: 36 }], 3)).toEqual([
      [0, 12, 25],
      [0, 5, 30],
    ]);
    expect(discoverSteps(a, 40, 3, 1)).toEqual([0]);
    expect(stepLabelsFromStarts([0, 2], 4)).toEqual([0, 0, 1, 1]);
  });

  it('refuses bad step counts, too few frames and wrongly sized arrays', () => {
    const x = randomFeatures(1, 6, 2);
    for (const steps of [0, -1, 1.5, Number.NaN]) {
      expect(() => discoverSteps(x, 6, 2, steps)).toThrow(PerceptualRewardError);
      expect(() => discoverSteps(x, 6, 2, steps)).toThrow(/steps must be a positive integer/);
    }
    expect(() => discoverSteps(x, 6, 2, 7)).toThrow('cannot split 6 frames into 7 steps: fewer frames than steps');
    expect(() => discoverSteps(x, 6, 2, 4, { minSegmentLength: 2 })).toThrow('cannot split 6 frames into 4 steps of at least 2 frames each (needs 8)');
    expect(() => discoverSteps(x, 5, 2, 2)).toThrow('features has 12 values, expected count × dim = 5 × 2 = 10');
    expect(() => discoverSteps(Float64Array.from([1, Number.NaN, 2, 3]), 2, 2, 2)).toThrow('features[1] (frame 0, feature 1) is NaN');
    expect(() => bruteForceSteps(randomFeatures(1, 400, 1), 400, 1, 5)).toThrow(/use discoverSteps/);
    expect(() => segmentationCost(x, 6, 2, [1, 3])).toThrow('the first step must start at frame 0');
    expect(() => segmentationCost(x, 6, 2, [0, 3, 3])).toThrow('step 1 (frames 3..2) has 0 frames');
    expect(() => discoverStepsAcross([{ features: x, count: 6 }, { features: randomFeatures(2, 6, 3), count: 6 }], 2)).toThrow('demo 1 has 3 features per frame but demo 0 has 2');
    expect(() => discoverStepsAcross([{ features: x, count: 6 }, { features: randomFeatures(2, 2, 2), count: 2 }], 3)).toThrow('demo 1: cannot split 2 frames into 3 steps');
    expect(() => discoverStepsAcross([], 2)).toThrow('demos must be a non-empty array');
  });
});

describe('perceptual rewards: selection and step rewards, by hand', () => {
  // One demo, 4 frames, 2 features. Feature 0 = [1, 3, 9, 11]: mean 6, std √17, normalised
  // [−5, −3, 3, 5]/√17. Feature 1 = [2, 4, 4, 2]: mean 3, std 1, normalised [−1, 1, 1, −1].
  // Splits (normalised, frame-weighted): at 2 → ½·(1/√17 + 1)/2·2 = 0.621; at 1 or 3 → ¾·(0.8245 + 0.9428)/2 = 0.663.
  // Step 0 = frames 0–1: feature 0 μ⁺ = −4/√17, σ⁺ = 1/√17, μ⁻ = 4/√17, σ⁻ = 1/√17 → z = 5·8/√17 − 2/√17 = 38/√17;
  // feature 1 μ⁺ = μ⁻ = 0, σ⁺ = σ⁻ = 1 → z = −2. Step 1 mirrors it (μ⁺ = 4/√17).
  const demo: PerceptualDemo = { features: Float32Array.from([1, 2, 3, 4, 9, 4, 11, 2]), count: 4 };
  const s17 = Math.sqrt(17);

  it('normalises, finds the steps and selects by zᵢ = α|μ⁺ − μ⁻| − (σ⁺ + σ⁻)', () => {
    const model = learnPerceptualReward([demo], 2, { steps: 2, topFeatures: 2, stdFloor: 0.01, env: 'door-open', layers: ['mixed0'], pooling: 'grid2', source: 'test' });
    expect(model.demos).toEqual([{ count: 4, starts: [0, 2] }]);
    expect(model.normalization.mean).toEqual([6, 3]);
    expect(model.normalization.std[0]).toBeCloseTo(s17, 12);
    expect(model.normalization.std[1]).toBeCloseTo(1, 12);
    const [s0, s1] = model.stepModels;
    expect(s0!.features).toEqual([0, 1]);
    expect(s0!.scores[0]).toBeCloseTo(38 / s17, 10);
    expect(s0!.scores[1]).toBeCloseTo(-2, 10);
    expect(s0!.mean[0]).toBeCloseTo(-4 / s17, 10);
    expect(s0!.std[0]).toBeCloseTo(1 / s17, 10);
    expect(s0!.mean[1]).toBeCloseTo(0, 10);
    expect(s0!.std[1]).toBeCloseTo(1, 10);
    expect(s1!.features).toEqual([0, 1]);
    expect(s1!.mean[0]).toBeCloseTo(4 / s17, 10);
    expect(s0!.frames).toBe(2);
    expect(model.env).toBe('door-open');
    expect(model.featureSource).toEqual({ source: 'test', layers: ['mixed0'], pooling: 'grid2' });
  });

  it('R_k = −(1/n)·Σ (âᵢ − μᵢ⁺)²/σᵢ⁺²: with the top feature, R₀ = −(x₀ − 2)² and R₁ = −(x₀ − 10)²', () => {
    const model = learnPerceptualReward([demo], 2, { steps: 2, topFeatures: 1, stdFloor: 0.01 });
    expect(model.stepModels.map((s) => s.features)).toEqual([[0], [0]]);
    const frames = Float32Array.from([2, 3, 10, 3, 3.5, 3, 5, 100]);
    const R = perceptualStepRewards(model, frames, 4);
    const expected = [0, -64, -64, 0, -2.25, -42.25, -9, -25];
    expected.forEach((v, i) => expect(R[i]).toBeCloseTo(v, 9));
    // Scores p = exp(R/2); combined r = Σ wₖ·pₖ/Σⱼ pⱼ with w = (0, 1) for K = 2, i.e. the posterior of step 1.
    const p = perceptualStepScores(model, R);
    expect(p[4]).toBeCloseTo(Math.exp(-1.125), 12);
    const r = perceptualReward(model, R);
    expect(r[0]).toBeCloseTo(Math.exp(-32) / (1 + Math.exp(-32)), 12);
    expect(r[1]).toBeCloseTo(1 / (1 + Math.exp(-32)), 12);
    expect(r[2]).toBeCloseTo(Math.exp(-21.125) / (Math.exp(-1.125) + Math.exp(-21.125)), 12);
    expect(r[3]).toBeCloseTo(1 / (1 + Math.exp(8)), 12);
    // The step's own frame pays more for the later step.
    expect(r[1]).toBeGreaterThan(r[0]!);
    expect(perceptualReward(model, R, { weights: [1, 3] })[3]).toBeCloseTo(1 + 2 / (1 + Math.exp(8)), 12);
    // Far from everything the posterior still decides (no underflow to 0/0).
    expect(perceptualReward(model, Float64Array.from([-5000, -4000]))[0]).toBeCloseTo(1, 12);
  });

  it('the default weights double each step\'s increment: (2^k − 1)/(2^{K−1} − 1)', () => {
    expect(perceptualStepWeights(2)).toEqual([0, 1]);
    expect(perceptualStepWeights(3)).toEqual([0, 1 / 3, 1]);
    expect(perceptualStepWeights(4)).toEqual([0, 1 / 7, 3 / 7, 1]);
  });

  it('with both features, R₀ = −½·[(x₀ − 2)² + (x₁ − 3)²]; σ⁺ below stdFloor is raised to it', () => {
    const model = learnPerceptualReward([demo], 2, { steps: 2, topFeatures: 2, stdFloor: 0.01 });
    const R = perceptualStepRewards(model, Float32Array.from([4, 5]), 1);
    expect(R[0]).toBeCloseTo(-0.5 * (4 + 4), 9);
    expect(R[1]).toBeCloseTo(-0.5 * (36 + 4), 9);
    // Floor 0.5 (> σ⁺ = 1/√17 for feature 0; feature 1 has σ⁺ = 1): R₀ = −½·[((x₀ − 2)/√17)²/0.25 + (x₁ − 3)²].
    const floored = learnPerceptualReward([demo], 2, { steps: 2, topFeatures: 2, stdFloor: 0.5 });
    expect(floored.stepModels[0]!.std[0]).toBe(0.5);
    expect(floored.stepModels[0]!.std[1]).toBeCloseTo(1, 12);
    expect(perceptualStepRewards(floored, Float32Array.from([4, 5]), 1)[0]).toBeCloseTo(-0.5 * (4 / 17 / 0.25 + 4), 9);
  });

  it('step classification: p_k = exp(R_k/2) ≥ 0.5 decides "in step k"; accuracy counts (frame, step) decisions', () => {
    const model = learnPerceptualReward([demo], 2, { steps: 2, topFeatures: 1, stdFloor: 0.01 });
    // Frame [3.5, 3] (step 0): R₀ = −2.25, p₀ = 0.325 < 0.5 → a wrong "not step 0"; everything else right.
    const frames = Float32Array.from([2, 3, 10, 3, 3.5, 3]);
    const result = stepClassificationAccuracy(model, frames, 3, [0, 1, 0]);
    expect(result.accuracy).toBeCloseTo(5 / 6, 12);
    expect(result.perStep[0]).toBeCloseTo(2 / 3, 12);
    expect(result.perStep[1]).toBe(1);
    expect(result.decisions).toBe(6);
    // A lower threshold accepts it (p₀ = e^{−1.125} ≈ 0.325).
    expect(stepClassificationAccuracy(model, frames, 3, [0, 1, 0], 0.3).accuracy).toBe(1);
    expect(() => stepClassificationAccuracy(model, frames, 3, [0, 2, 0])).toThrow('trueSteps[1] = 2 is not a step in 0 … 1');
    expect(() => stepClassificationAccuracy(model, frames, 3, [0, 1])).toThrow('trueSteps must hold one step per frame (3), got 2');
    expect(() => stepClassificationAccuracy(model, frames, 3, [0, 1, 0], 1.5)).toThrow('threshold must be a number in [0, 1]');
  });
});

describe('perceptual rewards: a synthetic three-step task', () => {
  // 8 features: 0–1 rise with the step, 2–3 mark step 1 only, 4–6 are noise; feature 7 is constant.
  const levels = [
    [0, 0, 0, 0, 0, 0, 0, 5],
    [2, 1, 3, -2, 0, 0, 0, 5],
    [4, 2, 0, 0, 0, 0, 0, 5],
  ];
  const make = (seed: number, starts: number[], count: number): Float64Array => {
    const x = planted(seed, starts, count, levels, 0.25);
    for (let t = 0; t < count; t++) x[t * 8 + 7] = 5;
    return x;
  };
  const demos: PerceptualDemo[] = [
    { features: make(11, [0, 10, 22], 30), count: 30 },
    { features: make(12, [0, 8, 20], 34), count: 34 },
    { features: make(13, [0, 12, 21], 28), count: 28 },
  ];
  const model = learnPerceptualReward(demos, 8, { steps: 3, topFeatures: 2 });

  it('discovers the planted steps and selects the informative features (never the constant one)', () => {
    expect(model.demos.map((d) => d.starts)).toEqual([
      [0, 10, 22],
      [0, 8, 20],
      [0, 12, 21],
    ]);
    expect(model.stepModels[0]!.features.sort()).toEqual([0, 1]);
    expect(model.stepModels[1]!.features.sort()).toEqual([2, 3]);
    expect(model.stepModels[2]!.features.sort()).toEqual([0, 1]);
    expect(model.normalization.std[7]).toBe(1);
    const all = learnPerceptualReward(demos, 8, { steps: 3, topFeatures: 32 });
    expect(all.stepModels.every((s) => s.features.length === 7 && !s.features.includes(7))).toBe(true);
  });

  it('later steps pay more, and held-out frames classify well', () => {
    const test = make(21, [0, 9, 19], 30);
    const R = perceptualStepRewards(model, test, 30);
    const r = perceptualReward(model, R);
    const labels = stepLabelsFromStarts([0, 9, 19], 30);
    const meanOf = (k: number): number => {
      const v = [...r].filter((_, t) => labels[t] === k);
      return v.reduce((a, b) => a + b, 0) / v.length;
    };
    expect(meanOf(1)).toBeGreaterThan(meanOf(0));
    expect(meanOf(2)).toBeGreaterThan(meanOf(1));
    // Each step's own frames score highest on their own step reward.
    for (let t = 0; t < 30; t++) {
      const row = [R[t * 3]!, R[t * 3 + 1]!, R[t * 3 + 2]!];
      if (t !== 9 && t !== 19) expect(row.indexOf(Math.max(...row))).toBe(labels[t]);
    }
    expect(stepClassificationAccuracy(model, test, 30, labels).accuracy).toBeGreaterThan(0.85);
  });
});

describe('perceptual rewards: bad input and model files', () => {
  const demo: PerceptualDemo = { features: Float32Array.from([1, 2, 3, 4, 9, 4, 11, 2]), count: 4 };
  const dir = mkdtempSync(join(tmpdir(), 'perceptual-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses bad options and mismatched demos', () => {
    for (const steps of [0, -2, 2.5]) expect(() => learnPerceptualReward([demo], 2, { steps })).toThrow(`steps must be a positive integer, got ${steps}`);
    expect(() => learnPerceptualReward([demo], 2, { steps: 1 })).toThrow('steps must be at least 2');
    expect(() => learnPerceptualReward([demo], 2, { steps: 5 })).toThrow('demo 0: cannot split 4 frames into 5 steps: fewer frames than steps');
    expect(() => learnPerceptualReward([demo, { features: new Float32Array(9), count: 3 }], 2, { steps: 2 })).toThrow('demo 1 has 3 features per frame (9 values for 3 frames), expected dim = 2');
    expect(() => learnPerceptualReward([demo], 2, { steps: 2, topFeatures: 0 })).toThrow('topFeatures must be a positive integer');
    expect(() => learnPerceptualReward([demo], 2, { steps: 2, alpha: -1 })).toThrow('alpha must be a finite number ≥ 0');
    expect(() => learnPerceptualReward([demo], 2, { steps: 2, stdFloor: 0 })).toThrow('stdFloor must be a positive finite number');
    expect(() => learnPerceptualReward([{ features: Float32Array.from([1, 1, 1, 1]), count: 2 }], 2, { steps: 2 })).toThrow('every feature is constant');
    const model = learnPerceptualReward([demo], 2, { steps: 2 });
    expect(() => perceptualStepRewards(model, new Float32Array(5), 2)).toThrow('features has 5 values, expected count × dim = 2 × 2 = 4');
    expect(() => perceptualReward(model, new Float64Array(3))).toThrow("stepRewards has 3 values, not a multiple of the model's 2 steps");
    expect(() => perceptualReward(model, new Float64Array(2), { weights: [1] })).toThrow('weights must be 2 finite numbers (one per step)');
  });

  it('saves, loads and round-trips a model as JSON', () => {
    const model = learnPerceptualReward([demo], 2, { steps: 2, env: 'door-open' });
    const file = join(dir, 'sub', 'door.perceptual.json');
    savePerceptualRewardModel(model, file);
    const back = loadPerceptualRewardModel(file);
    expect(back).toEqual(JSON.parse(JSON.stringify(model)));
    const frames = Float32Array.from([2, 3, 10, 3]);
    expect([...perceptualStepRewards(back, frames, 2)]).toEqual([...perceptualStepRewards(model, frames, 2)]);
    expect(parsePerceptualRewardModel(JSON.stringify(model))).toEqual(back);
  });

  it('names the file and field of a corrupt, missing or inconsistent model', () => {
    const model = learnPerceptualReward([demo], 2, { steps: 2 });
    const missing = join(dir, 'nope.json');
    expect(() => loadPerceptualRewardModel(missing)).toThrow(`perceptual reward model ${missing} does not exist`);
    const corrupt = join(dir, 'corrupt.json');
    writeFileSync(corrupt, '{"format": "rewardlab-perceptual-reward", "vers');
    expect(() => loadPerceptualRewardModel(corrupt)).toThrow(`${corrupt} is not valid JSON`);
    const bad = (patch: (m: Record<string, unknown>) => void): unknown => {
      const m = JSON.parse(JSON.stringify(model)) as Record<string, unknown>;
      patch(m);
      return m;
    };
    const wrongField = join(dir, 'wrong.json');
    writeFileSync(wrongField, JSON.stringify(bad((m) => ((m.stepModels as { std: unknown[] }[])[1]!.std[0] = -1))));
    expect(() => loadPerceptualRewardModel(wrongField)).toThrow(`${wrongField}: stepModels[1].std[0]:`);
    expect(() => parsePerceptualRewardModel(bad((m) => delete m.normalization), 'm.json')).toThrow('m.json: normalization:');
    expect(() => parsePerceptualRewardModel(bad((m) => (m.format = 'other')), 'm.json')).toThrow('m.json: format:');
    expect(() => parsePerceptualRewardModel(bad((m) => (m.version = 2)), 'm.json')).toThrow('m.json: version:');
    expect(() => parsePerceptualRewardModel(bad((m) => ((m.normalization as { mean: number[] }).mean = [1])), 'm.json')).toThrow('m.json: normalization.mean: has 1 entries, expected dim = 2');
    expect(() => parsePerceptualRewardModel(bad((m) => ((m.stepModels as { features: number[] }[])[0]!.features = [5, 1])), 'm.json')).toThrow('m.json: stepModels[0].features[0]: feature 5 is out of range for dim = 2');
    expect(() => parsePerceptualRewardModel(bad((m) => (m.stepModels as unknown[]).pop()), 'm.json')).toThrow('m.json: stepModels: has 1 steps, expected steps = 2');
    expect(() => parsePerceptualRewardModel(bad((m) => ((m.demos as { starts: number[] }[])[0]!.starts = [0, 9])), 'm.json')).toThrow('m.json: demos[0].starts[1]: 9 is not increasing');
    expect(() => parsePerceptualRewardModel(bad((m) => (m.extra = 1)))).toThrow('perceptual reward model: (root):');
    expect(() => parsePerceptualRewardModel('not json', 'x.json')).toThrow('x.json is not valid JSON');
    expect(() => parsePerceptualRewardModel(null, 'x.json')).toThrow(PerceptualRewardError);
  });
});
