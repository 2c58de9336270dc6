import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { loadVisionLanguageModel, OnnxGraphBuilder, readOnnxModel, VlmModelError, type VisionLanguageModel } from '../src';

// ---------------------------------------------------------------------------------------------------
// Tiny model directories, written with OnnxGraphBuilder into a temp dir.
// ---------------------------------------------------------------------------------------------------

/** mulberry32: deterministic weights and frames. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];
const D = 4;
const CROP = 8;

const WORDS = ['[PAD]', '[UNK]', 'the', 'red', 'ball', 'is', 'in', 'goal', 'a', 'blue', 'car', 'photo', 'of', 'green', 'field'];
const VOCAB: Record<string, number> = Object.fromEntries(WORDS.map((w, i) => [w, i]));
/** The text encoders' embedding table: row v is word v's embedding (D = 4 unless a test says otherwise). */
function table(dim: number): Float32Array {
  const r = rng(7);
  return Float32Array.from({ length: WORDS.length * dim }, () => r() * 2 - 1);
}
const TABLE = table(D);
const row = (word: string, t = TABLE, dim = D): number[] => Array.from(t.subarray(VOCAB[word]! * dim, (VOCAB[word]! + 1) * dim));
const meanOf = (rows: number[][]): number[] => rows[0]!.map((_, k) => rows.reduce((s, r) => s + r[k]!, 0) / rows.length);

/** pixel_values [batch,3,h,w] → Flatten → MatMul(W) → `output` [batch, dim] (symbolic dim when `dynamic`). */
function visionOnnx(opts: { size?: number; dim?: number; output?: string; dynamic?: boolean; extraRank2?: boolean; half?: boolean } = {}): Uint8Array {
  const size = opts.size ?? CROP;
  const dim = opts.dim ?? D;
  const output = opts.output ?? 'image_embeds';
  const r = rng(3);
  const weights = Float32Array.from({ length: 3 * size * size * dim }, () => (r() * 2 - 1) * 0.1);
  const b = new OnnxGraphBuilder('vision');
  let x = b.input('pixel_values', 'float', ['batch', 3, size, size]);
  if (opts.half) x = b.node('Cast', [x], { to: 1 }); // float16 → float (the input's type is patched below)
  const flat = b.node('Flatten', [x], { axis: 1 });
  const w = b.initializer('W', weights, [3 * size * size, dim]);
  if (opts.half) b.node('Cast', [b.node('MatMul', [flat, w])], { to: 10 }, [output]);
  else b.node('MatMul', [flat, w], {}, [output]);
  b.output(output, 'float', ['batch', opts.dynamic ? 'dim' : dim]);
  if (opts.extraRank2) {
    b.node('Identity', [output], {}, ['second']);
    b.output('second', 'float', ['batch', dim]);
  }
  const bytes = b.toBytes();
  if (!opts.half) return bytes;
  // An `_fp16` variant: float16 in and out.
  const model = readOnnxModel(bytes);
  model.graph!.input![0]!.type!.tensorType!.elemType = onnx.TensorProto.DataType.FLOAT16;
  model.graph!.output![0]!.type!.tensorType!.elemType = onnx.TensorProto.DataType.FLOAT16;
  return onnx.ModelProto.encode(model).finish();
}

/**
 * input_ids → Gather(table) → masked mean over the sequence (Cast mask, Unsqueeze, Mul, ReduceSum, Div)
 * → `text_embeds`; or, with `masked: false`, input_ids only → ReduceMean over every position (pads too)
 * → `output`, plus a rank-3 last_hidden_state.
 */
