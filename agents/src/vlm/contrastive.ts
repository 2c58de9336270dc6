/**
 * A small CLIP-style contrastive image–text model in TensorFlow.js (VLM-RM's reward model, trained on
 * our own renders since no CLIP weights can be had offline).
 *
 * - Image encoder: S×S RGB (NHWC, CLIP-normalised) → stride-2 3×3 convs with symmetric explicit
 *   padding 1 (so ONNX `Conv` pads [1, 1, 1, 1] match exactly), ReLU after each → flatten in NHWC order
 *   (the spatial layout stays: angles and positions matter) → [dense ReLU →] dense → D.
 * - Text encoder: token embedding (a one-hot matmul, the same numbers as a Gather) → mean over the
 *   tokens the attention mask keeps → dense ReLU → dense → D.
 * - Loss: CLIP's symmetric InfoNCE with a learnable logit scale (init ln(1/0.07), clamped at ln 100),
 *   where equal captions in a batch are all positives (targets: the row-normalised equality matrix).
 *
 * The wasm backend has no Conv2DBackpropFilter and no UnsortedSegmentSum kernel, so the convs carry a
 * hand-written gradient (weight gradient as a dilated conv, input gradient by conv2dTranspose) and the embedding is a one-hot matmul. As in `nn.ts`, dense layers transpose
 * explicitly in the backward pass (transposed-operand matmuls are many times slower on wasm).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '@rewardlab/sim';

/** CLIP's image normalisation (CLIPImageProcessor's image_mean / image_std). */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;
/** CLIP's initial logit scale, ln(1/0.07), and its clamp, ln 100. */
export const LOGIT_SCALE_INIT = Math.log(1 / 0.07);
export const LOGIT_SCALE_MAX = Math.log(100);

export interface ContrastiveConfig {
  /** Side S of the square input frames (a multiple of 2^convs). */
  imageSize: number;
  /** Embedding size D of both encoders. */
  embeddingSize: number;
  /** Output channels of the stride-2 convs. */
  channels: number[];
  /** Width of a dense ReLU layer between the flattened conv features and the projection (0: none). */
  imageHidden: number;
  vocabSize: number;
  /** Token sequence length L (the tokenizer pads or truncates to it). */
  maxLength: number;
  tokenDim: number;
  textHidden: number;
}

export const DEFAULT_CONTRASTIVE_CONFIG = {
  imageSize: 64,
  embeddingSize: 64,
  channels: [16, 32, 32, 64],
  imageHidden: 0,
  maxLength: 16,
  tokenDim: 32,
  textHidden: 64,
} as const;

/** A named weight with its data (row-major, tfjs layout: conv kernels [kh, kw, in, out], dense [in, out]). */
export interface NamedWeight {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** x/255 then (x − mean)/std per channel, in float32 as CLIPImageProcessor does, for frames already at S×S (NHWC). */
export function normalizePixels(rgb: Uint8Array, out = new Float32Array(rgb.length)): Float32Array {
  const scale = Math.fround(1 / 255);
  const mean = CLIP_MEAN.map(Math.fround);
  const std = CLIP_STD.map(Math.fround);
  for (let i = 0; i < rgb.length; i++) {
    const c = i % 3;
    out[i] = Math.fround(Math.fround(rgb[i]! * scale) - mean[c]!) / std[c]!;
  }
  return out;
}

/** NHWC → NCHW (what ONNX `pixel_values` takes). */
export function nhwcToNchw(x: Float32Array, count: number, size: number): Float32Array {
  const out = new Float32Array(x.length);
  const plane = size * size;
  for (let n = 0; n < count; n++) for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[n * 3 * plane + c * plane + p] = x[(n * plane + p) * 3 + c]!;
  return out;
}

function heNormal(rng: Rng, count: number, fanIn: number): Float32Array {
  const std = Math.sqrt(2 / fanIn);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.normal(0, std);
  return out;
}

function glorotUniform(rng: Rng, count: number, fanIn: number, fanOut: number): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.uniform(-limit, limit);
  return out;
}

/**
 * The weight gradient of a 3×3 stride-2 pad-1 conv, dW[ky, kx, c, o] = Σ_b,i,j xpad[b, 2i + ky, 2j + kx, c]·dz[b, i, j, o],
 * as one dilated conv (XNNPACK runs it far faster than im2col by strided slices on wasm): the padded input
 * with batch and channels swapped, [C, H + 2, W + 2, B], convolved with dz as a [Ho, Wo, B, O] kernel at
 * dilation 2, keeping the first 3×3 outputs.
 */
function convWeightGrad(x: tf.Tensor4D, dz: tf.Tensor4D): tf.Tensor4D {
  const c = x.shape[3];
  const o = dz.shape[3];
  const xT = tf.transpose(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), [3, 1, 2, 0]) as tf.Tensor4D;
  const kernel = tf.transpose(dz, [1, 2, 0, 3]) as tf.Tensor4D;
  const y = tf.conv2d(xT, kernel, 1, 'valid', 'NHWC', 2);
  return tf.transpose(tf.slice(y, [0, 0, 0, 0], [c, 3, 3, o]), [1, 2, 0, 3]) as tf.Tensor4D;
}

