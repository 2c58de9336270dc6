/**
 * The contrastive image–text model behind VLM rewards: the InfoNCE loss against a hand computation
 * (equal captions as positives), the exported ONNX encoders against the tfjs model, the exported
 * tokenizer through transformers.js, captions that follow the simulator state, and short seeded
 * training runs (the loss falls; the same seed gives the same bits).
 */
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { FrameRenderer } from '@rewardlab/render';
import {
  CAPTION_VOCABULARY,
  CAPTIONED_ENVS,
  ContrastiveModel,
  DEFAULT_CONTRASTIVE_CONFIG,
  LOGIT_SCALE_MAX,
  captionPositives,
  captionWords,
  cartPoleCaptions,
  carballCaptions,
  clipInfoNceLoss,
  doorCaptions,
  encodeCaption,
  exportContrastiveModel,
  nhwcToNchw,
  normalizePixels,
  sampleCaptionedFrames,
  selectBackend,
  tokenizeWithTransformers,
  tokenizerVocab,
  trainContrastiveModel,
  vlmRmReward,
  VLM_SMALL_FIXTURE,
  writeTokenizer,
  type ContrastiveConfig,
} from '../src';

const CHROMIUM = process.env.REWARDLAB_CHROMIUM ?? '/usr/bin/chromium';
function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  if (process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but ${CHROMIUM} is missing (run .ci/install-chromium)`);
  return `${CHROMIUM} is missing`;
}
const missing = chromiumMissing();
if (missing) console.warn(`skipping the VLM training runs: ${missing}`);

const tmp = mkdtempSync(join(tmpdir(), 'rl-vlm-'));

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('InfoNCE loss', () => {
  /** The loss written out by hand: cosine logits × e^t, row-normalised equality targets, both directions. */
  function byHand(img: number[][], txt: number[][], t: number, ids: number[]): number {
    const unit = (v: number[]) => v.map((x) => x / Math.hypot(...v));
    const I = img.map(unit);
    const T = txt.map(unit);
    const scale = Math.exp(Math.min(t, Math.log(100)));
    const n = ids.length;
    const logits = I.map((a) => T.map((b) => scale * a.reduce((s, x, k) => s + x * b[k]!, 0)));
    const targets = ids.map((a) => {
      const row: number[] = ids.map((b) => (a === b ? 1 : 0));
      const sum = row.reduce((s, x) => s + x, 0);
      return row.map((x) => x / sum);
    });
    const xent = (L: number[][]) => {
      let total = 0;
      for (let i = 0; i < n; i++) {
        const m = Math.max(...L[i]!);
        const lse = m + Math.log(L[i]!.reduce((s, x) => s + Math.exp(x - m), 0));
        for (let j = 0; j < n; j++) total -= targets[i]![j]! * (L[i]![j]! - lse);
      }
      return total / n;
    };
    const transposed = logits[0]!.map((_, j) => logits.map((row) => row[j]!));
    return (xent(logits) + xent(transposed)) / 2;
  }

  const img = [
    [1, 0.2, -0.3],
    [0.1, 1, 0.4],
    [0.9, -0.1, 0.2],
    [-0.5, 0.3, 1],
  ];
  const txt = [
    [0.8, 0.1, 0],
    [0, 1, 0.5],
    [0.7, 0.3, -0.2],
    [0.2, -0.4, 0.9],
  ];

  it('equals the hand computation, duplicate captions counting as positives', () => {
    const ids = [0, 1, 0, 2]; // rows 0 and 2 share a caption
    for (const t of [Math.log(1 / 0.07), 0.5]) {
      const loss = clipInfoNceLoss(tf.tensor2d(img), tf.tensor2d(txt), tf.scalar(t), tf.tensor2d(captionPositives(ids), [4, 4]));
      expect(loss.dataSync()[0]).toBeCloseTo(byHand(img, txt, t, ids), 5);
    }
    // With all captions distinct it is CLIP's plain loss, and it differs from the one with positives.
    const plain = clipInfoNceLoss(tf.tensor2d(img), tf.tensor2d(txt), tf.scalar(2), tf.eye(4)).dataSync()[0]!;
    expect(plain).toBeCloseTo(byHand(img, txt, 2, [0, 1, 2, 3]), 5);
    expect(Math.abs(plain - byHand(img, txt, 2, [0, 1, 0, 2]))).toBeGreaterThan(1e-3);
  });

  it('clamps the logit scale at ln 100', () => {
    const ids = [0, 1, 0, 2];
    const pos = tf.tensor2d(captionPositives(ids), [4, 4]);
    const high = clipInfoNceLoss(tf.tensor2d(img), tf.tensor2d(txt), tf.scalar(7), pos).dataSync()[0]!;
    const atMax = clipInfoNceLoss(tf.tensor2d(img), tf.tensor2d(txt), tf.scalar(LOGIT_SCALE_MAX), pos).dataSync()[0]!;
    expect(high).toBeCloseTo(atMax, 5);
    expect(high).toBeCloseTo(byHand(img, txt, 7, ids), 4);
  });
});

describe('captions', () => {
  it('grade the door angle so that "open" and "closed" bracket it', () => {
    expect(doorCaptions(0)).toContain('the door is closed');
    expect(doorCaptions(0.12)).toContain('the door is barely open');
    expect(doorCaptions(0.25)).toContain('the door is slightly open');
    expect(doorCaptions(0.5)).toEqual(expect.arrayContaining(['the door is half open', 'the door is open']));
    expect(doorCaptions(1.1)).toEqual(expect.arrayContaining(['the door is wide open', 'the door is open']));
    for (const a of [0, 0.1, 0.2, 0.3]) expect(doorCaptions(a)).not.toContain('the door is open');
    for (const a of [0.36, 0.7, 1.2]) expect(doorCaptions(a)).not.toContain('the door is closed');
  });

  it('follow the pole lean sign and size (θ > 0 leans right)', () => {
    expect(cartPoleCaptions(0.01)).toContain('the pole is upright');
    expect(cartPoleCaptions(0.15)).toContain('the pole leans right');
    expect(cartPoleCaptions(-0.15)).toContain('the pole leans left');
    expect(cartPoleCaptions(0.05)).toContain('the pole tilts slightly right');
    expect(cartPoleCaptions(-0.3)).toEqual(expect.arrayContaining(['the pole is falling', 'the pole is falling left']));
    expect(cartPoleCaptions(0.5)).toContain('the pole has fallen right');
    expect(cartPoleCaptions(0.1)).not.toContain('the pole is falling');
  });

  it('put the carball ball where the state has it', () => {
    expect(carballCaptions([0, 5500, 93])).toContain('the ball is in the orange goal');
    expect(carballCaptions([0, -5500, 93])).toContain('the ball is in the blue goal');
    expect(carballCaptions([3000, 5500, 93])).not.toContain('the ball is in the orange goal'); // beside the goal mouth
    expect(carballCaptions([0, 3500, 93])).toContain('the ball is near the orange goal');
    expect(carballCaptions([0, 100, 800])).toEqual(expect.arrayContaining(['the ball is at midfield', 'the ball is in the air']));
  });

  it('sample seeded states whose captions and progress match them', async () => {
    const a = await sampleCaptionedFrames('door-open', 48, 3);
    const b = await sampleCaptionedFrames('door-open', 48, 3);
    expect(a.frames.map((f) => Array.from(f.transforms))).toEqual(b.frames.map((f) => Array.from(f.transforms)));
    expect(a.captions).toEqual(b.captions);
    expect(Math.min(...a.progress)).toBeLessThan(0.1);
    expect(Math.max(...a.progress)).toBeGreaterThan(0.9);
    a.progress.forEach((p, i) => expect(a.captions[i]).toEqual(doorCaptions(p)));

    const c = await sampleCaptionedFrames('CartPole-v1', 200, 4);
    expect(c.progress.every((p) => p <= 0 && p >= -0.6)).toBe(true);
    expect(c.progress.filter((p) => p >= -0.21).length).toBeGreaterThan(100); // the env's own range densely
    expect(Math.min(...c.progress)).toBeLessThan(-0.5);
    for (const caps of c.captions) expect(caps.every((t) => CAPTION_VOCABULARY['CartPole-v1'].includes(t))).toBe(true);

    const d = await sampleCaptionedFrames('carball-1v1', 100, 5);
    expect(d.captions.filter((caps) => caps.includes('the ball is in the orange goal')).length).toBeGreaterThan(5);
    d.progress.forEach((y, i) => {
      if (d.captions[i]!.includes('the ball is in the orange goal')) expect(y).toBeGreaterThan(5120);
    });
  });

  it('refuse an env without captions, naming those with', async () => {
    await expect(sampleCaptionedFrames('Pendulum-v1', 4, 0)).rejects.toThrow(new RegExp(CAPTIONED_ENVS.join(', ')));
  });
});

describe('export', () => {
  const configs: [string, Partial<ContrastiveConfig>][] = [
    ['default architecture', {}],
    ['with an image hidden layer, 32 px', { imageSize: 32, imageHidden: 24, channels: [8, 16, 16, 16], embeddingSize: 16 }],
  ];

  it.each(configs)('ONNX encoders reproduce the tfjs embeddings (%s)', async (_, overrides) => {
    const words = captionWords(['door-open', 'CartPole-v1']);
    const config: ContrastiveConfig = { ...DEFAULT_CONTRASTIVE_CONFIG, channels: [...DEFAULT_CONTRASTIVE_CONFIG.channels], ...overrides, vocabSize: words.length + 2 };
    const model = ContrastiveModel.create(config, 11);
    const dir = join(tmp, `export-${config.imageSize}-${config.imageHidden}`);
    exportContrastiveModel(dir, config, await model.weights(), { words, logitScale: 2.5, rewardlab: { test: true } });
    const S = config.imageSize;
    const n = 5;
    // Pixels with structure (gradients, a bright block) so a wrong flatten order or kernel layout shows.
    const rgb = new Uint8Array(n * S * S * 3);
    for (let k = 0; k < n; k++) for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) rgb[((k * S + y) * S + x) * 3 + c] = (x * (k + 1) * 7 + y * (c + 2) * 5 + (x > S / 2 && y < S / 3 ? 120 : 0)) % 256;
    const px = normalizePixels(rgb);
    const tfImg = model.encodeImages(tf.tensor4d(px, [n, S, S, 3])).dataSync();
    const vision = await ort.InferenceSession.create(join(dir, 'onnx', 'vision_model.onnx'));
    const onnxImg = (await vision.run({ pixel_values: new ort.Tensor('float32', nhwcToNchw(px, n, S), [n, 3, S, S]) })).image_embeds!.data as Float32Array;
    expect(onnxImg.length).toBe(n * config.embeddingSize);
    let maxDiff = 0;
    onnxImg.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - tfImg[i]!))));
    expect(maxDiff).toBeLessThanOrEqual(1e-4);

    const vocab = tokenizerVocab(words);
    const texts = ['the door is open', 'the pole leans left', 'the cart is in the middle', 'the door is purple'];
    const enc = texts.map((t) => encodeCaption(vocab, t, config.maxLength));
    const L = config.maxLength;
    const tfTxt = model.encodeTexts(tf.tensor2d(enc.flatMap((e) => e.inputIds), [texts.length, L], 'int32'), tf.tensor2d(enc.flatMap((e) => e.attentionMask), [texts.length, L])).dataSync();
    const text = await ort.InferenceSession.create(join(dir, 'onnx', 'text_model.onnx'));
    const int64 = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, L]);
    const onnxTxt = (await text.run({ input_ids: int64(enc.map((e) => e.inputIds)), attention_mask: int64(enc.map((e) => e.attentionMask)) })).text_embeds!.data as Float32Array;
    maxDiff = 0;
    onnxTxt.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - tfTxt[i]!))));
    expect(maxDiff).toBeLessThanOrEqual(1e-4);

    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ model_type: 'clip', projection_dim: config.embeddingSize, vision_config: { image_size: S }, text_config: { vocab_size: config.vocabSize, max_position_embeddings: L } });
    const pre = JSON.parse(readFileSync(join(dir, 'preprocessor_config.json'), 'utf8'));
    expect(pre).toMatchObject({ do_resize: true, size: { shortest_edge: S }, crop_size: { height: S, width: S }, do_normalize: true, resample: 3 });
    await vision.release();
    await text.release();
    model.dispose();
  });

  it('writes a tokenizer transformers.js reads to the ids training uses', async () => {
    const words = captionWords([...CAPTIONED_ENVS]);
    const vocab = tokenizerVocab(words);
    const dir = join(tmp, 'tokenizer');
    writeTokenizer(dir, words, 16);
    const texts = [...CAPTION_VOCABULARY['door-open'], ...CAPTION_VOCABULARY['CartPole-v1'], ...CAPTION_VOCABULARY['carball-1v1'], 'The Door is OPEN', 'a zebra is open', 'the door is open the door is open the door is open the door is open now'];
    const hf = await tokenizeWithTransformers(dir, texts, 16);
    texts.forEach((t, i) => {
      const own = encodeCaption(vocab, t, 16);
      expect(hf.inputIds[i], t).toEqual(own.inputIds);
      expect(hf.attentionMask[i], t).toEqual(own.attentionMask);
    });
    expect(hf.inputIds[texts.length - 2]![0]).toBe(1); // [UNK]
    expect(vocab['[PAD]']).toBe(0);
  });
});

describe('vlm-rm reward', () => {
  it('is 1 at the goal and ranks along the goal − baseline direction at α = 1', () => {
    const g = [1, 0, 0];
    const b = [0, 1, 0];
    expect(vlmRmReward(g, g, b, 0)).toBeCloseTo(1, 10);
    expect(vlmRmReward(g, g, b, 1)).toBeCloseTo(1, 10);
    const towards = [Math.SQRT1_2, Math.SQRT1_2, 0];
    const off = [Math.SQRT1_2, Math.SQRT1_2 * 0.5, Math.sqrt(0.5 - 0.125)];
    // Off-direction components count at α = 0, not at α = 1.
    expect(vlmRmReward(off, g, b, 1)).toBeGreaterThan(vlmRmReward(towards, g, b, 1));
    expect(vlmRmReward(off, g, b, 0)).toBeCloseTo(1 - 0.5 * ((Math.SQRT1_2 - 1) ** 2 + 0.125 + 0.375), 10);
  });
});

describe.skipIf(missing !== null)('training', () => {
  let renderer: FrameRenderer;
  beforeAll(() => {
    renderer = new FrameRenderer({ maxFramesPerBatch: 256 });
  });
  afterAll(async () => {
    await renderer?.close();
  });

  const run = (out: string, seed: number) => trainContrastiveModel({ envs: ['door-open', 'CartPole-v1'], out, seed, framesPerEnv: 96, steps: 16, batchSize: 32, size: 32, embeddingSize: 32, learningRate: 2e-3, renderer });

  it('lowers the loss, exports, and repeats bit for bit with the same seed', async () => {
    const a = await run(join(tmp, 'run-a'), 5);
    const b = await run(join(tmp, 'run-b'), 5);
    expect(a.losses).toHaveLength(16);
    expect(a.losses).toEqual(b.losses);
    expect(a.finalLoss).toBe(b.finalLoss);
    for (const f of ['onnx/vision_model.onnx', 'onnx/text_model.onnx', 'tokenizer.json']) expect(readFileSync(join(a.dir, f)).equals(readFileSync(join(b.dir, f))), f).toBe(true);
    const head = (a.losses[0]! + a.losses[1]!) / 2;
    expect(a.finalLoss).toBeLessThan(head);
    expect(a.heldOutAccuracy).toBeGreaterThanOrEqual(0);
    expect(a.frames).toBe(192);
    // Training's ids are what the exported tokenizer gives through transformers.js.
    const hf = await tokenizeWithTransformers(a.dir, a.tokens.captions, 16);
    expect(hf.inputIds).toEqual(a.tokens.inputIds);
    const cfg = JSON.parse(readFileSync(join(a.dir, 'config.json'), 'utf8'));
    expect(cfg.rewardlab).toMatchObject({ envs: ['door-open', 'CartPole-v1'], seed: 5, steps: 16, frames: 192, finalLoss: a.finalLoss });
    expect(cfg.rewardlab.cameras['CartPole-v1']).toMatchObject({ fovDeg: expect.any(Number) });

    const c = await run(join(tmp, 'run-c'), 6);
    expect(c.losses).not.toEqual(a.losses);
  });
});

describe('the vlm-small fixture', () => {
  const dir = join(__dirname, '..', '..', 'rewards', 'models', 'vlm-small');
  it.skipIf(!existsSync(join(dir, 'config.json')))('records how it was trained and stays small', async () => {
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(cfg.rewardlab).toMatchObject({ ...VLM_SMALL_FIXTURE, envs: [...VLM_SMALL_FIXTURE.envs] });
    const files = ['onnx/vision_model.onnx', 'onnx/text_model.onnx', 'tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json', 'config.json'];
    const total = files.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(total).toBeLessThan(1.5 * 1024 * 1024);
    const S = cfg.vision_config.image_size;
    const vision = await ort.InferenceSession.create(join(dir, 'onnx', 'vision_model.onnx'));
    const out = await vision.run({ pixel_values: new ort.Tensor('float32', new Float32Array(2 * 3 * S * S), [2, 3, S, S]) });
    expect(out.image_embeds!.dims).toEqual([2, cfg.projection_dim]);
    await vision.release();
  });
});

describe('training options', () => {
  const base = { envs: ['door-open'], out: join(tmp, 'bad') };
  it('names the envs with captions for an unknown env', async () => {
    await expect(trainContrastiveModel({ ...base, envs: ['door-close'] })).rejects.toThrow(/door-close.*door-open, CartPole-v1, carball-1v1/);
  });
  it('refuses non-positive sizes', async () => {
    await expect(trainContrastiveModel({ ...base, size: 0 })).rejects.toThrow(/size must be a positive integer/);
    await expect(trainContrastiveModel({ ...base, steps: -1 })).rejects.toThrow(/steps must be a positive integer/);
    await expect(trainContrastiveModel({ ...base, batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(trainContrastiveModel({ ...base, embeddingSize: 1.5 })).rejects.toThrow(/embeddingSize/);
    await expect(trainContrastiveModel({ ...base, size: 40 })).rejects.toThrow(/multiple of 16/);
  });
  it('refuses an out dir that is a file', async () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    await expect(trainContrastiveModel({ ...base, out: file })).rejects.toThrow(/is a file/);
  });
});