function textOnnx(opts: { dim?: number; masked?: boolean; output?: string; dynamic?: boolean; extraInput?: string } = {}): Uint8Array {
  const dim = opts.dim ?? D;
  const masked = opts.masked ?? true;
  const output = opts.output ?? (masked ? 'text_embeds' : 'pooler_output');
  const b = new OnnxGraphBuilder('text');
  const ids = b.input('input_ids', 'int64', ['batch', 'seq']);
  const emb = b.initializer('table', dim === D ? TABLE : table(dim), [WORDS.length, dim]);
  const g = b.node('Gather', [emb, ids], { axis: 0 });
  if (masked) {
    const mask = b.input('attention_mask', 'int64', ['batch', 'seq']);
    const mf = b.node('Unsqueeze', [b.node('Cast', [mask], { to: 1 }), b.ints('axis2', [2])]);
    const sum = b.node('ReduceSum', [b.node('Mul', [g, mf]), b.ints('axis1', [1])], { keepdims: 0 });
    const count = b.node('ReduceSum', [mf, b.ints('axis1b', [1])], { keepdims: 0 });
    b.node('Div', [sum, count], {}, [output]);
  } else {
    b.node('ReduceMean', [g], { axes: [1], keepdims: 0 }, [output]);
  }
  b.output(output, 'float', ['batch', opts.dynamic ? 'dim' : dim]);
  b.node('Identity', [g], {}, ['last_hidden_state']);
  b.output('last_hidden_state', 'float', ['batch', 'seq', dim]);
  if (opts.extraInput) {
    const extra = b.input(opts.extraInput, 'int64', ['batch', 'seq']);
    b.node('Identity', [extra], {}, ['extra_out']);
    b.output('extra_out', 'int64', ['batch', 'seq']);
  }
  return b.toBytes();
}

const TOKENIZER = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: ['[PAD]', '[UNK]'].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
  normalizer: { type: 'Lowercase' },
  pre_tokenizer: { type: 'Whitespace' },
  post_processor: null,
  decoder: null,
  model: { type: 'WordLevel', vocab: VOCAB, unk_token: '[UNK]' },
};
const TOKENIZER_CONFIG = { tokenizer_class: 'PreTrainedTokenizer', pad_token: '[PAD]', unk_token: '[UNK]', model_max_length: 16 };

function clipPreprocessor(shortestEdge: number, crop: number): Record<string, unknown> {
  return {
    image_processor_type: 'CLIPImageProcessor',
    do_resize: true,
    size: { shortest_edge: shortestEdge },
    resample: 3,
    do_center_crop: true,
    crop_size: { height: crop, width: crop },
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: CLIP_MEAN,
    image_std: CLIP_STD,
    do_convert_rgb: true,
  };
}

interface DirSpec {
  config?: Record<string, unknown> | string | null;
  preprocessor?: Record<string, unknown> | string;
  tokenizer?: Record<string, unknown>;
  tokenizerConfig?: Record<string, unknown> | null;
  vision?: Uint8Array | null;
  text?: Uint8Array | null;
  /** Extra files, relative path → bytes. */
  extra?: Record<string, Uint8Array>;
}

let tmp = '';
let dirCount = 0;
function makeDir(spec: DirSpec = {}): string {
  const dir = path.join(tmp, `model-${dirCount++}`);
  fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  const write = (name: string, value: unknown) => {
    if (value === null || value === undefined) return;
    fs.writeFileSync(path.join(dir, name), value instanceof Uint8Array ? value : typeof value === 'string' ? value : JSON.stringify(value));
  };
  write('config.json', spec.config === undefined ? { model_type: 'clip' } : spec.config);
  write('preprocessor_config.json', spec.preprocessor ?? clipPreprocessor(CROP, CROP));
  write('tokenizer.json', spec.tokenizer ?? TOKENIZER);
  write('tokenizer_config.json', spec.tokenizerConfig === undefined ? TOKENIZER_CONFIG : spec.tokenizerConfig);
  write('onnx/vision_model.onnx', spec.vision === undefined ? VISION : spec.vision);
  write('onnx/text_model.onnx', spec.text === undefined ? TEXT : spec.text);
  for (const [name, bytes] of Object.entries(spec.extra ?? {})) write(name, bytes);
  return dir;
}

const VISION = visionOnnx();
const TEXT = textOnnx();

/** A load that must fail: returns the VlmModelError. */
async function loadError(dir: string, options = {}): Promise<VlmModelError> {
  try {
    const model = await loadVisionLanguageModel(dir, options);
    await model.close();
  } catch (e) {
    expect(e).toBeInstanceOf(VlmModelError);
    return e as VlmModelError;
  }
  throw new Error(`loading ${dir} did not fail`);
}