/** relu(conv2d(x, W, stride 2, pad 1) + b) with a backward pass the wasm backend can run. */
function convReluOp(needInputGrad: boolean) {
  return tf.customGrad(((x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const y = tf.fused.conv2d({ x, filter: w, bias: b, strides: 2, pad: 1, activation: 'relu' });
    save([x, w, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [sx, sw, sy] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
        const dz = tf.mul(dy, tf.step(sy)) as tf.Tensor4D;
        const [n, ho, wo, co] = dz.shape;
        const rows = n * ho * wo;
        const dw = convWeightGrad(sx, dz);
        const db = tf.reshape(tf.matMul(tf.ones([1, rows]), tf.reshape(dz, [rows, co]) as tf.Tensor2D), [co]);
        const dx = needInputGrad ? tf.conv2dTranspose(dz, sw, sx.shape, 2, 1) : tf.zerosLike(sx);
        return [dx, dw, db];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) => tf.Tensor4D;
}

/** act(x·W + b) with explicit transposes in the backward pass. */
function denseOp(relu: boolean) {
  return tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const y = tf.fused.matMul({ a: x, b: w, bias: b, activation: relu ? 'relu' : 'linear' }) as tf.Tensor2D;
    save([x, w, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [sx, sw, sy] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const dz = relu ? (tf.mul(dy, tf.step(sy)) as tf.Tensor2D) : dy;
        const dw = tf.matMul(tf.transpose(sx), dz);
        const db = tf.reshape(tf.matMul(tf.ones([1, dz.shape[0]]), dz), [dz.shape[1]]);
        const dx = tf.matMul(dz, tf.transpose(sw));
        return [dx, dw, db];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;
}

let ops: { conv: [ReturnType<typeof convReluOp>, ReturnType<typeof convReluOp>]; dense: [ReturnType<typeof denseOp>, ReturnType<typeof denseOp>] } | null = null;
function getOps() {
  return (ops ??= { conv: [convReluOp(false), convReluOp(true)], dense: [denseOp(false), denseOp(true)] });
}

/** relu(conv2d(x, W, 2, 1) + b), stride 2, pad 1, with the hand-written gradient (`needInputGrad` false: dx is zeros). */
export function convRelu(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, needInputGrad = true): tf.Tensor4D {
  return getOps().conv[needInputGrad ? 1 : 0](x, w, b);
}

/**
 * CLIP's symmetric InfoNCE: logits = e^min(t, ln 100) · îⱼ·t̂ₖ over L2-normalised embeddings; targets
 * `positives` (1 where two rows' captions are equal, the diagonal included) normalised per row; the mean
 * of the image→text and text→image cross-entropies.
 */
export function clipInfoNceLoss(imageEmbeds: tf.Tensor2D, textEmbeds: tf.Tensor2D, logitScale: tf.Tensor, positives: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const img = tf.div(imageEmbeds, tf.norm(imageEmbeds, 'euclidean', 1, true)) as tf.Tensor2D;
    const txt = tf.div(textEmbeds, tf.norm(textEmbeds, 'euclidean', 1, true)) as tf.Tensor2D;
    const scale = tf.exp(tf.minimum(logitScale, LOGIT_SCALE_MAX));
    const logits = tf.mul(tf.matMul(img, tf.transpose(txt)), scale) as tf.Tensor2D;
    const targets = tf.div(positives, tf.sum(positives, 1, true));
    const i2t = tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits, 1)), 1)));
    // Text→image: the columns' softmax; the equality matrix is symmetric, so its row normalisation serves.
    const t2i = tf.neg(tf.mean(tf.sum(tf.mul(tf.transpose(targets), tf.logSoftmax(tf.transpose(logits), 1)), 1)));
    return tf.div(tf.add(i2t, t2i), 2) as tf.Scalar;
  });
}

/** The equality matrix of a batch's caption ids (1 where equal). */
export function captionPositives(captionIds: readonly number[]): Float32Array {
  const n = captionIds.length;
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = captionIds[i] === captionIds[j] ? 1 : 0;
  return out;
}

let variableCounter = 0;

export class ContrastiveModel {
  readonly config: ContrastiveConfig;
  private readonly vars: Map<string, tf.Variable> = new Map();
  readonly logitScale: tf.Variable;

  constructor(config: ContrastiveConfig, weights: NamedWeight[]) {
    this.config = config;
    for (const w of weights) this.vars.set(w.name, tf.variable(tf.tensor(w.data, w.shape, 'float32'), true, `vlm${variableCounter++}/${w.name}`));
    const scale = this.vars.get('logit_scale');
    if (!scale) throw new Error('contrastive model: the weights lack logit_scale');
    this.logitScale = scale;
  }

