import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { box, discrete, multiDiscrete, Rng } from '@rewardlab/sim';
import { ActorCritic, clipByGlobalNorm, computeGae, learnerComponentMeans, densePathFor, explainedVariance, gpuWeightGrad, logProbAndEntropy, distributionFor, Mlp, orthogonalMatrix, ppoLoss, sampleActions, selectBackend, sumTensors, weightGradSplits } from '../src';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('computeGae', () => {
  it('matches the recursion written out by hand for two slots with an episode end', () => {
    // slot 0: 3 steps, episode ends after step 1; slot 1: no ends.
    const T = 3, S = 2, gamma = 0.9, lambda = 0.8;
    const rewards = Float32Array.of(1, 0.5, 2, -1, 0, 3);
    const values = Float32Array.of(0.4, 0.2, 0.3, 0.1, 0.6, 0.7);
    const dones = Uint8Array.of(0, 0, 1, 0, 0, 0);
    const last = Float32Array.of(0.9, -0.2);
    const adv = new Float32Array(6), ret = new Float32Array(6);
    computeGae(rewards, values, dones, last, T, S, gamma, lambda, adv, ret);
    // slot 0: t2: δ = 0 + 0.9·0.9 − 0.6; t1 ends: δ = 2 − 0.3 (no bootstrap), Â1 = δ1; t0: δ = 1 + 0.9·0.3 − 0.4, Â0 = δ0 + 0.72·Â1
    const d2 = 0 + gamma * 0.9 - 0.6;
    const d1 = 2 - 0.3;
    const d0 = 1 + gamma * 0.3 - 0.4;
    expect(adv[4]).toBeCloseTo(d2, 6);
    expect(adv[2]).toBeCloseTo(d1, 6);
    expect(adv[0]).toBeCloseTo(d0 + gamma * lambda * d1, 6);
    // slot 1: no ends
    const e2 = 3 + gamma * -0.2 - 0.7;
    const e1 = -1 + gamma * 0.7 - 0.1;
    const e0 = 0.5 + gamma * 0.1 - 0.2;
    expect(adv[5]).toBeCloseTo(e2, 6);
    expect(adv[3]).toBeCloseTo(e1 + gamma * lambda * e2, 6);
    expect(adv[1]).toBeCloseTo(e0 + gamma * lambda * (e1 + gamma * lambda * e2), 6);
    for (let i = 0; i < 6; i++) expect(ret[i]).toBeCloseTo(adv[i]! + values[i]!, 6);
  });

  it('with λ = 1 and no ends gives discounted returns minus values', () => {
    const rewards = Float32Array.of(1, 2, 3);
    const values = Float32Array.of(0.5, 0.5, 0.5);
    const adv = new Float32Array(3), ret = new Float32Array(3);
    computeGae(rewards, values, new Uint8Array(3), Float32Array.of(10), 3, 1, 0.5, 1, adv, ret);
    expect(ret[0]).toBeCloseTo(1 + 0.5 * 2 + 0.25 * 3 + 0.125 * 10, 5);
  });
});