async function callError(f: () => Promise<unknown>): Promise<VlmModelError> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(VlmModelError);
    return e as VlmModelError;
  }
  throw new Error('the call did not fail');
}

function randomFrames(count: number, width: number, height: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: count * width * height * 3 }, () => Math.floor(r() * 256));
}

/** The test's own preprocessing of frames already at the crop size: /255, (x − mean)/std, HWC → CHW. */
function normalise(frames: Uint8Array, count: number, width: number, height: number, crop = { x: 0, y: 0, w: width, h: height }): Float32Array {
  const out = new Float32Array(count * 3 * crop.w * crop.h);
  for (let n = 0; n < count; n++)
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < crop.h; y++)
        for (let x = 0; x < crop.w; x++) {
          const p = frames[((n * height + crop.y + y) * width + crop.x + x) * 3 + c]!;
          out[((n * 3 + c) * crop.h + y) * crop.w + x] = (p / 255 - CLIP_MEAN[c]!) / CLIP_STD[c]!;
        }
  return out;
}

function rowsOf(data: Float32Array, dim: number): number[][] {
  return Array.from({ length: data.length / dim }, (_, i) => Array.from(data.subarray(i * dim, (i + 1) * dim)));
}

function expectSameRows(got: Float32Array, want: Float32Array, dim: number, tol = 1e-5): void {
  expect(got.length).toBe(want.length);
  const a = rowsOf(got, dim);
  const b = rowsOf(want, dim);
  let maxDiff = 0;
  a.forEach((r, i) => {
    const dot = r.reduce((s, x, k) => s + x * b[i]![k]!, 0);
    const cos = dot / (Math.hypot(...r) * Math.hypot(...b[i]!));
    expect(cos).toBeGreaterThanOrEqual(0.9999);
    r.forEach((x, k) => (maxDiff = Math.max(maxDiff, Math.abs(x - b[i]![k]!))));
  });
  expect(maxDiff).toBeLessThan(tol);
}

const ids = (text: string): number[] => text.toLowerCase().split(/\s+/).filter(Boolean).map((w) => VOCAB[w] ?? VOCAB['[UNK]']!);

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vlm-model-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------

