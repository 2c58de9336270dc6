/**
 * Perceptual features for step rewards (Sermanet, Xu & Levine 2016): activations of a pretrained
 * Inception V3, taken from its `mixed*` layers, not fine-tuned.
 *
 * The network. No ImageNet Inception V3 can be downloaded here, so this loads the one bundled in the
 * npm package `nsfwjs` 4.4 (`dist/models/inception_v3`): a Keras 2.2.4 InceptionV3 fine-tuned to
 * classify NSFW images, in which layers 1–167 (the stem and `mixed0` … `mixed5`) are marked
 * non-trainable, so their convolutions are presumably still ImageNet's, while everything from inside
 * the `mixed6` block on was trained for the other task. (Their batch-norm statistics fit [0, 1]
 * inputs, see below, so at least those were re-estimated for nsfwjs's preprocessing.) The early mixed
 * layers are therefore the closest offline stand-in for the paper's ImageNet features; `mixed6` …
 * `mixed10` can be asked for but carry the other task. The
 * bundles are UMD JavaScript modules: `model.min.js` exports the tfjs-layers model JSON, each
 * `group1-shardKofN.min.js` a base64 string of one weight shard (uint8-quantised weights), which is how
 * nsfwjs's own `load('InceptionV3')` reads them without a network (its `model_imports` and
 * `JSONHandler`). We read the same files, prune the topology to the layers the requested outputs
 * depend on (with their weights), and build a tfjs `LayersModel` with `tf.io.fromMemory`.
 *
 * Preprocessing, as the paper: each frame's short side is resized to 299 pixels (bilinear,
 * `tf.image.resizeBilinear` with half-pixel centres, the aspect ratio kept) and the centre 299×299 is
 * cropped (frames already 299×299 are used as they are). Pixels are scaled to [0, 1] (x / 255), which
 * is what this model expects, not Keras Inception's usual [−1, 1]: nsfwjs feeds it x / 255, and the
 * first batch norm's moving means agree — predicted from the first convolution's kernel and typical
 * image channel means they correlate 0.997 with the stored means under [0, 1] inputs and −0.07 under
 * [−1, 1] inputs (measured on the bundled weights).
 *
 * Reduction. `mixed0` alone is 35×35×256 = 313,600 numbers per frame, too many to keep for hundreds of
 * frames and to select 32 from, so each chosen layer is pooled over space (`pooling`):
 * - `'mean'`: per-channel spatial mean (C features per layer), position-free;
 * - `'max'`: per-channel spatial max;
 * - `'grid2'` / `'grid3'`: per-channel means over a 2×2 / 3×3 grid of cells (adaptive average
 *   pooling: cell r of G covers rows ⌊r·H/G⌋ … ⌈(r+1)·H/G⌉ − 1, columns alike), so where something is
 *   still matters (4C / 9C features per layer).
 * Features are laid out layer by layer in the order given, and within a layer cell by cell (row-major)
 * then channel (`featureNames`: `mixed0/c17`, `mixed0/r1c0/c17`).
 *
 * Defaults: every ImageNet-frozen mixed layer, `mixed0` … `mixed5` (35×35×256, 35×35×288 twice,
 * 17×17×768 three times: 3,136 channels), with `'grid3'` pooling: 9 × 3,136 = 28,224 features a frame
 * (113 KB as float32). Chosen by measurement on rendered door-open demos: 10 scripted demos of 30–40
 * frames at 160×120 with the camera jittered per demo; 5-fold held-out (two demos a fold); true steps
 * door shut / opening for K = 2, approach / push / retreat for K = 3; default reward settings. Held-out
 * step classification at threshold 0.5, and in brackets the share of frames whose highest step reward
 * is their true step:
 *   layers     pooling  features   K = 2        K = 3
 *   mixed0     mean          256   69 % (96)    74 % (69)
 *   mixed0     grid2       1,024   76 % (89)    82 % (80)
 *   mixed0–2   mean          832   77 % (96)    77 % (75)
 *   mixed0–2   max           832   97 % (97)    80 % (86)
 *   mixed0–2   grid2       3,328   76 % (91)    81 % (80)
 *   mixed0–2   grid3       7,488   92 % (94)    89 % (86)
 *   mixed3–5   mean        2,304   94 % (97)    88 % (86)
 *   mixed3–5   grid2       9,216   92 % (93)    89 % (85)
 *   mixed0–5   mean        3,136   92 % (97)    87 % (85)
 *   mixed0–5   grid2      12,544   88 % (93)    89 % (85)
 *   mixed0–5   grid3      28,224   95 % (96)    92 % (88)   ← default
 * (the same number of random features per step instead of the selected ones: 49–67 %). Keeping where
 * things are helps (grid3 over mean) and the later frozen blocks help; the differences between the
 * better rows are a few frames on this small set. Without the camera jitter every variant scores
 * 91–99 %. For cheaper features, `pooling: 'mean'` keeps 3,136. The forward pass costs about the same
 * for any of these layer sets (the stem before `mixed0` dominates).
 *
 * Inference runs in batches (`batchSize`, default 8) on whatever tfjs backend is active (this module
 * never selects one); every intermediate tensor is disposed, and `dispose()` frees the weights. Speed
 * on a shared 2-core machine, default features, 64 frames of 160×120: 2.5–3.2 frames/s on the wasm
 * backend (batch 8; batch 16 was no faster), 0.09 frames/s on the plain-JS cpu backend. Loading
 * (reading the bundles, pruning, building) takes about 0.5 s.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PerceptualModelError, PerceptualRewardError } from './errors';

export const INCEPTION_SIZE = 299;
export const PERCEPTUAL_POOLINGS = ['mean', 'max', 'grid2', 'grid3'] as const;
export type PerceptualPooling = (typeof PERCEPTUAL_POOLINGS)[number];
export const DEFAULT_PERCEPTUAL_LAYERS: readonly string[] = ['mixed0', 'mixed1', 'mixed2', 'mixed3', 'mixed4', 'mixed5'];
export const DEFAULT_PERCEPTUAL_POOLING: PerceptualPooling = 'grid3';
/** The mixed layers marked non-trainable in the nsfwjs model (so presumably still ImageNet-trained). */
export const IMAGENET_FROZEN_LAYERS: readonly string[] = ['mixed0', 'mixed1', 'mixed2', 'mixed3', 'mixed4', 'mixed5'];
/** Name of the feature source recorded in reward models. */
export const INCEPTION_FEATURE_SOURCE = 'nsfwjs-4.4-inception-v3';