describe('ppoLoss', () => {
  it('equals the clipped surrogate, value and entropy terms computed by hand', () => {
    const rng = new Rng(3);
    const policy = new ActorCritic(2, discrete(3), [4], 'tanh', rng);
    const obs = [[0.1, -0.2], [0.5, 0.3], [-0.7, 0.9]];
    const actions = [0, 2, 1];
    const oldLogProbs = [-1.2, -0.9, -1.3];
    const advantages = [1.0, -0.5, 2.0];
    const returns = [0.3, -0.1, 0.8];
    const oldValues = [0.1, 0.0, 0.5];
    const result = tf.tidy(() => {
      const mb = {
        obs: tf.tensor2d(obs),
        actions: tf.tensor2d(actions.map((a) => [a])),
        oldLogProbs: tf.tensor1d(oldLogProbs),
        advantages: tf.tensor1d(advantages),
        returns: tf.tensor1d(returns),
        oldValues: tf.tensor1d(oldValues),
      };
      const t = ppoLoss(policy, mb, 0.2, 0.1, 0.01, 0.5);
      const logits = policy.actor.apply(mb.obs).arraySync() as number[][];
      const values = (policy.critic.apply(mb.obs).arraySync() as number[][]).map((v) => v[0]!);
      return { loss: t.loss.dataSync()[0]!, pg: t.policyLoss.dataSync()[0]!, vl: t.valueLoss.dataSync()[0]!, ent: t.entropy.dataSync()[0]!, kl: t.approxKl.dataSync()[0]!, logits, values };
    });
    let pg = 0, vl = 0, ent = 0, kl = 0;
    for (let i = 0; i < 3; i++) {
      const l = result.logits[i]!;
      const m = Math.max(...l);
      const z = l.reduce((a, x) => a + Math.exp(x - m), 0);
      const logp = l.map((x) => x - m - Math.log(z));
      const ratio = Math.exp(logp[actions[i]!]! - oldLogProbs[i]!);
      const clipped = Math.min(Math.max(ratio, 0.8), 1.2);
      pg += -Math.min(ratio * advantages[i]!, clipped * advantages[i]!) / 3;
      const v = result.values[i]!;
      const vClip = oldValues[i]! + Math.min(Math.max(v - oldValues[i]!, -0.1), 0.1);
      vl += 0.5 * Math.max((v - returns[i]!) ** 2, (vClip - returns[i]!) ** 2) / 3;
      ent += -logp.reduce((a, lp) => a + Math.exp(lp) * lp, 0) / 3;
      kl += (ratio - 1 - Math.log(ratio)) / 3;
    }
    expect(result.pg).toBeCloseTo(pg, 5);
    expect(result.vl).toBeCloseTo(vl, 5);
    expect(result.ent).toBeCloseTo(ent, 5);
    expect(result.kl).toBeCloseTo(kl, 5);
    expect(result.loss).toBeCloseTo(pg - 0.01 * ent + 0.5 * vl, 5);
    policy.dispose();
  });
});

describe('distributions', () => {
  it('Gaussian log-probabilities of sampled actions match the tensor formula', () => {
    const d = distributionFor(box([2], -1, 1));
    const head = Float32Array.of(0.2, -0.3, 0.0, 0.5);
    const logStd = Float32Array.of(-0.5, 0.1);
    const out = { actions: new Float32Array(4), envActions: new Float32Array(4), logProbs: new Float32Array(2) };
    sampleActions(d, head, logStd, 2, new Rng(1), out);
    for (const a of out.envActions) expect(Math.abs(a)).toBeLessThanOrEqual(1);
    const ls = tf.variable(tf.tensor1d(logStd));
    const lp = tf.tidy(() => logProbAndEntropy(d, tf.tensor2d(head, [2, 2]), tf.tensor2d(out.actions, [2, 2]), ls).logProb.dataSync());
    expect(lp[0]).toBeCloseTo(out.logProbs[0]!, 4);
    expect(lp[1]).toBeCloseTo(out.logProbs[1]!, 4);
    // entropy of a diagonal Gaussian: Σ log σ + d/2·log(2πe)
    const ent = tf.tidy(() => logProbAndEntropy(d, tf.tensor2d(head, [2, 2]), tf.tensor2d(out.actions, [2, 2]), ls).entropy.dataSync());
    expect(ent[0]).toBeCloseTo(-0.5 + 0.1 + Math.log(2 * Math.PI * Math.E), 4);
    ls.dispose();
  });

  it('multi-discrete samples follow each component and sum the log-probabilities', () => {
    const d = distributionFor(multiDiscrete([2, 3]));
    const head = Float32Array.of(0, Math.log(3), 0, 0, Math.log(2)); // p = [1/4, 3/4], [1/4, 1/4, 1/2]
    const out = { actions: new Float32Array(2), envActions: new Int32Array(2), logProbs: new Float32Array(1) };
    const counts = [0, 0];
    const rng = new Rng(5);
    for (let i = 0; i < 4000; i++) {
      sampleActions(d, head, null, 1, rng, out);
      counts[out.envActions[0]!]! += 1;
      const p0 = out.envActions[0] === 0 ? 0.25 : 0.75;
      const p1 = out.envActions[1] === 2 ? 0.5 : 0.25;
      expect(out.logProbs[0]).toBeCloseTo(Math.log(p0 * p1), 5);
    }
    expect(counts[1]! / 4000).toBeGreaterThan(0.72);
    expect(counts[1]! / 4000).toBeLessThan(0.78);
  });
});