describe('loadVisionLanguageModel', () => {
  let dir = '';
  let model: VisionLanguageModel;
  beforeAll(async () => {
    dir = makeDir();
    model = await loadVisionLanguageModel(dir, { maxBatch: 2, threads: 1 });
  });
  afterAll(async () => {
    await model?.close();
  });

  it('reports the directory, family, files, embedding size and crop size', () => {
    expect(model.dir).toBe(path.resolve(dir));
    expect(model.family).toBe('clip');
    expect(model.embeddingSize).toBe(D);
    expect(model.imageSize).toEqual({ width: CROP, height: CROP });
    expect(model.files).toEqual({
      vision: path.join(dir, 'onnx', 'vision_model.onnx'),
      text: path.join(dir, 'onnx', 'text_model.onnx'),
      tokenizer: path.join(dir, 'tokenizer.json'),
      preprocessor: path.join(dir, 'preprocessor_config.json'),
    });
  });

  it('embeds frames and texts exactly as a direct onnxruntime session fed the test’s own inputs (5 frames in chunks of 2)', async () => {
    const count = 5;
    const frames = randomFrames(count, CROP, CROP, 11);
    const got = await model.embedFrames(frames, count, CROP, CROP);
    const vision = await ort.InferenceSession.create(path.join(dir, 'onnx', 'vision_model.onnx'));
    const texts = ['the red ball', 'a blue car is in the goal', 'GREEN field'];
    const gotText = await model.embedTexts(texts);
    const text = await ort.InferenceSession.create(path.join(dir, 'onnx', 'text_model.onnx'));
    try {
      const pixels = normalise(frames, count, CROP, CROP);
      const direct = await vision.run({ pixel_values: new ort.Tensor('float32', pixels, [count, 3, CROP, CROP]) });
      expectSameRows(got, direct.image_embeds!.data as Float32Array, D);

      const tokens = texts.map(ids);
      const L = Math.max(...tokens.map((t) => t.length));
      const flat = tokens.flatMap((t) => [...t, ...new Array<number>(L - t.length).fill(0)]);
      const mask = tokens.flatMap((t) => [...t.map(() => 1), ...new Array<number>(L - t.length).fill(0)]);
      const directText = await text.run({
        input_ids: new ort.Tensor('int64', BigInt64Array.from(flat, BigInt), [texts.length, L]),
        attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask, BigInt), [texts.length, L]),
      });
      expectSameRows(gotText, directText.text_embeds!.data as Float32Array, D);
    } finally {
      await vision.release();
      await text.release();
    }
  });

  it('embedPixels equals embedFrames on the same frames, and rejects a wrong pixel count', async () => {
    const frames = randomFrames(3, CROP, CROP, 12);
    const pixels = await model.preprocess(frames, 3, CROP, CROP);
    expect(Array.from(await model.embedPixels(pixels, 3))).toEqual(Array.from(await model.embedFrames(frames, 3, CROP, CROP)));
    const err = await callError(() => model.embedPixels(pixels.subarray(1), 3));
    expect(err.message).toContain(`${3 * 3 * CROP * CROP}`);
    expect(err.message).toContain(`${3 * 3 * CROP * CROP - 1}`);
  });

  it('passes a frame already at the crop size through unchanged apart from (p/255 − mean)/std, in CHW order', async () => {
    const frames = randomFrames(2, CROP, CROP, 13);
    const got = await model.preprocess(frames, 2, CROP, CROP);
    const want = normalise(frames, 2, CROP, CROP);
    expect(got.length).toBe(2 * 3 * CROP * CROP);
    let maxDiff = 0;
    got.forEach((x, i) => (maxDiff = Math.max(maxDiff, Math.abs(x - want[i]!))));
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('centre-crops a wider frame whose short edge is already size.shortest_edge: columns 4..11 of a 16×8 frame', async () => {
    const frames = randomFrames(1, 16, CROP, 14);
    const got = await model.preprocess(frames, 1, 16, CROP);
    const want = normalise(frames, 1, 16, CROP, { x: (16 - CROP) / 2, y: 0, w: CROP, h: CROP });
    let maxDiff = 0;
    got.forEach((x, i) => (maxDiff = Math.max(maxDiff, Math.abs(x - want[i]!))));
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('pads a batch to its longest prompt with a zero mask: each embedding is the mean of its own words’ rows, batch or not', async () => {
    const texts = ['red ball', 'the blue car is in the goal', 'Red   BALL', 'a zebra'];
    const got = rowsOf(await model.embedTexts(texts), D);
    const want0 = meanOf([row('red'), row('ball')]);
    const want1 = meanOf('the blue car is in the goal'.split(' ').map((w) => row(w)));
    const want3 = meanOf([row('a'), row('[UNK]')]);
    [want0, want1, want0, want3].forEach((w, i) => w.forEach((x, k) => expect(got[i]![k]).toBeCloseTo(x, 5)));
    const alone = rowsOf(await model.embedTexts(['red ball']), D)[0]!;
    alone.forEach((x, k) => expect(x).toBeCloseTo(got[0]![k]!, 6));
  });

  it('truncates a prompt at model_max_length (16 tokens): a 20-word prompt embeds as its first 16 words', async () => {
    const words = ['the', 'red', 'ball', 'is', 'in', 'the', 'goal', 'a', 'blue', 'car', 'photo', 'of', 'green', 'field', 'the', 'ball', 'car', 'car', 'car', 'car'];
    const [got] = rowsOf(await model.embedTexts([words.join(' ')]), D);
    const want = meanOf(words.slice(0, 16).map((w) => row(w)));
    want.forEach((x, k) => expect(got![k]).toBeCloseTo(x, 5));
  });

  it('rejects frames whose byte count is not count × height × width × 3, and non-positive sizes', async () => {
    const frames = randomFrames(2, CROP, CROP, 15);
    const err = await callError(() => model.embedFrames(frames.subarray(3), 2, CROP, CROP));
    expect(err.field).toBe('frames');
    expect(err.message).toContain(`${2 * CROP * CROP * 3} bytes`);
    expect(err.message).toContain(`got ${2 * CROP * CROP * 3 - 3}`);
    expect((await callError(() => model.preprocess(frames, 2, 0, CROP))).field).toBe('width');
    expect((await callError(() => model.preprocess(frames, 0, CROP, CROP))).field).toBe('count');
    expect((await callError(() => model.preprocess(frames, 2, CROP, -1))).field).toBe('height');
  });

  it('rejects an empty prompt list and names a blank prompt’s index', async () => {
    expect((await callError(() => model.embedTexts([]))).field).toBe('texts');
    const err = await callError(() => model.embedTexts(['the goal', 'a red ball', '   ']));
    expect(err.field).toBe('texts[2]');
    expect(err.message).toContain('text 2');
    expect((await callError(() => model.embedTexts(['']))).field).toBe('texts[0]');
  });
});

describe('preprocessing follows preprocessor_config.json', () => {
  it('resizes the short edge to size.shortest_edge (32×24 → 16×12) then centre-crops crop_size (8×8 at x 4, y 2)', async () => {
    // Bands of constant colour: top 4 rows C, bottom 4 rows D, in between the left half A and the right half B.
    const W = 32;
    const H = 24;
    const A = [200, 40, 90];
    const B = [10, 250, 128];
    const C = [255, 255, 0];
    const Dc = [0, 0, 255];
    const frame = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) frame.set(y < 4 ? C : y >= 20 ? Dc : x < 16 ? A : B, (y * W + x) * 3);
    const model = await loadVisionLanguageModel(makeDir({ preprocessor: clipPreprocessor(12, CROP) }));
    try {
      const got = await model.preprocess(frame, 1, W, H);
      expect(got.length).toBe(3 * CROP * CROP);
      const at = (c: number, y: number, x: number) => got[(c * CROP + y) * CROP + x]!;
      const value = (rgb: number[], c: number) => (rgb[c]! / 255 - CLIP_MEAN[c]!) / CLIP_STD[c]!;
      // Resized, A spans columns 0..7 and B 8..15; the crop keeps 4..11, so A fills crop columns 0..3 and
      // B 4..7. Rows 2..9 of the resized image (the crop) lie inside the A/B band. Away from the seams the
      // values are exact.
      for (let c = 0; c < 3; c++)
        for (let y = 1; y < CROP - 1; y++) {
          for (const x of [0, 1, 2]) expect(at(c, y, x)).toBeCloseTo(value(A, c), 5);
          for (const x of [5, 6, 7]) expect(at(c, y, x)).toBeCloseTo(value(B, c), 5);
        }
      // Neither the top nor the bottom band is in the crop.
      for (let y = 0; y < CROP; y++)
        for (let x = 0; x < CROP; x++) {
          const px = [0, 1, 2].map((c) => at(c, y, x));
          for (const band of [C, Dc]) expect(px.every((v, c) => Math.abs(v - value(band, c)) < 1e-3)).toBe(false);
        }
    } finally {
      await model.close();
    }
  });

  it('uses size { height, width } when there is no crop (SigLIP style), and refuses a config without a usable size', async () => {
    const siglipPre = { image_processor_type: 'SiglipImageProcessor', do_resize: true, size: { height: CROP, width: CROP }, resample: 2, do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] };
    const model = await loadVisionLanguageModel(makeDir({ preprocessor: siglipPre }));
    try {
      expect(model.imageSize).toEqual({ width: CROP, height: CROP });
      const frame = new Uint8Array(CROP * CROP * 3).fill(51);
      const got = await model.preprocess(frame, 1, CROP, CROP);
      for (const v of got) expect(v).toBeCloseTo((51 / 255 - 0.5) / 0.5, 6);
    } finally {
      await model.close();
    }
    const noSize = await loadError(makeDir({ preprocessor: { image_processor_type: 'CLIPImageProcessor', do_resize: true, size: { shortest_edge: 8 } } }));
    expect(noSize.file).toMatch(/preprocessor_config\.json$/);
    expect(noSize.field).toBe('crop_size');
    const badCrop = await loadError(makeDir({ preprocessor: { ...clipPreprocessor(8, 8), crop_size: 'big' } }));
    expect(badCrop.field).toBe('crop_size');
    const notOn = await loadError(makeDir({ preprocessor: { ...clipPreprocessor(8, 8), do_center_crop: false } }));
    expect(notOn.field).toBe('do_center_crop');
    expect(notOn.message).toContain('do_center_crop is not true');
  });

  it('refuses a vision encoder whose input size is not the crop size', async () => {
    const err = await loadError(makeDir({ vision: visionOnnx({ size: 6 }) }));
    expect(err.file).toMatch(/vision_model\.onnx$/);
    expect(err.message).toContain('3×8×8');
  });
});