  /** A fresh model with seeded initialisers (He normal for convs, Glorot uniform for dense layers, N(0, 0.1²) token embeddings). */
  static create(config: ContrastiveConfig, seed: number): ContrastiveModel {
    const size = config.imageSize;
    const steps = config.channels.length;
    if (!(Number.isInteger(size) && size > 0 && size % 2 ** steps === 0)) throw new RangeError(`contrastive model: image size ${size} must be a positive multiple of ${2 ** steps} (${steps} stride-2 convs)`);
    const rng = new Rng(seed);
    const weights: NamedWeight[] = [];
    let cin = 3;
    config.channels.forEach((cout, i) => {
      weights.push({ name: `vision.conv${i}.weight`, shape: [3, 3, cin, cout], data: heNormal(rng, 9 * cin * cout, 9 * cin) });
      weights.push({ name: `vision.conv${i}.bias`, shape: [cout], data: new Float32Array(cout) });
      cin = cout;
    });
    const side = size / 2 ** steps;
    let features = side * side * cin;
    if (config.imageHidden > 0) {
      weights.push({ name: 'vision.hidden.weight', shape: [features, config.imageHidden], data: heNormal(rng, features * config.imageHidden, features) });
      weights.push({ name: 'vision.hidden.bias', shape: [config.imageHidden], data: new Float32Array(config.imageHidden) });
      features = config.imageHidden;
    }
    const D = config.embeddingSize;
    weights.push({ name: 'vision.proj.weight', shape: [features, D], data: glorotUniform(rng, features * D, features, D) });
    weights.push({ name: 'vision.proj.bias', shape: [D], data: new Float32Array(D) });
    const E = config.tokenDim;
    const emb = new Float32Array(config.vocabSize * E);
    for (let i = 0; i < emb.length; i++) emb[i] = rng.normal(0, 0.1);
    weights.push({ name: 'text.embedding', shape: [config.vocabSize, E], data: emb });
    weights.push({ name: 'text.hidden.weight', shape: [E, config.textHidden], data: heNormal(rng, E * config.textHidden, E) });
    weights.push({ name: 'text.hidden.bias', shape: [config.textHidden], data: new Float32Array(config.textHidden) });
    weights.push({ name: 'text.proj.weight', shape: [config.textHidden, D], data: glorotUniform(rng, config.textHidden * D, config.textHidden, D) });
    weights.push({ name: 'text.proj.bias', shape: [D], data: new Float32Array(D) });
    weights.push({ name: 'logit_scale', shape: [], data: Float32Array.of(LOGIT_SCALE_INIT) });
    return new ContrastiveModel(config, weights);
  }

  private v(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`contrastive model: no weight ${name}`);
    return v;
  }

  get trainableVariables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  /** Image embeddings (unnormalised) of CLIP-normalised NHWC pixels [B, S, S, 3]. */
  encodeImages(pixels: tf.Tensor4D): tf.Tensor2D {
    const { conv, dense } = getOps();
    let x = pixels;
    this.config.channels.forEach((_, i) => {
      x = conv[i === 0 ? 0 : 1](x, this.v(`vision.conv${i}.weight`) as tf.Tensor4D, this.v(`vision.conv${i}.bias`) as tf.Tensor1D);
    });
    let h = tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D;
    if (this.config.imageHidden > 0) h = dense[1](h, this.v('vision.hidden.weight') as tf.Tensor2D, this.v('vision.hidden.bias') as tf.Tensor1D);
    return dense[0](h, this.v('vision.proj.weight') as tf.Tensor2D, this.v('vision.proj.bias') as tf.Tensor1D);
  }

  /** Text embeddings (unnormalised) of token ids [B, L] (int32) under an attention mask [B, L] (float 0/1). */
  encodeTexts(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
    const { dense } = getOps();
    const [b, l] = ids.shape;
    const E = this.config.tokenDim;
    const onehot = tf.oneHot(tf.reshape(ids, [b * l]) as tf.Tensor1D, this.config.vocabSize);
    const tokens = tf.reshape(tf.matMul(onehot, this.v('text.embedding') as tf.Tensor2D), [b, l, E]);
    const summed = tf.sum(tf.mul(tokens, tf.expandDims(mask, 2)), 1) as tf.Tensor2D;
    const count = tf.maximum(tf.sum(mask, 1, true), 1);
    const pooled = tf.div(summed, count) as tf.Tensor2D;
    const h = dense[1](pooled, this.v('text.hidden.weight') as tf.Tensor2D, this.v('text.hidden.bias') as tf.Tensor1D);
    return dense[0](h, this.v('text.proj.weight') as tf.Tensor2D, this.v('text.proj.bias') as tf.Tensor1D);
  }

  loss(pixels: tf.Tensor4D, ids: tf.Tensor2D, mask: tf.Tensor2D, positives: tf.Tensor2D): tf.Scalar {
    return clipInfoNceLoss(this.encodeImages(pixels), this.encodeTexts(ids, mask), this.logitScale, positives);
  }

  /** The weights as they are now (tfjs layouts). */
  async weights(): Promise<NamedWeight[]> {
    const out: NamedWeight[] = [];
    for (const [name, v] of this.vars) out.push({ name, shape: [...v.shape], data: (await v.data()) as Float32Array });
    return out;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