describe('Mlp', () => {
  it('its hand-written gradients equal tfjs autodiff of the same network', () => {
    const rng = new Rng(9);
    for (const activation of ['tanh', 'relu'] as const) {
      const mlp = new Mlp({ inputSize: 5, hiddenSizes: [7, 6], outputSize: 3, activation, outputGain: 1 }, rng, `gradcheck-${activation}`);
      const x = tf.randomNormal([4, 5], 0, 1, 'float32', 1) as tf.Tensor2D;
      const target = tf.randomNormal([4, 3], 0, 1, 'float32', 2);
      const fast = tf.variableGrads(() => tf.sum(tf.mul(mlp.apply(x), target)) as tf.Scalar, mlp.variables).grads;
      const plain = tf.variableGrads(() => {
        let h: tf.Tensor = x;
        for (let l = 0; l < mlp.numLayers; l++) {
          h = tf.add(tf.matMul(h, mlp.variables[2 * l]!), mlp.variables[2 * l + 1]!);
          if (l + 1 < mlp.numLayers) h = activation === 'tanh' ? tf.tanh(h) : tf.relu(h);
        }
        return tf.sum(tf.mul(h, target)) as tf.Scalar;
      }, mlp.variables).grads;
      for (const v of mlp.variables) {
        const a = fast[v.name]!.dataSync();
        const b = plain[v.name]!.dataSync();
        for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 4);
      }
      mlp.dispose();
    }
  });

  it('the GPU dense path (split-K weight gradient) gives the same gradients as the CPU path and autodiff', () => {
    // 8192 rows split into 4 chunks of 2048 for every weight gradient.
    expect(weightGradSplits(8192)).toBe(4);
    const rng = new Rng(11);
    for (const activation of ['tanh', 'relu'] as const) {
      const mlp = new Mlp({ inputSize: 5, hiddenSizes: [7, 6], outputSize: 3, activation, outputGain: 1 }, rng, `gpu-path-${activation}`);
      const x = tf.randomNormal([8192, 5], 0, 1, 'float32', 3) as tf.Tensor2D;
      const target = tf.randomNormal([8192, 3], 0, 1, 'float32', 4);
      const gradsOf = (path: 'cpu' | 'gpu' | 'autodiff') => tf.variableGrads(() => tf.mean(tf.mul(mlp.apply(x, path), target)) as tf.Scalar, mlp.variables).grads;
      const [cpu, gpu, auto] = [gradsOf('cpu'), gradsOf('gpu'), gradsOf('autodiff')];
      for (const v of mlp.variables) {
        const c = cpu[v.name]!.dataSync();
        const g = gpu[v.name]!.dataSync();
        const a = auto[v.name]!.dataSync();
        for (let i = 0; i < c.length; i++) {
          expect(g[i]).toBeCloseTo(a[i]!, 5);
          expect(c[i]).toBeCloseTo(a[i]!, 5);
        }
      }
      for (const grads of [cpu, gpu, auto]) Object.values(grads).forEach((t) => t.dispose());
      [x, target].forEach((t) => t.dispose());
      mlp.dispose();
    }
    expect(densePathFor('webgpu')).toBe('gpu');
    expect(densePathFor('wasm')).toBe('cpu');
    expect(densePathFor('tensorflow')).toBe('autodiff');
  });

  it('splits weight gradients into power-of-two chunks of at least 2048 rows, at most 64', () => {
    expect(weightGradSplits(65_536)).toBe(32);
    expect(weightGradSplits(131_072)).toBe(64);
    expect(weightGradSplits(1_048_576)).toBe(64);
    expect(weightGradSplits(4096)).toBe(2);
    expect(weightGradSplits(4095)).toBe(1);
    expect(weightGradSplits(3 * 4096)).toBe(4); // 12,288 = 4 × 3,072
    expect(weightGradSplits(2048)).toBe(1);
    // xᵀ·dz summed over chunks equals the plain product, for every split that divides the rows.
    const x = tf.randomNormal([48, 5], 0, 1, 'float32', 5) as tf.Tensor2D;
    const dz = tf.randomNormal([48, 3], 0, 1, 'float32', 6) as tf.Tensor2D;
    const plain = tf.matMul(x, dz, true, false).dataSync();
    for (const splits of [1, 2, 4, 8, 16]) {
      const split = gpuWeightGrad(x, dz, splits);
      expect(split.shape).toEqual([5, 3]);
      const v = split.dataSync();
      for (let i = 0; i < plain.length; i++) expect(v[i]).toBeCloseTo(plain[i]!, 5);
      split.dispose();
    }
    expect(() => gpuWeightGrad(x, dz, 5)).toThrow(/48 rows do not split into 5 equal chunks/);
    [x, dz].forEach((t) => t.dispose());
  });

  it('leaves no tensors behind but its variables', () => {
    const before = tf.memory().numTensors;
    const mlp = new Mlp({ inputSize: 4, hiddenSizes: [8, 8], outputSize: 2, activation: 'tanh', outputGain: 1 }, new Rng(1), 'count');
    expect(tf.memory().numTensors - before).toBe(6);
    mlp.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('initialises weights orthogonally with the given gain', () => {
    const rng = new Rng(2);
    const w = orthogonalMatrix(6, 4, 2, rng); // 4 orthogonal columns of norm 2
    for (let a = 0; a < 4; a++) {
      for (let b = 0; b < 4; b++) {
        let dot = 0;
        for (let r = 0; r < 6; r++) dot += w[r * 4 + a]! * w[r * 4 + b]!;
        expect(dot).toBeCloseTo(a === b ? 4 : 0, 5);
      }
    }
  });
});

describe('gradient-norm clipping', () => {
  it('sums more tensors than one WebGPU AddN may bind, in chunks, exactly', () => {
    for (const n of [1, 7, 8, 15, 50]) {
      const terms = Array.from({ length: n }, (_, i) => tf.tensor1d([i + 1, -(i + 1)]));
      // the webgpu chunking (7 per AddN) and the single AddN of CPU backends; Σ_{i=1..n} i = n(n + 1)/2
      for (const sum of [sumTensors(terms, 7), sumTensors(terms, 2), sumTensors(terms)]) {
        expect(Array.from(sum.dataSync())).toEqual([(n * (n + 1)) / 2, (-n * (n + 1)) / 2]);
        if (n > 1) sum.dispose();
      }
      terms.forEach((t) => t.dispose());
    }
    expect(() => sumTensors([])).toThrow(/at least one tensor/);
    expect(() => sumTensors([tf.scalar(1)], 1)).toThrow(/maxInputs must be at least 2, got 1/);
  });

  it('scales all gradients by maxNorm / ‖g‖ when the global norm is above maxNorm, and not below', () => {
    // 13 gradients (more than one AddN's 7 inputs): gradient k is [k, 2k]; ‖g‖² = Σ 5k² = 5·13·14·27/6
    const grads: Record<string, tf.Tensor> = {};
    for (let k = 1; k <= 13; k++) grads[`g${k}`] = tf.tensor1d([k, 2 * k]);
    const norm = Math.sqrt((5 * 13 * 14 * 27) / 6);
    for (const maxNorm of [1, 1000]) {
      const { clipped, norm: n } = clipByGlobalNorm(grads, maxNorm);
      expect(n.dataSync()[0]).toBeCloseTo(norm, 3);
      const scale = Math.min(1, maxNorm / (norm + 1e-6));
      expect(clipped.g3!.dataSync()[0]).toBeCloseTo(3 * scale, 5);
      expect(clipped.g13!.dataSync()[1]).toBeCloseTo(26 * scale, 4);
      [...Object.values(clipped), n].forEach((t) => t.dispose());
    }
    Object.values(grads).forEach((t) => t.dispose());
  });
});

describe('learnerComponentMeans', () => {
  it("averages each component over the learning agents only, so an opponent's zero-sum term does not cancel", () => {
    // env 1 of a 2-agent vector env: slots 2 (learner) and 3 (scripted opponent)
    const external = Uint8Array.from([0, 1, 0, 1]);
    const comps = { goal: [0.5, -0.5], touch: [0.2, 0.1] };
    expect(learnerComponentMeans(comps, external, 2)).toEqual({ goal: 0.5, touch: 0.2 });
    // every slot learning (self-play against itself): the mean over both agents
    expect(learnerComponentMeans(comps, null, 2)).toEqual({ goal: 0, touch: (0.2 + 0.1) / 2 });
    expect(learnerComponentMeans(comps, Uint8Array.from([0, 0, 1, 1]), 2)).toBeNull();
    expect(learnerComponentMeans(undefined, null, 0)).toBeNull();
  });
});

describe('explainedVariance', () => {
  it('is 1 for perfect values and 0 for constant values at the mean', () => {
    const ret = Float32Array.of(1, 2, 3, 4);
    const valid = Uint8Array.of(1, 1, 1, 1);
    expect(explainedVariance(ret, ret, valid)).toBeCloseTo(1, 6);
    expect(explainedVariance(Float32Array.of(2.5, 2.5, 2.5, 2.5), ret, valid)).toBeCloseTo(0, 6);
  });
});