describe('text encoders that take only input_ids', () => {
  it('CLIP family pads to the batch’s longest prompt (an unmasked mean sees exactly L − n pad rows)', async () => {
    const model = await loadVisionLanguageModel(makeDir({ text: textOnnx({ masked: false, output: 'text_embeds' }) }));
    try {
      const got = rowsOf(await model.embedTexts(['red ball', 'the blue car is in the goal']), D);
      const L = 7;
      const want0 = meanOf([row('red'), row('ball'), ...new Array<number[]>(L - 2).fill(row('[PAD]'))]);
      want0.forEach((x, k) => expect(got[0]![k]).toBeCloseTo(x, 5));
    } finally {
      await model.close();
    }
  });
});

describe('a SigLIP-style directory', () => {
  it('loads (model_type siglip, input_ids only, pooler_output) and pads every prompt to max_length (model_max_length 100 capped at 64)', async () => {
    const siglipPre = { image_processor_type: 'SiglipImageProcessor', do_resize: true, size: { height: CROP, width: CROP }, do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] };
    const dir = makeDir({
      config: { model_type: 'siglip' },
      preprocessor: siglipPre,
      tokenizerConfig: { ...TOKENIZER_CONFIG, tokenizer_class: 'SiglipTokenizer', model_max_length: 100 },
      vision: visionOnnx({ output: 'pooler_output' }),
      text: textOnnx({ masked: false }),
    });
    const model = await loadVisionLanguageModel(dir);
    try {
      expect(model.family).toBe('siglip');
      expect(model.embeddingSize).toBe(D);
      const got = rowsOf(await model.embedTexts(['red ball', 'the goal']), D);
      const L = 64;
      const want0 = meanOf([row('red'), row('ball'), ...new Array<number[]>(L - 2).fill(row('[PAD]'))]);
      const want1 = meanOf([row('the'), row('goal'), ...new Array<number[]>(L - 2).fill(row('[PAD]'))]);
      want0.forEach((x, k) => expect(got[0]![k]).toBeCloseTo(x, 5));
      want1.forEach((x, k) => expect(got[1]![k]).toBeCloseTo(x, 5));
      // The vision side reads pooler_output.
      const frames = randomFrames(2, CROP, CROP, 21);
      const vision = await ort.InferenceSession.create(model.files.vision);
      try {
        const pixels = Float32Array.from(frames, (p) => (p / 255 - 0.5) / 0.5);
        const chw = new Float32Array(pixels.length);
        for (let n = 0; n < 2; n++) for (let i = 0; i < CROP * CROP; i++) for (let c = 0; c < 3; c++) chw[(n * 3 + c) * CROP * CROP + i] = pixels[(n * CROP * CROP + i) * 3 + c]!;
        const direct = await vision.run({ pixel_values: new ort.Tensor('float32', chw, [2, 3, CROP, CROP]) });
        expectSameRows(await model.embedFrames(frames, 2, CROP, CROP), direct.pooler_output!.data as Float32Array, D);
      } finally {
        await vision.release();
      }
    } finally {
      await model.close();
    }
  });

  it('pads to model_max_length when it is below 64 (16 here), and infers siglip from the preprocessor without config.json', async () => {
    const siglipPre = { image_processor_type: 'SiglipImageProcessor', do_resize: true, size: { height: CROP, width: CROP }, do_normalize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] };
    const model = await loadVisionLanguageModel(makeDir({ config: null, preprocessor: siglipPre, text: textOnnx({ masked: false }) }));
    try {
      expect(model.family).toBe('siglip');
      const [got] = rowsOf(await model.embedTexts(['blue car']), D);
      const want = meanOf([row('blue'), row('car'), ...new Array<number[]>(14).fill(row('[PAD]'))]);
      want.forEach((x, k) => expect(got![k]).toBeCloseTo(x, 5));
    } finally {
      await model.close();
    }
  });
});

