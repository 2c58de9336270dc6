/**
 * Loads a CLIP-style vision-language model (CLIP, SigLIP, or our own contrastive encoders written by
 * `OnnxGraphBuilder`) from a LOCAL directory in the Hugging Face / transformers.js layout, for VLM-RM
 * rewards (Rocamonde et al. 2023):
 *
 * ```
 * DIR/config.json                 optional; model_type decides the family ("siglip…" → siglip, else clip)
 * DIR/preprocessor_config.json    required; CLIPImageProcessor / SiglipImageProcessor fields
 * DIR/tokenizer.json              required; DIR/tokenizer_config.json optional
 * DIR/onnx/vision_model[_dtype].onnx, DIR/onnx/text_model[_dtype].onnx   (or the same names in DIR/)
 * ```
 *
 * Preprocessing and tokenisation are transformers.js's own (its image processor and tokenizer classes,
 * built from the directory's JSON, never fetched); the encoders run on onnxruntime-node. Both libraries
 * are imported lazily, inside `loadVisionLanguageModel`, so importing `@rewardlab/rewards` does not
 * load the native ONNX binding. Embeddings come back as they leave the encoders (not normalised).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type * as OrtModule from 'onnxruntime-node';

type Ort = typeof OrtModule;
type OrtSession = OrtModule.InferenceSession;
type OrtTensor = OrtModule.Tensor;
type Transformers = typeof import('@huggingface/transformers', { with: { 'resolution-mode': 'import' } });

/** A model directory, one of its files, or a call's argument is unusable; `file` / `field` say which. */
export class VlmModelError extends Error {
  override name = 'VlmModelError';
  constructor(
    message: string,
    readonly file?: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** How to load a model directory. */
export interface VlmModelOptions {
  /** File variant, e.g. 'fp32' (default: vision_model.onnx), 'fp16', 'quantized' (vision_model_fp16.onnx, …). */
  dtype?: string;
  /** onnxruntime intra-op threads per session (default: let ORT decide, i.e. one per physical core). */
  threads?: number;
  /** Most rows per encoder run in `embedPixels`, `embedFrames` and `embedTexts` (default 64). */
  maxBatch?: number;
}

/** A loaded image and text encoder pair sharing one embedding space. */
export interface VisionLanguageModel {
  /** The model directory, absolute. */
  readonly dir: string;
  /** 'siglip' pads prompts to max_length (as SigLIP was trained); 'clip' pads to the batch's longest. */
  readonly family: 'clip' | 'siglip';
  /** D, equal for both encoders (checked at load). */
  readonly embeddingSize: number;
  /** The vision encoder's input (the preprocessor's crop size). */
  readonly imageSize: { width: number; height: number };
  /** The files in use, absolute. */
  readonly files: { vision: string; text: string; tokenizer: string; preprocessor: string };
  /** config.json as read (null when the directory has none). */
  readonly config: Readonly<Record<string, unknown>> | null;
  /**
   * RGB frames (count × height × width × 3 bytes, rows top to bottom) → pixel_values NCHW
   * (count × 3 × H × W), exactly as the model's preprocessor_config says (via transformers.js's image processor).
   */
  preprocess(frames: Uint8Array, count: number, width: number, height: number): Promise<Float32Array>;
  /** pixel_values → count × D image embeddings (not normalised). Runs the vision session in chunks of at most `maxBatch` (default 64) rows. */
  embedPixels(pixelValues: Float32Array, count: number): Promise<Float32Array>;
  /** `preprocess` then `embedPixels`: RGB frames → count × D image embeddings (not normalised). */
  embedFrames(frames: Uint8Array, count: number, width: number, height: number): Promise<Float32Array>;
  /** texts → texts.length × D text embeddings (not normalised). Every text must be non-blank. */
  embedTexts(texts: readonly string[]): Promise<Float32Array>;
  /** Releases both ONNX sessions; any later call throws. */
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

/** Longest prompt (tokens) per family when tokenizer_config.json says nothing / caps what it says. */
const CLIP_DEFAULT_MAX_LENGTH = 77;
const CLIP_MAX_LENGTH_CAP = 512;
const SIGLIP_MAX_LENGTH = 64;
const DEFAULT_MAX_BATCH = 64;

const TEXT_INPUTS = new Set(['input_ids', 'attention_mask', 'token_type_ids', 'position_ids']);

async function statOrNull(file: string): Promise<import('node:fs').Stats | null> {
  try {
    return await fs.stat(file);
  } catch {
    return null;
  }
}

async function isFile(file: string): Promise<boolean> {
  return (await statOrNull(file))?.isFile() ?? false;
}

async function readJson(file: string): Promise<Json> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new VlmModelError(`${file}: cannot read it: ${(e as Error).message}`, file);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new VlmModelError(`${file}: invalid JSON: ${(e as Error).message}`, file);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new VlmModelError(`${file}: expected a JSON object`, file);
  return value as Json;
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** `224` or `{ height, width }` → { width, height }; anything else → undefined. */
function sizeOf(value: unknown): { width: number; height: number } | undefined {
  const n = positiveInt(value);
  if (n !== undefined) return { width: n, height: n };
  if (value && typeof value === 'object') {
    const v = value as Json;
    const width = positiveInt(v.width);
    const height = positiveInt(v.height);
    if (width !== undefined && height !== undefined) return { width, height };
  }
  return undefined;
}

/**
 * The vision encoder's input size as transformers.js's ImageProcessor produces it: the crop when
 * `do_center_crop` is on, else a `{ height, width }` resize. A shortest-edge resize without a crop
 * gives a size that depends on the frame's aspect ratio, so it is refused.
 */
function imageSizeOf(pre: Json, file: string): { width: number; height: number } {
  if (pre.do_center_crop) {
    const crop = sizeOf(pre.crop_size);
    if (!crop) throw new VlmModelError(`${file}: do_center_crop is on but crop_size (${JSON.stringify(pre.crop_size)}) is not a positive integer or { height, width }`, file, 'crop_size');
    return crop;
  }
  const size = pre.size ?? pre.image_size;
  const doResize = pre.do_resize ?? size !== undefined;
  if (doResize && size && typeof size === 'object') {
    const s = sizeOf(size);
    if (s && (size as Json).shortest_edge === undefined && (size as Json).longest_edge === undefined) return s;
  }
  const hint = pre.crop_size !== undefined ? ' (crop_size is set, but do_center_crop is not true)' : '';
  throw new VlmModelError(
    `${file}: no usable image size${hint}: need do_center_crop with crop_size, or size { height, width }; got size ${JSON.stringify(size)}, crop_size ${JSON.stringify(pre.crop_size)}`,
    file,
    pre.crop_size !== undefined ? 'do_center_crop' : 'crop_size',
  );
}

function familyOf(config: Json | undefined, pre: Json, tokenizerConfig: Json | undefined): 'clip' | 'siglip' {
  const type = typeof config?.model_type === 'string' ? config.model_type : undefined;
  if (type !== undefined) return /siglip/i.test(type) ? 'siglip' : 'clip';
  const hints = [pre.image_processor_type, pre.feature_extractor_type, tokenizerConfig?.tokenizer_class];
  return hints.some((h) => typeof h === 'string' && /siglip/i.test(h)) ? 'siglip' : 'clip';
}

/** DIR/onnx/NAME[_dtype].onnx, else DIR/NAME[_dtype].onnx; `looked` collects the candidates. */
async function findOnnx(dir: string, name: string, dtype: string | undefined, looked: string[]): Promise<string | undefined> {
  const file = !dtype || dtype === 'fp32' ? `${name}.onnx` : `${name}_${dtype}.onnx`;
  for (const candidate of [path.join(dir, 'onnx', file), path.join(dir, file)]) {
    looked.push(candidate);
    if (await isFile(candidate)) return candidate;
  }
  return undefined;
}

function describeOutputs(session: OrtSession): string {
  return session.outputMetadata.map((m) => (m.isTensor ? `${m.name} [${m.shape.join(', ')}]` : `${m.name} (not a tensor)`)).join(', ');
}

/** `image_embeds` / `text_embeds`, else `pooler_output`, else the only rank-2 output. */
function pickOutput(session: OrtSession, file: string, preferred: string): string {
  const names = session.outputNames;
  for (const name of [preferred, 'pooler_output']) if (names.includes(name)) return name;
  const rank2 = session.outputMetadata.filter((m) => m.isTensor && m.shape.length === 2);
  if (rank2.length === 1) return rank2[0]!.name;
  if (names.length === 1 && session.outputMetadata.every((m) => m.isTensor && m.shape.length === 0)) return names[0]!;
  throw new VlmModelError(`${file}: cannot tell which output is the embedding: no ${preferred} or pooler_output, and ${rank2.length} rank-2 outputs among: ${describeOutputs(session)}`, file);
}

function metadataOf(list: readonly OrtModule.InferenceSession.ValueMetadata[], name: string): OrtModule.InferenceSession.TensorValueMetadata | undefined {
  const m = list.find((x) => x.name === name);
  return m && m.isTensor ? m : undefined;
}

function staticDim(shape: ReadonlyArray<number | string> | undefined, i: number): number | undefined {
  const d = shape?.[i];
  return typeof d === 'number' && d > 0 ? d : undefined;
}

// IEEE 754 half precision, for `_fp16` variants whose inputs/outputs are float16.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function toHalf(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    f32[0] = src[i]!;
    const x = u32[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let half = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const mid = 1 << (shift - 1);
      if (rem > mid || (rem === mid && half & 1)) half++;
      out[i] = sign | half;
      continue;
    }
    let half = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // may carry into the exponent: still correct
    out[i] = sign | half;
  }
  return out;
}

function fromHalf(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const h = src[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) out[i] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) out[i] = mant ? NaN : sign * Infinity;
    else out[i] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return out;
}

