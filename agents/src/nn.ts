/**
 * MLPs with hand-written gradients, because the wasm backend is where rewardlab trains by default and
 * tfjs's own dense backward is slow there (REFERENCES.md §8):
 * - `matMul` with `transposeA/B` (what autodiff of a dense layer emits) runs 10–16× slower than a plain
 *   one on wasm, so the backward pass transposes explicitly and multiplies plainly;
 * - `tanh` costs about 5× a `sigmoid`, so tanh(z) is computed as 2·σ(2z) − 1, fused into the matmul;
 * - the bias gradient is a ones-row matmul rather than a column reduction.
 * Weights are orthogonally initialised from the seeded Rng (CleanRL's `layer_init`: gain √2 for hidden
 * layers, a small gain for the policy head).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@rewardlab/sim';

export type Activation = 'tanh' | 'relu';

export interface MlpSpec {
  inputSize: number;
  hiddenSizes: readonly number[];
  outputSize: number;
  activation: Activation;
  /** Orthogonal-init gain of the output layer (0.01 for a policy head, 1 for a value head). */
  outputGain: number;
}

/** A `rows × cols` matrix with orthonormal rows or columns (whichever are fewer), times `gain`, row-major. */
export function orthogonalMatrix(rows: number, cols: number, gain: number, rng: Rng): Float32Array {
  // Gram–Schmidt on the longer dimension's vectors of a Gaussian matrix (Saxe et al. 2014's init).
  const transpose = rows < cols;
  const n = transpose ? rows : cols; // number of orthonormal vectors
  const m = transpose ? cols : rows; // their length
  const q = new Float64Array(n * m);
  for (let i = 0; i < n * m; i++) q[i] = rng.normal();
  for (let j = 0; j < n; j++) {
    const vj = j * m;
    for (let k = 0; k < j; k++) {
      const vk = k * m;
      let dot = 0;
      for (let i = 0; i < m; i++) dot += q[vj + i]! * q[vk + i]!;
      for (let i = 0; i < m; i++) q[vj + i]! -= dot * q[vk + i]!;
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += q[vj + i]! ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < m; i++) q[vj + i]! /= norm;
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      // vector index j and component i
      const j = transpose ? r : c;
      const i = transpose ? c : r;
      out[r * cols + c] = gain * q[j * m + i]!;
    }
  }
  return out;
}

/** y = act(x·W + b) with the fast backward pass; `needInputGrad` false skips dx (the first layer). */
function denseOp(activation: Activation | 'linear', needInputGrad: boolean) {
  return tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
    let y: tf.Tensor2D;
    if (activation === 'tanh') {
      // tanh(z) = 2σ(2z) − 1
      const s = tf.fused.matMul({ a: x, b: tf.mul(w, 2) as tf.Tensor2D, bias: tf.mul(b, 2), activation: 'sigmoid' });
      y = tf.sub(tf.mul(s, 2), 1) as tf.Tensor2D;
    } else {
      y = tf.fused.matMul({ a: x, b: w, bias: b, activation: activation === 'relu' ? 'relu' : 'linear' }) as tf.Tensor2D;
    }
    save([x, w, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [sx, sw, sy] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        let dz: tf.Tensor2D;
        if (activation === 'tanh') dz = tf.mul(dy, tf.sub(1, tf.square(sy)));
        else if (activation === 'relu') dz = tf.mul(dy, tf.step(sy));
        else dz = dy;
        const dw = tf.matMul(tf.transpose(sx), dz);
        const db = tf.reshape(tf.matMul(tf.ones([1, dz.shape[0]]), dz), [dz.shape[1]]);
        const dx = needInputGrad ? tf.matMul(dz, tf.transpose(sw)) : tf.zerosLike(sx);
        return [dx, dw, db];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;
}

const ops = new Map<string, (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D>();
function dense(activation: Activation | 'linear', needInputGrad: boolean) {
  const key = `${activation}/${needInputGrad}`;
  let op = ops.get(key);
  if (!op) ops.set(key, (op = denseOp(activation, needInputGrad)));
  return op;
}

export class Mlp {
  /** [W0, b0, W1, b1, …], W as inputSize × outputSize. */
  readonly variables: tf.Variable[] = [];

  constructor(
    readonly spec: MlpSpec,
    rng: Rng,
    readonly name = 'mlp',
  ) {
    const sizes = [spec.inputSize, ...spec.hiddenSizes, spec.outputSize];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const isOutput = l + 2 === sizes.length;
      const gain = isOutput ? spec.outputGain : Math.SQRT2;
      const w = orthogonalMatrix(sizes[l]!, sizes[l + 1]!, gain, rng);
      this.variables.push(tf.variable(tf.tensor2d(w, [sizes[l]!, sizes[l + 1]!]), true, `${name}/dense_${l}/kernel`));
      this.variables.push(tf.variable(tf.zeros([sizes[l + 1]!]), true, `${name}/dense_${l}/bias`));
    }
  }

  get numLayers(): number {
    return this.variables.length / 2;
  }

  /**
   * Forward pass (differentiable). On wasm and cpu it uses the hand-written gradients above; GPU and
   * native backends run transposed matmuls and tanh at full speed, so they get the plain ops and
   * tfjs's own autodiff (fewer kernels per layer, which is what a dispatch-bound GPU pays for).
   */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    const backend = tf.getBackend();
    if (backend === 'webgpu' || backend === 'tensorflow' || backend === 'webgl') return this.applyPlain(x);
    let h = x;
    for (let l = 0; l < this.numLayers; l++) {
      const isOutput = l + 1 === this.numLayers;
      const op = dense(isOutput ? 'linear' : this.spec.activation, l > 0);
      h = op(h, this.variables[2 * l] as tf.Tensor2D, this.variables[2 * l + 1] as tf.Tensor1D);
    }
    return h;
  }

  private applyPlain(x: tf.Tensor2D): tf.Tensor2D {
    let h: tf.Tensor2D = x;
    for (let l = 0; l < this.numLayers; l++) {
      const isOutput = l + 1 === this.numLayers;
      const activation = isOutput ? 'linear' : this.spec.activation;
      h = tf.fused.matMul({ a: h, b: this.variables[2 * l] as tf.Tensor2D, bias: this.variables[2 * l + 1], ...(activation === 'relu' ? { activation: 'relu' as const } : {}) }) as tf.Tensor2D;
      if (activation === 'tanh') h = tf.tanh(h);
    }
    return h;
  }

  /** Multiply-adds of one forward pass per sample (FLOPs are twice this). */
  macsPerSample(): number {
    const sizes = [this.spec.inputSize, ...this.spec.hiddenSizes, this.spec.outputSize];
    let macs = 0;
    for (let l = 0; l + 1 < sizes.length; l++) macs += sizes[l]! * sizes[l + 1]!;
    return macs;
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}