describe('file variants and output choice', () => {
  it('falls back to DIR/vision_model.onnx at top level', async () => {
    const dir = makeDir({ vision: null, extra: { 'vision_model.onnx': VISION } });
    const model = await loadVisionLanguageModel(dir);
    expect(model.files.vision).toBe(path.join(dir, 'vision_model.onnx'));
    await model.close();
  });

  it('dtype "fp16" picks vision_model_fp16.onnx / text_model_fp16.onnx and converts float16 in and out', async () => {
    const dir = makeDir({ extra: { 'onnx/vision_model_fp16.onnx': visionOnnx({ half: true }), 'onnx/text_model_fp16.onnx': TEXT } });
    const fp16 = await loadVisionLanguageModel(dir, { dtype: 'fp16' });
    const fp32 = await loadVisionLanguageModel(dir);
    try {
      expect(fp16.files.vision).toBe(path.join(dir, 'onnx', 'vision_model_fp16.onnx'));
      expect(fp16.files.text).toBe(path.join(dir, 'onnx', 'text_model_fp16.onnx'));
      const frames = randomFrames(3, CROP, CROP, 31);
      expectSameRows(await fp16.embedFrames(frames, 3, CROP, CROP), await fp32.embedFrames(frames, 3, CROP, CROP), D, 1e-2);
    } finally {
      await fp16.close();
      await fp32.close();
    }
    const missing = await loadError(dir, { dtype: 'quantized' });
    expect(missing.message).toContain('vision_model_quantized.onnx');
    expect(missing.message).toContain('text_model_quantized.onnx');
  });

  it('takes the only rank-2 output when no output is named image_embeds / pooler_output, and refuses two', async () => {
    const dir = makeDir({ vision: visionOnnxRank3Only('features') });
    const model = await loadVisionLanguageModel(dir);
    expect(model.embeddingSize).toBe(D);
    await model.close();
    const err = await loadError(makeDir({ vision: visionOnnx({ output: 'features', extraRank2: true }) }));
    expect(err.file).toMatch(/vision_model\.onnx$/);
    expect(err.message).toContain('features');
    expect(err.message).toContain('second');
  });
});