export interface InceptionFeatureOptions {
  /** Mixed layers to read (default `DEFAULT_PERCEPTUAL_LAYERS`). */
  layers?: readonly string[];
  /** Spatial reduction of each layer (default `DEFAULT_PERCEPTUAL_POOLING`). */
  pooling?: PerceptualPooling;
  /** Frames per forward pass (default 8). */
  batchSize?: number;
  /**
   * Side of the network's square input (default 299, the paper's; at least 75, Inception V3's least).
   * The stem's cost grows with its square: a smaller side trades detail for speed.
   */
  inputSize?: number;
  /** The directory holding `model.min.js` and its shards (default nsfwjs's `dist/models/inception_v3`). */
  modelDir?: string;
}

export interface InceptionFeatureExtractor {
  readonly source: string;
  readonly layers: readonly string[];
  readonly pooling: PerceptualPooling;
  /** Side of the network's square input (frames are resized and centre-cropped to it). */
  readonly inputSize: number;
  /** Features per frame. */
  readonly dim: number;
  /** One name per feature (`mixed0/c17`, `mixed0/r1c0/c17`). */
  readonly featureNames: readonly string[];
  readonly modelDir: string;
  /**
   * Features of `count` RGB frames (`count × height × width × 3` bytes, rows top to bottom): a
   * `count × dim` row-major array.
   */
  extract(frames: Uint8Array, count: number, width: number, height: number): Promise<Float32Array>;
  /** Frees the network's weights; `extract` fails afterwards. */
  dispose(): void;
}

interface KerasLayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: unknown[];
}

