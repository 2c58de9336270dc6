/**
 * Trains the contrastive image–text model on captioned renders of the simulator and exports it as a
 * CLIP-layout ONNX directory (`export.ts`). Everything is seeded: the states, the train/held-out split,
 * the initial weights, the batches and the caption drawn for each sample; the same seed on the same
 * backend gives the same weights bit for bit.
 *
 * Tokenisation goes through the exported tokenizer itself: the tokenizer files are written first, loaded
 * with transformers.js (`AutoTokenizer`), and the ids it gives every caption are the ids training uses
 * (checked against `encodeCaption`, the same WordLevel rules in plain code).
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Rng, assertSeed } from '@rewardlab/sim';
import { FrameRenderer } from '@rewardlab/render';
import { currentBackend, selectBackend, type BackendPreference } from '../backend';
import { CAPTION_VOCABULARY, CAPTIONED_ENVS, assertCaptionedEnv, captionWords, sampleCaptionedFrames, splitWords, type CaptionedEnv } from './captions';
import { ContrastiveModel, DEFAULT_CONTRASTIVE_CONFIG, LOGIT_SCALE_MAX, captionPositives, normalizePixels, type ContrastiveConfig } from './contrastive';
import { exportContrastiveModel, tokenizerVocab, writeTokenizer } from './export';

export class VlmTrainingError extends Error {
  override name = 'VlmTrainingError';
}

export interface TrainContrastiveOptions {
  envs: string[];
  out: string;
  seed?: number;
  framesPerEnv?: number;
  steps?: number;
  batchSize?: number;
  /** Frame side S (default 64). */
  size?: number;
  /** Embedding size D (default 64). */
  embeddingSize?: number;
  learningRate?: number;
  /** `cosine` (default): the learning rate decays along a half cosine to a tenth of `learningRate`; `constant`. */
  lrSchedule?: 'cosine' | 'constant';
  /** Share of each env's frames held out for the retrieval accuracy (default 0.1). */
  heldOut?: number;
  /** Architecture overrides (channels, imageHidden, tokenDim, textHidden, maxLength). */
  model?: Partial<Omit<ContrastiveConfig, 'imageSize' | 'embeddingSize' | 'vocabSize'>>;
  renderer?: FrameRenderer;
  /** tfjs backend when none is selected yet (default wasm); a selected one is kept unless this names another. */
  backend?: BackendPreference;
  onProgress?: (p: { step: number; loss: number }) => void;
}

export interface TrainContrastiveResult {
  dir: string;
  steps: number;
  /** Mean training loss over the last tenth of the steps. */
  finalLoss: number;
  /** Loss of every step. */
  losses: number[];
  /** Held-out image → caption retrieval: the share of held-out frames whose nearest caption (among all the envs' captions) is true of them. */
  heldOutAccuracy: number;
  wallSeconds: number;
  /** Frames rendered (train + held out). */
  frames: number;
  /** Seconds spent rendering, and training. */
  renderSeconds: number;
  trainSeconds: number;
  /** The captions and the token ids training used for them (from the exported tokenizer through transformers.js). */
  tokens: { captions: string[]; inputIds: number[][] };
}

/**
 * The checked-in fixture `rewards/models/vlm-small` is `trainContrastiveModel({ ...VLM_SMALL_FIXTURE,
 * out })` on the wasm backend (same seed, same bits on the same machine and backend).
 */
export const VLM_SMALL_FIXTURE = {
  envs: ['door-open', 'CartPole-v1'],
  seed: 1,
  framesPerEnv: 4096,
  steps: 1200,
  batchSize: 64,
  size: 64,
  embeddingSize: 64,
  learningRate: 1e-3,
  lrSchedule: 'cosine',
} as const satisfies Omit<TrainContrastiveOptions, 'out' | 'envs'> & { envs: readonly string[] };

/** A caption's ids under the exported WordLevel tokenizer, padded with [PAD] or truncated to `maxLength`, and its attention mask. */
export function encodeCaption(vocab: Record<string, number>, text: string, maxLength: number): { inputIds: number[]; attentionMask: number[] } {
  const ids = splitWords(text)
    .map((w) => vocab[w] ?? 1)
    .slice(0, maxLength);
  const mask = ids.map(() => 1);
  while (ids.length < maxLength) {
    ids.push(0);
    mask.push(0);
  }
  return { inputIds: ids, attentionMask: mask };
}