function floatData(tensor: OrtTensor, file: string, output: string): Float32Array {
  const data = tensor.data as unknown;
  if (data instanceof Float32Array) return data;
  if (data instanceof Uint16Array && tensor.type === 'float16') return fromHalf(data);
  if (tensor.type === 'float16' && ArrayBuffer.isView(data)) return Float32Array.from(data as unknown as ArrayLike<number>);
  throw new VlmModelError(`${file}: output ${output} is ${tensor.type}, expected float32 or float16`, file);
}

/** One encoder: its session, its file and the output chosen as the embedding. */
interface Encoder {
  session: OrtSession;
  file: string;
  output: string;
}

async function openSession(ort: Ort, file: string, threads: number | undefined): Promise<OrtSession> {
  const options: OrtModule.InferenceSession.SessionOptions = { logSeverityLevel: 3, graphOptimizationLevel: 'all' };
  if (threads !== undefined) {
    options.intraOpNumThreads = threads;
    options.interOpNumThreads = 1;
  }
  try {
    return await ort.InferenceSession.create(file, options);
  } catch (e) {
    throw new VlmModelError(`${file}: onnxruntime cannot load it: ${(e as Error).message}`, file);
  }
}

async function runEncoder(encoder: Encoder, feeds: Record<string, OrtTensor>, rows: number): Promise<{ data: Float32Array; size: number }> {
  let out: OrtModule.InferenceSession.OnnxValueMapType;
  try {
    out = await encoder.session.run(feeds, [encoder.output]);
  } catch (e) {
    throw new VlmModelError(`${encoder.file}: inference failed: ${(e as Error).message}`, encoder.file);
  }
  const tensor = out[encoder.output] as OrtTensor | undefined;
  if (!tensor) throw new VlmModelError(`${encoder.file}: no output ${encoder.output}`, encoder.file);
  if (tensor.dims.length !== 2 || tensor.dims[0] !== rows) {
    throw new VlmModelError(`${encoder.file}: output ${encoder.output} has dims [${tensor.dims.join(', ')}], expected [${rows}, D]`, encoder.file);
  }
  return { data: floatData(tensor, encoder.file, encoder.output), size: tensor.dims[1]! };
}