interface ModelJson {
  modelTopology: { keras_version?: string; backend?: string; model_config: { class_name: string; config: { name?: string; layers: KerasLayerJson[]; input_layers: unknown[]; output_layers: unknown[] } } };
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/** nsfwjs's bundled Inception V3 directory (its `dist/models/inception_v3`). */
export function defaultInceptionModelDir(): string {
  let entry: string;
  try {
    entry = require.resolve('nsfwjs');
  } catch (err) {
    throw new PerceptualModelError(`the nsfwjs package (which ships the Inception V3 weights) cannot be found from ${__dirname}: ${(err as Error).message.split('\n')[0]}`);
  }
  // entry: …/nsfwjs/dist/cjs/index.js
  return join(dirname(entry), '..', 'models', 'inception_v3');
}

/** Loads one UMD bundle (module.exports = value) without keeping it in require's cache. */
function loadBundle(file: string): unknown {
  if (!existsSync(file)) throw new PerceptualModelError(`the Inception V3 model file ${file} is missing`);
  const req = createRequire(file);
  let value: unknown;
  try {
    value = req(file);
  } catch (err) {
    throw new PerceptualModelError(`the Inception V3 model file ${file} cannot be loaded: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    delete req.cache[file];
  }
  const v = value as { default?: unknown };
  return v && typeof v === 'object' && 'default' in v && !('modelTopology' in v) ? v.default : value;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, uint16: 2, float16: 2, uint8: 1, bool: 1 };

function inboundNames(layer: KerasLayerJson): string[] {
  const names: string[] = [];
  const visit = (node: unknown): void => {
    if (!Array.isArray(node)) return;
    if (typeof node[0] === 'string') names.push(node[0]);
    else node.forEach(visit);
  };
  visit(layer.inbound_nodes);
  return names;
}

interface PrunedModel {
  artifacts: tf.io.ModelArtifacts;
  mixedLayers: string[];
}

/** The model JSON and weights cut down to the layers `outputs` need. */
function readPrunedModel(dir: string, outputs: readonly string[], inputSize = INCEPTION_SIZE): PrunedModel {
  const jsonFile = join(dir, 'model.min.js');
  if (!existsSync(dir)) throw new PerceptualModelError(`the Inception V3 model directory ${dir} does not exist (expected nsfwjs 4.4's dist/models/inception_v3 with model.min.js and its weight shards)`);
  const json = loadBundle(jsonFile) as ModelJson;
  const layers = json?.modelTopology?.model_config?.config?.layers;
  if (!Array.isArray(layers) || !Array.isArray(json.weightsManifest)) throw new PerceptualModelError(`${jsonFile} is not a tfjs layers model (no modelTopology.model_config.config.layers or weightsManifest)`);
  const byName = new Map(layers.map((l) => [l.name, l]));
  const mixedLayers = layers.map((l) => l.name).filter((n) => /^mixed\d/.test(n));
  for (const name of outputs) {
    if (!byName.has(name) || !/^mixed\d/.test(name)) throw new PerceptualRewardError(`unknown Inception layer "${name}" (valid: ${mixedLayers.join(', ')})`);
  }
  const keep = new Set<string>();
  const stack = [...outputs];
  while (stack.length) {
    const name = stack.pop()!;
    if (keep.has(name)) continue;
    keep.add(name);
    const layer = byName.get(name);
    if (!layer) throw new PerceptualModelError(`${jsonFile}: layer "${name}" is referenced but not defined`);
    stack.push(...inboundNames(layer));
  }
  const topology = {
    keras_version: json.modelTopology.keras_version,
    backend: json.modelTopology.backend,
    model_config: {
      class_name: json.modelTopology.model_config.class_name,
      config: {
        ...json.modelTopology.model_config.config,
        name: 'inception_v3_features',
        // The convolutions take any input side; the input layer says which.
        layers: layers.filter((l) => keep.has(l.name)).map((l) => (l.class_name === 'InputLayer' ? { ...l, config: { ...l.config, batch_input_shape: [null, inputSize, inputSize, 3] } } : l)),
        output_layers: outputs.map((n) => [n, 0, 0]),
      },
    },
  };
  // Weight shards hold the weights back to back, in manifest order.
  const specs: tf.io.WeightsManifestEntry[] = [];
  const pieces: Buffer[] = [];
  let total = 0;
  for (const group of json.weightsManifest) {
    const data = Buffer.concat(
      group.paths.map((p) => {
        const shard = loadBundle(join(dir, `${p}.min.js`));
        if (typeof shard !== 'string') throw new PerceptualModelError(`${join(dir, `${p}.min.js`)} does not hold a base64 weight shard`);
        return Buffer.from(shard, 'base64');
      }),
    );
    let offset = 0;
    for (const spec of group.weights) {
      const size = spec.shape.reduce((a, b) => a * b, 1) * (BYTES[spec.quantization?.dtype ?? spec.dtype ?? 'float32'] ?? 4);
      if (keep.has(spec.name.split('/')[0]!)) {
        specs.push(spec);
        pieces.push(data.subarray(offset, offset + size));
        total += size;
      }
      offset += size;
    }
    if (offset !== data.length) throw new PerceptualModelError(`the weight shards in ${dir} hold ${data.length} bytes but ${jsonFile} describes ${offset}`);
  }
  const weightData = new Uint8Array(total);
  let at = 0;
  for (const p of pieces) {
    weightData.set(p, at);
    at += p.length;
  }
  return { artifacts: { modelTopology: topology as unknown as tf.io.ModelArtifacts['modelTopology'], weightSpecs: specs, weightData: weightData.buffer }, mixedLayers };
}

function gridCells(size: number, g: number): [number, number][] {
  const cells: [number, number][] = [];
  for (let r = 0; r < g; r++) cells.push([Math.floor((r * size) / g), Math.ceil(((r + 1) * size) / g)]);
  return cells;
}

function gridOf(pooling: PerceptualPooling): number {
  return pooling === 'grid2' ? 2 : pooling === 'grid3' ? 3 : 1;
}

/**
 * The pruned Inception V3 as a tfjs LayersModel whose outputs are the raw activations of `layers`
 * (in that order), read from `modelDir` (default nsfwjs's bundle) without a network. The caller
 * disposes it.
 */
export async function loadInceptionLayers(layers: readonly string[], modelDir: string = defaultInceptionModelDir(), inputSize = INCEPTION_SIZE): Promise<tf.LayersModel> {
  if (!Array.isArray(layers) || layers.length === 0) throw new PerceptualRewardError('layers must name at least one Inception mixed layer');
  const dup = layers.find((l, i) => layers.indexOf(l) !== i);
  if (dup !== undefined) throw new PerceptualRewardError(`layer "${dup}" is listed twice`);
  const { artifacts } = readPrunedModel(modelDir, layers, inputSize);
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    throw new PerceptualModelError(`the Inception V3 model in ${modelDir} cannot be built: ${(err as Error).message.split('\n')[0]}`);
  }
}

/**
 * The network input for `count` RGB frames (count × height × width × 3 bytes): short side resized to
 * 299 (bilinear, half-pixel centres), centre 299×299 crop, scaled to [0, 1]. Call inside `tf.tidy`.
 */
export function inceptionInput(frames: Uint8Array, count: number, width: number, height: number, size = INCEPTION_SIZE): tf.Tensor4D {
  let x = tf.div(tf.tensor4d(Float32Array.from(frames), [count, height, width, 3]), 255) as tf.Tensor4D;
  if (width === size && height === size) return x;
  const scale = size / Math.min(width, height);
  const nh = height <= width ? size : Math.max(size, Math.round(height * scale));
  const nw = width <= height ? size : Math.max(size, Math.round(width * scale));
  x = tf.image.resizeBilinear(x, [nh, nw], false, true);
  const top = Math.floor((nh - size) / 2);
  const left = Math.floor((nw - size) / 2);
  return tf.slice(x, [0, top, left, 0], [count, size, size, 3]);
}

/**
 * Pools one layer's activations [b, H, W, C] to [b, features] as `pooling` says (see the module
 * comment). Call inside `tf.tidy`.
 */
export function poolActivations(y: tf.Tensor4D, pooling: PerceptualPooling): tf.Tensor2D {
  if (pooling === 'mean') return tf.mean(y, [1, 2]) as tf.Tensor2D;
  if (pooling === 'max') return tf.max(y, [1, 2]) as tf.Tensor2D;
  const g = gridOf(pooling);
  const [b, h, w, c] = y.shape;
  const parts: tf.Tensor2D[] = [];
  for (const [r0, r1] of gridCells(h, g)) {
    for (const [c0, c1] of gridCells(w, g)) parts.push(tf.mean(tf.slice(y, [0, r0, c0, 0], [b, r1 - r0, c1 - c0, c]), [1, 2]) as tf.Tensor2D);
  }
  return tf.concat(parts, 1);
}

/** Loads the network (no network access) and returns a feature extractor for the chosen layers and pooling. */
export async function loadInceptionFeatures(options: InceptionFeatureOptions = {}): Promise<InceptionFeatureExtractor> {
  const layers = [...(options.layers ?? DEFAULT_PERCEPTUAL_LAYERS)];
  const pooling = options.pooling ?? DEFAULT_PERCEPTUAL_POOLING;
  const batchSize = options.batchSize ?? 8;
  if (!PERCEPTUAL_POOLINGS.includes(pooling)) throw new PerceptualRewardError(`unknown pooling ${JSON.stringify(pooling)} (valid: ${PERCEPTUAL_POOLINGS.join(', ')})`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new PerceptualRewardError(`batchSize must be a positive integer, got ${String(batchSize)}`);
  const modelDir = options.modelDir ?? defaultInceptionModelDir();
  const inputSize = options.inputSize ?? INCEPTION_SIZE;
  if (!Number.isInteger(inputSize) || inputSize < 75) throw new PerceptualRewardError(`inputSize must be an integer of at least 75 (Inception V3's least input side), got ${String(options.inputSize)}`);
  const model = await loadInceptionLayers(layers, modelDir, inputSize);
  const shapes = model.outputs.map((o) => o.shape as (number | null)[]);
  const g = gridOf(pooling);
  const featureNames: string[] = [];
  layers.forEach((layer, li) => {
    const channels = shapes[li]![3]!;
    if (g === 1) for (let c = 0; c < channels; c++) featureNames.push(`${layer}/c${c}`);
    else for (let r = 0; r < g; r++) for (let q = 0; q < g; q++) for (let c = 0; c < channels; c++) featureNames.push(`${layer}/r${r}c${q}/c${c}`);
  });
  const dim = featureNames.length;
  let disposed = false;

  return {
    source: INCEPTION_FEATURE_SOURCE,
    layers,
    pooling,
    inputSize,
    dim,
    featureNames,
    modelDir,
    async extract(frames, count, width, height) {
      if (disposed) throw new PerceptualModelError('this Inception feature extractor has been disposed');
      if (!(frames instanceof Uint8Array)) throw new PerceptualRewardError('frames must be a Uint8Array of count × height × width × 3 RGB bytes');
      for (const [name, v] of [['count', count], ['width', width], ['height', height]] as const) {
        if (!Number.isInteger(v) || v < 1) throw new PerceptualRewardError(`${name} must be a positive integer, got ${String(v)}`);
      }
      const frameBytes = width * height * 3;
      if (frames.length !== count * frameBytes) throw new PerceptualRewardError(`frames has ${frames.length} bytes, expected count × height × width × 3 = ${count} × ${height} × ${width} × 3 = ${count * frameBytes}`);
      const out = new Float32Array(count * dim);
      for (let start = 0; start < count; start += batchSize) {
        const b = Math.min(batchSize, count - start);
        const chunk = frames.subarray(start * frameBytes, (start + b) * frameBytes);
        const features = tf.tidy(() => {
          const input = inceptionInput(chunk, b, width, height, inputSize);
          const outputs = model.predict(input);
          const list = (Array.isArray(outputs) ? outputs : [outputs]) as tf.Tensor4D[];
          const pooled = list.map((y) => poolActivations(y, pooling));
          return pooled.length === 1 ? pooled[0]! : tf.concat(pooled, 1);
        });
        try {
          out.set(await features.data(), start * dim);
        } finally {
          features.dispose();
        }
      }
      return out;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      model.dispose();
    },
  };
}