/** Tokenizes with transformers.js from a model directory (the way a CLIP loader does). */
export async function tokenizeWithTransformers(dir: string, texts: string[], maxLength: number): Promise<{ inputIds: number[][]; attentionMask: number[][] }> {
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = '/';
  const tok = await AutoTokenizer.from_pretrained(resolve(dir));
  const enc = tok(texts, { padding: 'max_length', max_length: maxLength, truncation: true }) as unknown as { input_ids: { data: BigInt64Array }; attention_mask: { data: BigInt64Array } };
  const rows = (data: BigInt64Array) => texts.map((_, i) => Array.from(data.subarray(i * maxLength, (i + 1) * maxLength), Number));
  return { inputIds: rows(enc.input_ids.data), attentionMask: rows(enc.attention_mask.data) };
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(Number.isInteger(v) && v > 0)) throw new VlmTrainingError(`${name} must be a positive integer, got ${value}`);
  return v;
}

interface Sample {
  env: number;
  frame: number;
  captions: number[];
  /** Cumulative caption weights (the last is the total). */
  cumulative: number[];
}

function drawCaption(s: Sample, rng: Rng): number {
  const u = rng.random() * s.cumulative[s.cumulative.length - 1]!;
  const k = s.cumulative.findIndex((c) => u < c);
  return s.captions[k < 0 ? s.captions.length - 1 : k]!;
}