function checkCount(what: string, count: number): void {
  if (!Number.isInteger(count) || count < 1) throw new VlmModelError(`${what}: count must be a positive integer, got ${count}`, undefined, 'count');
}

interface TokenizerCall {
  (texts: string[], options: { padding: boolean | 'max_length'; truncation: boolean; max_length: number; return_tensor: false }): {
    input_ids: number[][];
    attention_mask?: number[][];
  };
  pad_token_id?: number | null;
}

interface ImageProcessorCall {
  (images: unknown[]): Promise<{ pixel_values: { data: ArrayLike<number>; dims: readonly number[] } }>;
}

/** The class named in a config (`Fast` suffix dropped) if transformers.js exports it as a subclass of `base`. */
function classNamed<T extends abstract new (...args: never[]) => unknown>(mod: Transformers, name: unknown, base: T): T | undefined {
  if (typeof name !== 'string') return undefined;
  const cls = (mod as unknown as Record<string, unknown>)[name.replace(/Fast$/, '')];
  return typeof cls === 'function' && (cls === base || cls.prototype instanceof base) ? (cls as T) : undefined;
}

/**
 * Loads the model in `dir` (see the module comment for the layout). Everything is checked before use
 * and reported as a VlmModelError naming the file or field: missing files (with every path looked at),
 * invalid JSON, an unusable preprocessor size, .onnx files onnxruntime cannot load, unknown encoder
 * inputs, and encoders whose embedding sizes differ.
 */