/** Vision graph whose embedding output is `name` and whose other output is rank 3. */
function visionOnnxRank3Only(name: string): Uint8Array {
  const r = rng(3);
  const b = new OnnxGraphBuilder('vision');
  const x = b.input('pixel_values', 'float', ['batch', 3, CROP, CROP]);
  const flat = b.node('Flatten', [x], { axis: 1 });
  b.node('MatMul', [flat, b.initializer('W', Float32Array.from({ length: 3 * CROP * CROP * D }, () => r() - 0.5), [3 * CROP * CROP, D])], {}, [name]);
  b.output(name, 'float', ['batch', D]);
  b.node('Identity', [x], {}, ['patches']);
  b.output('patches', 'float', ['batch', 3, CROP, CROP]);
  return b.toBytes();
}

describe('a bad model directory is named in the error', () => {
  it('a missing directory, or a file in its place', async () => {
    const missing = path.join(tmp, 'no-such-model');
    const err = await loadError(missing);
    expect(err.message).toContain(missing);
    expect(err.message).toContain('does not exist');
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    expect((await loadError(file)).message).toContain('not a directory');
  });

  it('each missing required file, with the paths looked for', async () => {
    const cases: [string, string[]][] = [
      ['preprocessor_config.json', ['preprocessor_config.json']],
      ['onnx/vision_model.onnx', ['onnx/vision_model.onnx', 'vision_model.onnx']],
      ['onnx/text_model.onnx', ['onnx/text_model.onnx', 'text_model.onnx']],
      ['tokenizer.json', ['tokenizer.json']],
    ];
    for (const [remove, looked] of cases) {
      const dir = makeDir();
      fs.rmSync(path.join(dir, remove));
      const err = await loadError(dir);
      for (const l of looked) expect(err.message).toContain(path.join(dir, l));
      expect(err.file).toBe(path.join(dir, looked[0]!));
    }
    // Everything missing at once is listed at once.
    const empty = path.join(tmp, 'empty-model');
    fs.mkdirSync(empty);
    const all = await loadError(empty);
    for (const name of ['preprocessor_config.json', 'tokenizer.json', 'vision_model.onnx', 'text_model.onnx']) expect(all.message).toContain(name);
  });

  it('invalid JSON in a config, with the file and the parser’s message', async () => {
    for (const [spec, name] of [
      [{ preprocessor: '{ "do_resize": tru' }, 'preprocessor_config.json'],
      [{ config: 'not json' }, 'config.json'],
      [{ extra: { 'tokenizer_config.json': new TextEncoder().encode('{,}') } }, 'tokenizer_config.json'],
      [{ extra: { 'tokenizer.json': new TextEncoder().encode('{"model": ') } }, 'tokenizer.json'],
    ] as [DirSpec, string][]) {
      const dir = makeDir(spec);
      const err = await loadError(dir);
      expect(err.file).toBe(path.join(dir, name));
      expect(err.message).toContain(path.join(dir, name));
      expect(err.message).toContain('invalid JSON');
    }
  });

  it('an .onnx file onnxruntime cannot load, with ORT’s message', async () => {
    const dir = makeDir({ text: new TextEncoder().encode('this is not a protobuf') });
    const err = await loadError(dir);
    expect(err.file).toBe(path.join(dir, 'onnx', 'text_model.onnx'));
    expect(err.message).toContain('onnxruntime cannot load it');
    expect(err.message.length).toBeGreaterThan(err.file!.length + 30);
  });

  it('encoders with different embedding sizes, from static shapes and by probing symbolic ones', async () => {
    for (const dynamic of [false, true]) {
      const dir = makeDir({ vision: visionOnnx({ dim: 4, dynamic }), text: textOnnx({ dim: 5, dynamic }) });
      const err = await loadError(dir);
      expect(err.message).toContain(path.join(dir, 'onnx', 'vision_model.onnx'));
      expect(err.message).toContain(path.join(dir, 'onnx', 'text_model.onnx'));
      expect(err.message).toMatch(/gives 4\b.*gives 5\b/);
    }
    // Symbolic but equal sizes load, and the probed size is reported.
    const model = await loadVisionLanguageModel(makeDir({ vision: visionOnnx({ dynamic: true }), text: textOnnx({ dynamic: true }) }));
    expect(model.embeddingSize).toBe(D);
    await model.close();
  });

  it('a text encoder input the loader cannot fill', async () => {
    const err = await loadError(makeDir({ text: textOnnx({ extraInput: 'pixel_mask' }) }));
    expect(err.file).toMatch(/text_model\.onnx$/);
    expect(err.message).toContain('pixel_mask');
  });

  it('a tokenizer without a pad token', async () => {
    const err = await loadError(makeDir({ tokenizerConfig: { tokenizer_class: 'PreTrainedTokenizer', unk_token: '[UNK]' } }));
    expect(err.field).toBe('pad_token');
  });

  it('calls after close()', async () => {
    const model = await loadVisionLanguageModel(makeDir());
    await model.close();
    expect((await callError(() => model.embedTexts(['the goal']))).message).toContain('closed');
  });
});