export async function trainContrastiveModel(options: TrainContrastiveOptions): Promise<TrainContrastiveResult> {
  const start = performance.now();
  if (!Array.isArray(options.envs) || options.envs.length === 0) throw new VlmTrainingError(`envs must name at least one env with captions (${CAPTIONED_ENVS.join(', ')})`);
  for (const e of options.envs) {
    try {
      assertCaptionedEnv(e);
    } catch (err) {
      throw new VlmTrainingError((err as Error).message);
    }
  }
  if (new Set(options.envs).size !== options.envs.length) throw new VlmTrainingError(`envs names an env twice: ${options.envs.join(', ')}`);
  const envs = options.envs as CaptionedEnv[];
  const seed = options.seed ?? 0;
  try {
    assertSeed(seed, 'seed');
  } catch (err) {
    throw new VlmTrainingError((err as Error).message);
  }
  const framesPerEnv = positiveInt('framesPerEnv', options.framesPerEnv, 1024);
  const steps = positiveInt('steps', options.steps, 600);
  const batchSize = positiveInt('batchSize', options.batchSize, 64);
  const size = positiveInt('size', options.size, DEFAULT_CONTRASTIVE_CONFIG.imageSize);
  const embeddingSize = positiveInt('embeddingSize', options.embeddingSize, DEFAULT_CONTRASTIVE_CONFIG.embeddingSize);
  const learningRate = options.learningRate ?? 1e-3;
  if (!(Number.isFinite(learningRate) && learningRate > 0)) throw new VlmTrainingError(`learningRate must be a positive number, got ${options.learningRate}`);
  const schedule = options.lrSchedule ?? 'cosine';
  if (schedule !== 'cosine' && schedule !== 'constant') throw new VlmTrainingError(`lrSchedule must be cosine or constant, got ${JSON.stringify(options.lrSchedule)}`);
  const heldOut = options.heldOut ?? 0.1;
  if (!(heldOut >= 0 && heldOut < 1)) throw new VlmTrainingError(`heldOut must be in [0, 1), got ${options.heldOut}`);
  if (typeof options.out !== 'string' || options.out === '') throw new VlmTrainingError('out must be a directory path');
  const dir = resolve(options.out);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new VlmTrainingError(`out ${dir} is a file, not a directory`);
  const channels = options.model?.channels ?? [...DEFAULT_CONTRASTIVE_CONFIG.channels];
  if (size % 2 ** channels.length !== 0) throw new VlmTrainingError(`size ${size} must be a multiple of ${2 ** channels.length} (${channels.length} stride-2 convs)`);

  if (!currentBackend() || (options.backend && options.backend !== 'auto' && currentBackend()!.name !== options.backend)) await selectBackend(options.backend ?? 'wasm');
  mkdirSync(dir, { recursive: true });

  // Tokenizer first: training uses the ids the exported tokenizer gives.
  const maxLength = options.model?.maxLength ?? DEFAULT_CONTRASTIVE_CONFIG.maxLength;
  const words = captionWords(envs);
  const vocab = tokenizerVocab(words);
  writeTokenizer(dir, words, maxLength);
  const allCaptions = [...new Set(envs.flatMap((e) => CAPTION_VOCABULARY[e]))];
  const tokens = await tokenizeWithTransformers(dir, allCaptions, maxLength);
  allCaptions.forEach((c, i) => {
    const own = encodeCaption(vocab, c, maxLength);
    if (own.inputIds.join() !== tokens.inputIds[i]!.join() || own.attentionMask.join() !== tokens.attentionMask[i]!.join()) {
      throw new VlmTrainingError(`the exported tokenizer encodes "${c}" as [${tokens.inputIds[i]}], encodeCaption as [${own.inputIds}]`);
    }
  });
  const captionIndex = new Map(allCaptions.map((c, i) => [c, i]));

  // Data: sample, render in big batches.
  const rng = new Rng(seed);
  const renderer = options.renderer ?? new FrameRenderer({ maxFramesPerBatch: 256 });
  const pixels: Uint8Array[] = [];
  const train: Sample[] = [];
  const held: Sample[] = [];
  const cameras: Record<string, unknown> = {};
  const renderStart = performance.now();
  try {
    for (let k = 0; k < envs.length; k++) {
      const data = await sampleCaptionedFrames(envs[k]!, framesPerEnv, rng.nextSeed());
      cameras[envs[k]!] = data.camera ?? null;
      pixels.push(await renderer.renderFrames(data.scene, data.frames, { width: size, height: size, camera: data.camera }));
      const order = rng.shuffle(Array.from({ length: framesPerEnv }, (_, i) => i));
      const nHeld = Math.floor(framesPerEnv * heldOut);
      order.forEach((frame, j) => {
        let total = 0;
        const cumulative = data.weights[frame]!.map((w) => (total += w));
        (j < nHeld ? held : train).push({ env: k, frame, captions: data.captions[frame]!.map((c) => captionIndex.get(c)!), cumulative });
      });
    }
  } finally {
    if (!options.renderer) await renderer.close();
  }
  const renderSeconds = (performance.now() - renderStart) / 1000;

  const config: ContrastiveConfig = {
    ...DEFAULT_CONTRASTIVE_CONFIG,
    ...options.model,
    channels,
    imageSize: size,
    embeddingSize,
    vocabSize: Object.keys(vocab).length,
    maxLength,
  };
  const model = ContrastiveModel.create(config, rng.nextSeed());
  const optimizer = tf.train.adam(learningRate);
  const frameSize = size * size * 3;
  const batchPixels = new Float32Array(batchSize * frameSize);
  const ids = new Int32Array(batchSize * maxLength);
  const mask = new Float32Array(batchSize * maxLength);
  const losses: number[] = [];
  const trainStart = performance.now();
  let order: number[] = [];
  let cursor = 0;
  try {
    for (let step = 0; step < steps; step++) {
      if (schedule === 'cosine') (optimizer as unknown as { learningRate: number }).learningRate = learningRate * (0.1 + 0.45 * (1 + Math.cos((Math.PI * step) / steps)));
      const chosen: number[] = [];
      for (let b = 0; b < batchSize; b++) {
        if (cursor >= order.length) {
          order = rng.shuffle(Array.from({ length: train.length }, (_, i) => i));
          cursor = 0;
        }
        const s = train[order[cursor++]!]!;
        normalizePixels(pixels[s.env]!.subarray(s.frame * frameSize, (s.frame + 1) * frameSize), batchPixels.subarray(b * frameSize, (b + 1) * frameSize));
        const c = drawCaption(s, rng);
        chosen.push(c);
        ids.set(tokens.inputIds[c]!, b * maxLength);
        mask.set(tokens.attentionMask[c]!, b * maxLength);
      }
      const lossTensor = tf.tidy(() => {
        const x = tf.tensor4d(batchPixels, [batchSize, size, size, 3]);
        const t = tf.tensor2d(ids, [batchSize, maxLength], 'int32');
        const m = tf.tensor2d(mask, [batchSize, maxLength]);
        const p = tf.tensor2d(captionPositives(chosen), [batchSize, batchSize]);
        return optimizer.minimize(() => model.loss(x, t, m, p), true, model.trainableVariables)!;
      });
      const loss = (await lossTensor.data())[0]!;
      lossTensor.dispose();
      if (!Number.isFinite(loss)) throw new VlmTrainingError(`the contrastive loss became ${loss} at step ${step}`);
      const scale = (await model.logitScale.data())[0]!;
      if (scale > LOGIT_SCALE_MAX) model.logitScale.assign(tf.scalar(LOGIT_SCALE_MAX));
      losses.push(loss);
      options.onProgress?.({ step, loss });
    }
    const trainSeconds = (performance.now() - trainStart) / 1000;
    const tail = losses.slice(-Math.max(1, Math.round(steps / 10)));
    const finalLoss = tail.reduce((a, b) => a + b, 0) / tail.length;

    const heldOutAccuracy = held.length === 0 ? Number.NaN : await retrievalAccuracy(model, held, pixels, size, tokens, maxLength);
    const weights = await model.weights();
    const logitScale = Math.min((await model.logitScale.data())[0]!, LOGIT_SCALE_MAX);
    const wallSeconds = (performance.now() - start) / 1000;
    exportContrastiveModel(dir, config, weights, {
      words,
      logitScale,
      rewardlab: {
        envs,
        seed,
        steps,
        batchSize,
        size,
        embeddingSize,
        learningRate,
        lrSchedule: schedule,
        framesPerEnv,
        frames: framesPerEnv * envs.length,
        heldOutFrames: held.length,
        finalLoss,
        heldOutAccuracy,
        cameras,
        backend: currentBackend()?.name ?? tf.getBackend(),
        wallSeconds,
        renderSeconds,
        trainSeconds,
        lossCurve: losses.filter((_, i) => i % Math.max(1, Math.floor(steps / 50)) === 0 || i === steps - 1).map((l) => Math.round(l * 1e4) / 1e4),
        captions: Object.fromEntries(envs.map((e) => [e, CAPTION_VOCABULARY[e]])),
        progress: { 'door-open': 'door angle (rad)', 'CartPole-v1': '-|theta| (rad)', 'carball-1v1': 'ball y (uu), toward the orange goal' },
        preprocessing: 'frames rendered at size x size; x/255 then (x - mean)/std with CLIP mean/std',
      },
    });
    return { dir, steps, finalLoss, losses, heldOutAccuracy, wallSeconds: (performance.now() - start) / 1000, frames: framesPerEnv * envs.length, renderSeconds, trainSeconds, tokens: { captions: allCaptions, inputIds: tokens.inputIds } };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

async function retrievalAccuracy(model: ContrastiveModel, held: Sample[], pixels: Uint8Array[], size: number, tokens: { inputIds: number[][]; attentionMask: number[][] }, maxLength: number): Promise<number> {
  const frameSize = size * size * 3;
  const n = tokens.inputIds.length;
  const text = tf.tidy(() => {
    const t = model.encodeTexts(tf.tensor2d(tokens.inputIds.flat(), [n, maxLength], 'int32'), tf.tensor2d(tokens.attentionMask.flat(), [n, maxLength]));
    return tf.div(t, tf.norm(t, 'euclidean', 1, true)) as tf.Tensor2D;
  });
  let correct = 0;
  const chunk = 256;
  for (let i = 0; i < held.length; i += chunk) {
    const part = held.slice(i, i + chunk);
    const buf = new Float32Array(part.length * frameSize);
    part.forEach((s, j) => normalizePixels(pixels[s.env]!.subarray(s.frame * frameSize, (s.frame + 1) * frameSize), buf.subarray(j * frameSize, (j + 1) * frameSize)));
    const best = tf.tidy(() => tf.argMax(tf.matMul(model.encodeImages(tf.tensor4d(buf, [part.length, size, size, 3])), tf.transpose(text)), 1));
    const arg = await best.data();
    best.dispose();
    part.forEach((s, j) => {
      if (s.captions.includes(arg[j]!)) correct++;
    });
  }
  text.dispose();
  return correct / held.length;
}