export async function loadVisionLanguageModel(dir: string, options: VlmModelOptions = {}): Promise<VisionLanguageModel> {
  const root = path.resolve(dir);
  const { dtype, threads } = options;
  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  if (dtype !== undefined && !/^[A-Za-z0-9_]+$/.test(dtype)) throw new VlmModelError(`dtype must be a word such as 'fp16' or 'quantized', got ${JSON.stringify(dtype)}`, undefined, 'dtype');
  if (threads !== undefined && positiveInt(threads) === undefined) throw new VlmModelError(`threads must be a positive integer, got ${threads}`, undefined, 'threads');
  if (positiveInt(maxBatch) === undefined) throw new VlmModelError(`maxBatch must be a positive integer, got ${maxBatch}`, undefined, 'maxBatch');

  const st = await statOrNull(root);
  if (!st) throw new VlmModelError(`VLM model directory ${root} does not exist`, root);
  if (!st.isDirectory()) throw new VlmModelError(`VLM model directory ${root} is not a directory`, root);

  // Every required file, reporting all that are missing at once.
  const missing: string[] = [];
  const requireFile = async (name: string): Promise<string> => {
    const file = path.join(root, name);
    if (!(await isFile(file))) missing.push(`${name} (looked for ${file})`);
    return file;
  };
  const preprocessorFile = await requireFile('preprocessor_config.json');
  const tokenizerFile = await requireFile('tokenizer.json');
  const visionLooked: string[] = [];
  const textLooked: string[] = [];
  const visionFile = await findOnnx(root, 'vision_model', dtype, visionLooked);
  const textFile = await findOnnx(root, 'text_model', dtype, textLooked);
  if (!visionFile) missing.push(`the vision encoder (looked for ${visionLooked.join(', ')})`);
  if (!textFile) missing.push(`the text encoder (looked for ${textLooked.join(', ')})`);
  if (missing.length > 0 || !visionFile || !textFile) {
    const firstFile = missing[0]!.match(/looked for ([^,)]+)/)?.[1];
    throw new VlmModelError(`VLM model directory ${root} is missing ${missing.join('; ')}`, firstFile);
  }

  const configFile = path.join(root, 'config.json');
  const tokenizerConfigFile = path.join(root, 'tokenizer_config.json');
  const config = (await isFile(configFile)) ? await readJson(configFile) : undefined;
  const pre = await readJson(preprocessorFile);
  const tokenizerJson = await readJson(tokenizerFile);
  const tokenizerConfig = (await isFile(tokenizerConfigFile)) ? await readJson(tokenizerConfigFile) : undefined;

  const imageSize = imageSizeOf(pre, preprocessorFile);
  const family = familyOf(config, pre, tokenizerConfig);
  const configuredMax = tokenizerConfig ? positiveInt(tokenizerConfig.model_max_length) : undefined;
  let maxLength = family === 'siglip' ? Math.min(configuredMax ?? SIGLIP_MAX_LENGTH, SIGLIP_MAX_LENGTH) : Math.min(configuredMax ?? CLIP_DEFAULT_MAX_LENGTH, CLIP_MAX_LENGTH_CAP);
  let padToMax = family === 'siglip';

  // Only now the heavy libraries; nothing may be fetched.
  const transformers: Transformers = await import('@huggingface/transformers');
  transformers.env.allowRemoteModels = false;
  transformers.env.allowLocalModels = true;
  const ort: Ort = await import('onnxruntime-node');

  let tokenizer: TokenizerCall;
  try {
    const cls = classNamed(transformers, tokenizerConfig?.tokenizer_class, transformers.PreTrainedTokenizer) ?? transformers.PreTrainedTokenizer;
    tokenizer = new cls(tokenizerJson, tokenizerConfig ?? {}) as unknown as TokenizerCall;
  } catch (e) {
    throw new VlmModelError(`${tokenizerFile}: transformers.js cannot build a tokenizer from it: ${(e as Error).message}`, tokenizerFile);
  }
  if (typeof tokenizer.pad_token_id !== 'number') {
    // No pad token in tokenizer_config.json: tokenizer.json's own padding settings may name one.
    const padId = (tokenizerJson.padding as Json | null | undefined)?.pad_id;
    if (typeof padId === 'number') tokenizer.pad_token_id = padId;
  }
  if (typeof tokenizer.pad_token_id !== 'number') {
    throw new VlmModelError(`${tokenizerConfigFile}: no pad_token (or eos_token) in the tokenizer's vocabulary; prompts cannot be padded`, tokenizerConfigFile, 'pad_token');
  }
  let processor: ImageProcessorCall;
  try {
    const cls = classNamed(transformers, pre.image_processor_type ?? pre.feature_extractor_type, transformers.ImageProcessor) ?? transformers.ImageProcessor;
    processor = new cls(pre) as unknown as ImageProcessorCall;
  } catch (e) {
    throw new VlmModelError(`${preprocessorFile}: transformers.js cannot build an image processor from it: ${(e as Error).message}`, preprocessorFile);
  }

  const sessions: OrtSession[] = [];
  const release = async () => {
    await Promise.all(sessions.splice(0).map((s) => s.release().catch(() => undefined)));
  };
  try {
    const visionSession = await openSession(ort, visionFile, threads);
    sessions.push(visionSession);
    const textSession = await openSession(ort, textFile, threads);
    sessions.push(textSession);
    const vision: Encoder = { session: visionSession, file: visionFile, output: pickOutput(visionSession, visionFile, 'image_embeds') };
    const text: Encoder = { session: textSession, file: textFile, output: pickOutput(textSession, textFile, 'text_embeds') };

    // Vision input: pixel_values (or the only input), float32 or float16, N×3×H×W matching the preprocessor.
    const pixelInput = visionSession.inputNames.length === 1 ? visionSession.inputNames[0]! : 'pixel_values';
    if (!visionSession.inputNames.includes(pixelInput) || visionSession.inputNames.length !== 1) {
      throw new VlmModelError(`${visionFile}: expected one input, pixel_values; it has ${visionSession.inputNames.join(', ')}`, visionFile);
    }
    const pixelMeta = metadataOf(visionSession.inputMetadata, pixelInput);
    const pixelHalf = pixelMeta?.type === 'float16';
    if (pixelMeta && pixelMeta.type !== 'float32' && !pixelHalf) throw new VlmModelError(`${visionFile}: input ${pixelInput} is ${pixelMeta.type}, expected float32 or float16`, visionFile);
    const [, c, h, w] = [0, 1, 2, 3].map((i) => staticDim(pixelMeta?.shape, i));
    if ((c !== undefined && c !== 3) || (h !== undefined && h !== imageSize.height) || (w !== undefined && w !== imageSize.width)) {
      throw new VlmModelError(
        `${visionFile}: input ${pixelInput} is [${pixelMeta!.shape.join(', ')}], but ${preprocessorFile} makes 3×${imageSize.height}×${imageSize.width} images`,
        visionFile,
      );
    }

    // Text inputs: only those we know how to fill.
    const unknown = textSession.inputNames.filter((n) => !TEXT_INPUTS.has(n));
    if (unknown.length > 0 || !textSession.inputNames.includes('input_ids')) {
      throw new VlmModelError(
        `${textFile}: the text encoder takes ${textSession.inputNames.join(', ')}; the loader can feed input_ids (required), attention_mask, token_type_ids and position_ids${unknown.length ? ` but not ${unknown.join(', ')}` : ''}`,
        textFile,
      );
    }
    const textTypes = new Map(textSession.inputNames.map((n) => [n, metadataOf(textSession.inputMetadata, n)?.type ?? 'int64']));
    for (const [n, type] of textTypes) if (type !== 'int64' && type !== 'int32') throw new VlmModelError(`${textFile}: input ${n} is ${type}, expected int64 or int32`, textFile);
    // An export with a fixed sequence length must get exactly that many tokens.
    const fixedLength = staticDim(metadataOf(textSession.inputMetadata, 'input_ids')?.shape, 1);
    if (fixedLength !== undefined) {
      maxLength = fixedLength;
      padToMax = true;
    }

    let closed = false;
    const alive = (what: string) => {
      if (closed) throw new VlmModelError(`${what}: the model in ${root} is closed`);
    };
    const pixelsPerImage = 3 * imageSize.height * imageSize.width;

    const embedPixelsUnchecked = async (pixelValues: Float32Array, count: number): Promise<{ data: Float32Array; size: number }> => {
      let result: Float32Array | undefined;
      let size = 0;
      for (let start = 0; start < count; start += maxBatch) {
        const rows = Math.min(maxBatch, count - start);
        const chunk = pixelValues.subarray(start * pixelsPerImage, (start + rows) * pixelsPerImage);
        const dims = [rows, 3, imageSize.height, imageSize.width];
        const tensor = pixelHalf ? new ort.Tensor('float16', toHalf(chunk), dims) : new ort.Tensor('float32', chunk, dims);
        const out = await runEncoder(vision, { [pixelInput]: tensor }, rows);
        if (!result) {
          size = out.size;
          result = new Float32Array(count * size);
        }
        result.set(out.data.subarray(0, rows * size), start * size);
      }
      return { data: result!, size };
    };

    const embedTextsUnchecked = async (texts: string[]): Promise<{ data: Float32Array; size: number }> => {
      let result: Float32Array | undefined;
      let size = 0;
      for (let start = 0; start < texts.length; start += maxBatch) {
        const batch = texts.slice(start, start + maxBatch);
        let encoded: ReturnType<TokenizerCall>;
        try {
          encoded = tokenizer(batch, { padding: padToMax ? 'max_length' : true, truncation: true, max_length: maxLength, return_tensor: false });
        } catch (e) {
          throw new VlmModelError(`${tokenizerFile}: tokenisation failed: ${(e as Error).message}`, tokenizerFile);
        }
        const ids = encoded.input_ids;
        const mask = encoded.attention_mask ?? ids.map((row) => row.map(() => 1));
        const length = ids[0]!.length;
        for (let i = 0; i < batch.length; i++) {
          if (ids[i]!.length !== length) throw new VlmModelError(`${tokenizerFile}: text ${start + i} tokenised to ${ids[i]!.length} ids, expected ${length}`, tokenizerFile);
          if (!mask[i]!.some((m) => m !== 0)) throw new VlmModelError(`embedTexts: text ${start + i} (${JSON.stringify(batch[i])}) produced no tokens`, undefined, `texts[${start + i}]`);
        }
        const dims = [batch.length, length];
        const fill = (f: (row: number, col: number) => number): number[] => {
          const values: number[] = [];
          for (let r = 0; r < batch.length; r++) for (let k = 0; k < length; k++) values.push(f(r, k));
          return values;
        };
        const feeds: Record<string, OrtTensor> = {};
        for (const [name, type] of textTypes) {
          const values =
            name === 'input_ids' ? fill((r, k) => ids[r]![k]!) : name === 'attention_mask' ? fill((r, k) => mask[r]![k]!) : name === 'position_ids' ? fill((_r, k) => k) : fill(() => 0);
          feeds[name] = type === 'int32' ? new ort.Tensor('int32', Int32Array.from(values), dims) : new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
        }
        const out = await runEncoder(text, feeds, batch.length);
        if (!result) {
          size = out.size;
          result = new Float32Array(texts.length * size);
        }
        result.set(out.data.subarray(0, batch.length * size), start * size);
      }
      return { data: result!, size };
    };

    // Embedding sizes: static output shapes when declared, else one tiny input through each encoder.
    const declared = (enc: Encoder) => staticDim(metadataOf(enc.session.outputMetadata, enc.output)?.shape, 1);
    const visionSize = declared(vision) ?? (await embedPixelsUnchecked(new Float32Array(pixelsPerImage), 1)).size;
    const textSize = declared(text) ?? (await embedTextsUnchecked(['a photo'])).size;
    if (visionSize !== textSize) {
      throw new VlmModelError(
        `the encoders' embedding sizes differ: ${visionFile} (${vision.output}) gives ${visionSize}, ${textFile} (${text.output}) gives ${textSize}`,
        visionFile,
      );
    }
    const embeddingSize = visionSize;
    const checkSize = (file: string, got: number) => {
      if (got !== embeddingSize) throw new VlmModelError(`${file}: produced ${got}-dimensional embeddings, expected ${embeddingSize}`, file);
    };

    const preprocess = async (frames: Uint8Array, count: number, width: number, height: number): Promise<Float32Array> => {
      alive('preprocess');
      checkCount('preprocess', count);
      for (const [name, v] of [['width', width], ['height', height]] as const) {
        if (!Number.isInteger(v) || v < 1) throw new VlmModelError(`preprocess: ${name} must be a positive integer, got ${v}`, undefined, name);
      }
      const expected = count * width * height * 3;
      if (frames.length !== expected) {
        throw new VlmModelError(`preprocess: frames must hold count × height × width × 3 = ${count} × ${height} × ${width} × 3 = ${expected} bytes, got ${frames.length}`, undefined, 'frames');
      }
      const out = new Float32Array(count * pixelsPerImage);
      const frameBytes = width * height * 3;
      for (let start = 0; start < count; start += maxBatch) {
        const rows = Math.min(maxBatch, count - start);
        const images = Array.from(
          { length: rows },
          (_, i) => new transformers.RawImage(new Uint8ClampedArray(frames.buffer, frames.byteOffset + (start + i) * frameBytes, frameBytes), width, height, 3),
        );
        const { pixel_values } = await processor(images);
        const dims = pixel_values.dims;
        if (dims.length !== 4 || dims[0] !== rows || dims[1] !== 3 || dims[2] !== imageSize.height || dims[3] !== imageSize.width) {
          throw new VlmModelError(
            `${preprocessorFile}: ${width}×${height} frames preprocess to [${dims.join(', ')}], but the vision encoder takes [${rows}, 3, ${imageSize.height}, ${imageSize.width}]`,
            preprocessorFile,
          );
        }
        out.set(pixel_values.data, start * pixelsPerImage);
      }
      return out;
    };

    const embedPixels = async (pixelValues: Float32Array, count: number): Promise<Float32Array> => {
      alive('embedPixels');
      checkCount('embedPixels', count);
      if (pixelValues.length !== count * pixelsPerImage) {
        throw new VlmModelError(
          `embedPixels: pixelValues must hold count × 3 × ${imageSize.height} × ${imageSize.width} = ${count * pixelsPerImage} floats, got ${pixelValues.length}`,
          undefined,
          'pixelValues',
        );
      }
      const { data, size } = await embedPixelsUnchecked(pixelValues, count);
      checkSize(visionFile, size);
      return data;
    };

    const model: VisionLanguageModel = {
      dir: root,
      family,
      embeddingSize,
      imageSize,
      files: { vision: visionFile, text: textFile, tokenizer: tokenizerFile, preprocessor: preprocessorFile },
      config: config && typeof config === 'object' && !Array.isArray(config) ? (config as Record<string, unknown>) : null,
      preprocess,
      embedPixels,
      async embedFrames(frames, count, width, height) {
        return embedPixels(await preprocess(frames, count, width, height), count);
      },
      async embedTexts(texts) {
        alive('embedTexts');
        if (texts.length === 0) throw new VlmModelError('embedTexts: no texts given', undefined, 'texts');
        texts.forEach((t, i) => {
          if (typeof t !== 'string' || t.trim() === '') throw new VlmModelError(`embedTexts: text ${i} is empty or blank (${JSON.stringify(t)})`, undefined, `texts[${i}]`);
        });
        const { data, size } = await embedTextsUnchecked([...texts]);
        checkSize(textFile, size);
        return data;
      },
      async close() {
        closed = true;
        await release();
      },
    };
    return model;
  } catch (e) {
    await release();
    throw e;
  }
}
