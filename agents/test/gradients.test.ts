import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { box, discrete, Rng } from '@rewardlab/sim';
import { ActorCritic, ppoLoss, registerDeviceSideReductionGradients, selectBackend } from '../src';

beforeAll(async () => {
  await selectBackend('wasm');
});

/** Gradients of the PPO loss of a small policy on a fixed minibatch, by variable. */
function ppoGrads(policy: ActorCritic, batch: number, gaussian: boolean): Float32Array[] {
  const r = new Rng(5);
  const obs = tf.tensor2d(Float32Array.from({ length: batch * 4 }, () => r.normal()), [batch, 4]);
  const actions = gaussian ? tf.tensor2d(Float32Array.from({ length: batch * 2 }, () => r.normal()), [batch, 2]) : tf.tensor2d(Float32Array.from({ length: batch }, () => r.integer(3)), [batch, 1]);
  const mb = { obs, actions, oldLogProbs: tf.fill([batch], -1.2) as tf.Tensor1D, advantages: tf.tensor1d(Float32Array.from({ length: batch }, () => r.normal())), returns: tf.tensor1d(Float32Array.from({ length: batch }, () => r.normal())), oldValues: tf.zeros([batch]) as tf.Tensor1D };
  const { grads } = tf.variableGrads(() => ppoLoss(policy, mb, 0.2, 0.3, 0.01, 0.5).loss, policy.variables);
  const out = policy.variables.map((v) => grads[v.name]!.dataSync() as Float32Array);
  Object.values(grads).forEach((g) => g.dispose());
  Object.values(mb).forEach((t) => t.dispose());
  return out;
}

describe('device-side Sum and Mean gradients', () => {
  it('give the values of tfjs-core gradients: by hand for sums and means over each axis, and for the PPO loss', () => {
    const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const w = tf.tensor2d([[0.5, -1, 2], [3, 0.25, -2]]);
    const cases: [string, (t: tf.Tensor) => tf.Scalar][] = [
      ['sum over all', (t) => tf.sum(tf.mul(tf.sum(t, 1), tf.tensor1d([2, 3])))],
      ['mean over rows', (t) => tf.sum(tf.mul(tf.mean(t, 0), tf.tensor1d([1, 2, 3])))],
      ['mean of all', (t) => tf.mean(tf.mul(t, w))],
      ['sum keepDims', (t) => tf.sum(tf.mul(tf.sum(t, -1, true), tf.tensor2d([[4], [5]])))],
    ];
    // d/dx_ij by hand: row weights 2,3 | column weights 1,2,3 over 2 rows → /2 | w_ij / 6 | 4,5
    const byHand = [
      [2, 2, 2, 3, 3, 3],
      [0.5, 1, 1.5, 0.5, 1, 1.5],
      [0.5 / 6, -1 / 6, 2 / 6, 3 / 6, 0.25 / 6, -2 / 6],
      [4, 4, 4, 5, 5, 5],
    ];
    const policies = [
      new ActorCritic(4, discrete(3), [8, 8], 'tanh', new Rng(1)),
      new ActorCritic(4, box([2], -1, 1), [8, 8], 'tanh', new Rng(2)),
    ];
    const before = {
      cases: cases.map(([, f]) => Array.from(tf.grad(f)(x).dataSync())),
      ppo: policies.map((p, i) => ppoGrads(p, 64, i === 1)),
    };
    cases.forEach((_, i) => before.cases[i]!.forEach((v, j) => expect(v).toBeCloseTo(byHand[i]![j]!, 6)));

    registerDeviceSideReductionGradients();
    registerDeviceSideReductionGradients(); // idempotent
    cases.forEach(([, f], i) => {
      const g = tf.grad(f)(x).dataSync();
      g.forEach((v, j) => expect(v).toBeCloseTo(byHand[i]![j]!, 6));
    });
    policies.forEach((p, i) => {
      const after = ppoGrads(p, 64, i === 1);
      after.forEach((g, k) => g.forEach((v, j) => expect(v).toBeCloseTo(before.ppo[i]![k]![j]!, 6)));
      p.dispose();
    });
    [x, w].forEach((t) => t.dispose());
  });
});
