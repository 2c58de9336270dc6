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

/**
 * The weight gradient xᵀ·dz of a minibatch of N rows is a short, wide product (K = N, output in × out),
 * and a plain matmul tiles only its small output: on webgpu a 256 × 256 gradient is 64 workgroups of
 * 32 × 32, each looping over all N rows, which leaves most of a large GPU idle. Split into S chunks of
 * at least GPU_CHUNK_ROWS rows (S ≤ GPU_MAX_SPLITS, a power of two dividing N), it is S× the workgroups
 * in one batched matmul, then a sum of the S partial gradients. Measured on an H200 at N = 65,536
 * (32 chunks; agents/README.md "On a GPU"): the 107 × 256 first-layer gradient 5.6× and the 256 × 256
 * one 4.2× faster.
 */
const GPU_CHUNK_ROWS = 2048;
const GPU_MAX_SPLITS = 64;

/** The number of row chunks `gpuWeightGrad` splits N rows into. */
export function weightGradSplits(rows: number, chunkRows = GPU_CHUNK_ROWS, maxSplits = GPU_MAX_SPLITS): number {
  let s = 1;
  while (2 * s <= maxSplits && rows % (2 * s) === 0 && rows / (2 * s) >= chunkRows) s *= 2;
  return s;
}

/** xᵀ·dz for x: N × in, dz: N × out, as a split-K batched matmul (see GPU_CHUNK_ROWS). */
export function gpuWeightGrad(x: tf.Tensor2D, dz: tf.Tensor2D, splits = weightGradSplits(x.shape[0])): tf.Tensor2D {
  const [n, fanIn] = x.shape;
  if (n % splits !== 0) throw new RangeError(`gpuWeightGrad: ${n} rows do not split into ${splits} equal chunks`);
  if (splits === 1) return tf.matMul(x, dz, true, false);
  return tf.tidy(() => {
    const xs = tf.reshape(x, [splits, n / splits, fanIn]) as tf.Tensor3D;
    const dzs = tf.reshape(dz, [splits, n / splits, dz.shape[1]]) as tf.Tensor3D;
    return tf.sum(tf.matMul(xs, dzs, true, false), 0) as tf.Tensor2D;
  });
}

/**
 * y = act(x·W + b) with a hand-written backward pass; `needInputGrad` false skips dx (the first layer).
 * `gpu` false (wasm, cpu): tanh as 2σ(2z) − 1 fused into the matmul, explicit transposes then plain
 * matmuls, the bias gradient as a ones-row matmul. `gpu` true (webgpu): a fused forward with tanh
 * after it, transposed-operand matmuls, the split-K weight gradient (`gpuWeightGrad`), a column sum.
 */
function denseOp(activation: Activation | 'linear', needInputGrad: boolean, gpu: boolean) {
  return tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
    let y: tf.Tensor2D;
    if (activation === 'tanh' && !gpu) {
      // tanh(z) = 2σ(2z) − 1
      const s = tf.fused.matMul({ a: x, b: tf.mul(w, 2) as tf.Tensor2D, bias: tf.mul(b, 2), activation: 'sigmoid' });
      y = tf.sub(tf.mul(s, 2), 1) as tf.Tensor2D;
    } else {
      y = tf.fused.matMul({ a: x, b: w, bias: b, activation: activation === 'relu' ? 'relu' : 'linear' }) as tf.Tensor2D;
      if (activation === 'tanh') y = tf.tanh(y);
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
        if (gpu) {
          const dx = needInputGrad ? tf.matMul(dz, sw, false, true) : tf.zerosLike(sx);
          return [dx, gpuWeightGrad(sx, dz), tf.sum(dz, 0)];
        }
        const dw = tf.matMul(tf.transpose(sx), dz);
        const db = tf.reshape(tf.matMul(tf.ones([1, dz.shape[0]]), dz), [dz.shape[1]]);
        const dx = needInputGrad ? tf.matMul(dz, tf.transpose(sw)) : tf.zerosLike(sx);
        return [dx, dw, db];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;
}

const ops = new Map<string, (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D>();
function dense(activation: Activation | 'linear', needInputGrad: boolean, gpu: boolean) {
  const key = `${activation}/${needInputGrad}/${gpu}`;
  let op = ops.get(key);
  if (!op) ops.set(key, (op = denseOp(activation, needInputGrad, gpu)));
  return op;
}

/**
 * Dense-layer implementations: `cpu` and `gpu`, `denseOp`'s two hand-written backward passes (wasm and
 * cpu backends; webgpu); `autodiff`, plain ops and tfjs's own gradients (native tensorflow and webgl,
 * which run transposed matmuls and tanh at full speed).
 */
export type DensePath = 'cpu' | 'gpu' | 'autodiff';

export function densePathFor(backend: string): DensePath {
  if (backend === 'webgpu') return 'gpu';
  if (backend === 'tensorflow' || backend === 'webgl') return 'autodiff';
  return 'cpu';
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
      // tf.variable shares its initial tensor's data; disposing that tensor leaves the variable's.
      const kernel = tf.tensor2d(w, [sizes[l]!, sizes[l + 1]!]);
      const bias = tf.zeros([sizes[l + 1]!]);
      this.variables.push(tf.variable(kernel, true, `${name}/dense_${l}/kernel`));
      this.variables.push(tf.variable(bias, true, `${name}/dense_${l}/bias`));
      kernel.dispose();
      bias.dispose();
    }
  }

  get numLayers(): number {
    return this.variables.length / 2;
  }

  /**
   * Forward pass (differentiable), by default with the dense implementation made for the current
   * backend (`densePathFor`); `path` forces one (tests compare them).
   */
  apply(x: tf.Tensor2D, path: DensePath = densePathFor(tf.getBackend())): tf.Tensor2D {
    if (path === 'autodiff') return this.applyPlain(x);
    let h = x;
    for (let l = 0; l < this.numLayers; l++) {
      const isOutput = l + 1 === this.numLayers;
      const op = dense(isOutput ? 'linear' : this.spec.activation, l > 0, path === 'gpu');
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
