/**
 * Writes a trained contrastive model in the directory layout of a Hugging Face CLIP ONNX export, so the
 * loader of `@rewardlab/rewards` (VLM rewards) serves it and a real CLIP alike:
 *
 *   onnx/vision_model.onnx    pixel_values float [batch, 3, S, S] (NCHW) → image_embeds [batch, D]
 *   onnx/text_model.onnx      input_ids, attention_mask int64 [batch, sequence] → text_embeds [batch, D]
 *   tokenizer.json            WordLevel over the caption words ([PAD] = 0, [UNK] = 1), Lowercase, Whitespace
 *   tokenizer_config.json
 *   preprocessor_config.json  CLIPImageProcessor at S (resize, centre crop, rescale 1/255, CLIP mean/std)
 *   config.json               model_type clip, projection_dim, vision/text configs, and `rewardlab` (training record)
 *
 * Embeddings are unnormalised, as CLIP's `image_embeds` / `text_embeds` from the ONNX encoders are.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OnnxGraphBuilder } from '@rewardlab/rewards';
import { CLIP_MEAN, CLIP_STD, type ContrastiveConfig, type NamedWeight } from './contrastive';

const PAD = '[PAD]';
const UNK = '[UNK]';

/** The token ids of the exported tokenizer: [PAD] 0, [UNK] 1, then `words` from 2 in order. */
export function tokenizerVocab(words: readonly string[]): Record<string, number> {
  const vocab: Record<string, number> = { [PAD]: 0, [UNK]: 1 };
  for (const w of words) if (!(w in vocab)) vocab[w] = Object.keys(vocab).length;
  return vocab;
}

/** tokenizer.json and tokenizer_config.json of a WordLevel tokenizer over `words`. */
export function writeTokenizer(dir: string, words: readonly string[], maxLength: number): Record<string, number> {
  mkdirSync(dir, { recursive: true });
  const vocab = tokenizerVocab(words);
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, PAD), special(1, UNK)],
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: UNK },
  };
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'PreTrainedTokenizer', pad_token: PAD, unk_token: UNK, model_max_length: maxLength }, null, 2));
  return vocab;
}

function weightMap(weights: readonly NamedWeight[]): (name: string) => NamedWeight {
  const map = new Map(weights.map((w) => [w.name, w]));
  return (name) => {
    const w = map.get(name);
    if (!w) throw new Error(`export: the model has no weight ${name}`);
    return w;
  };
}

/** tfjs conv kernel [kh, kw, in, out] → ONNX [out, in, kh, kw]. */
export function convKernelToOnnx(w: NamedWeight): Float32Array {
  const [kh, kw, cin, cout] = w.shape as [number, number, number, number];
  const out = new Float32Array(w.data.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = w.data[((y * kw + x) * cin + i) * cout + o]!;
  return out;
}

function dense(g: OnnxGraphBuilder, x: string, w: NamedWeight, b: NamedWeight, output?: string): string {
  const wn = g.initializer(w.name, w.data, w.shape);
  const bn = g.initializer(b.name, b.data, b.shape);
  return g.node('Add', [g.node('MatMul', [x, wn]), bn], {}, output ? [output] : undefined);
}

/** The image encoder as ONNX: NCHW pixel_values → image_embeds. */
export function visionOnnx(config: ContrastiveConfig, weights: readonly NamedWeight[], metadata: Record<string, string> = {}): Uint8Array {
  const w = weightMap(weights);
  const S = config.imageSize;
  const g = new OnnxGraphBuilder('vision_model');
  let x = g.input('pixel_values', 'float', ['batch', 3, S, S]);
  config.channels.forEach((_, i) => {
    const k = w(`vision.conv${i}.weight`);
    const kernel = g.initializer(k.name, convKernelToOnnx(k), [k.shape[3]!, k.shape[2]!, k.shape[0]!, k.shape[1]!]);
    const b = w(`vision.conv${i}.bias`);
    const bias = g.initializer(b.name, b.data, b.shape);
    x = g.node('Relu', [g.node('Conv', [x, kernel, bias], { pads: [1, 1, 1, 1], strides: [2, 2], kernel_shape: [3, 3], dilations: [1, 1], group: 1 })]);
  });
  // tfjs flattens NHWC: bring the channels last before flattening.
  x = g.node('Flatten', [g.node('Transpose', [x], { perm: [0, 2, 3, 1] })], { axis: 1 });
  if (config.imageHidden > 0) x = g.node('Relu', [dense(g, x, w('vision.hidden.weight'), w('vision.hidden.bias'))]);
  dense(g, x, w('vision.proj.weight'), w('vision.proj.bias'), 'image_embeds');
  g.output('image_embeds', 'float', ['batch', config.embeddingSize]);
  return g.toBytes({ docString: 'rewardlab contrastive image encoder', metadata });
}

/** The text encoder as ONNX: input_ids, attention_mask → text_embeds (masked mean of token embeddings → MLP). */
export function textOnnx(config: ContrastiveConfig, weights: readonly NamedWeight[], metadata: Record<string, string> = {}): Uint8Array {
  const w = weightMap(weights);
  const g = new OnnxGraphBuilder('text_model');
  const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
  const mask = g.input('attention_mask', 'int64', ['batch', 'sequence']);
  const e = w('text.embedding');
  const tokens = g.node('Gather', [g.initializer(e.name, e.data, e.shape), ids], { axis: 0 });
  const m = g.node('Cast', [mask], { to: 1 });
  const summed = g.node('ReduceSum', [g.node('Mul', [tokens, g.node('Unsqueeze', [m, g.ints('axis_2', [2])])]), g.ints('axis_1', [1])], { keepdims: 0 });
  const count = g.node('Max', [g.node('ReduceSum', [m, g.ints('axis_1b', [1])], { keepdims: 1 }), g.initializer('one', Float32Array.of(1), [1])]);
  const pooled = g.node('Div', [summed, count]);
  const h = g.node('Relu', [dense(g, pooled, w('text.hidden.weight'), w('text.hidden.bias'))]);
  dense(g, h, w('text.proj.weight'), w('text.proj.bias'), 'text_embeds');
  g.output('text_embeds', 'float', ['batch', config.embeddingSize]);
  return g.toBytes({ docString: 'rewardlab contrastive text encoder', metadata });
}

export interface ExportInfo {
  /** The caption words (token ids from 2 in this order). */
  words: readonly string[];
  /** What `config.json`'s `rewardlab` records (envs, seed, steps, frames, finalLoss, …). */
  rewardlab: Record<string, unknown>;
  logitScale: number;
}

/** Writes the whole model directory (see the file comment). */
export function exportContrastiveModel(dir: string, config: ContrastiveConfig, weights: readonly NamedWeight[], info: ExportInfo): void {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const vocab = writeTokenizer(dir, info.words, config.maxLength);
  if (Object.keys(vocab).length !== config.vocabSize) throw new Error(`export: the tokenizer has ${Object.keys(vocab).length} tokens, the model ${config.vocabSize}`);
  const metadata = { producer: 'rewardlab', model: 'rewardlab-contrastive' };
  writeFileSync(join(dir, 'onnx', 'vision_model.onnx'), visionOnnx(config, weights, metadata));
  writeFileSync(join(dir, 'onnx', 'text_model.onnx'), textOnnx(config, weights, metadata));
  const S = config.imageSize;
  writeFileSync(
    join(dir, 'preprocessor_config.json'),
    JSON.stringify(
      {
        image_processor_type: 'CLIPImageProcessor',
        feature_extractor_type: 'CLIPFeatureExtractor',
        do_resize: true,
        size: { shortest_edge: S },
        resample: 3,
        do_center_crop: true,
        crop_size: { height: S, width: S },
        do_rescale: true,
        rescale_factor: 1 / 255,
        do_normalize: true,
        image_mean: [...CLIP_MEAN],
        image_std: [...CLIP_STD],
        do_convert_rgb: true,
      },
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify(
      {
        model_type: 'clip',
        architectures: ['CLIPModel'],
        projection_dim: config.embeddingSize,
        logit_scale_init_value: info.logitScale,
        vision_config: { model_type: 'clip_vision_model', image_size: S, num_channels: 3, projection_dim: config.embeddingSize },
        text_config: { model_type: 'clip_text_model', vocab_size: config.vocabSize, max_position_embeddings: config.maxLength, pad_token_id: 0, projection_dim: config.embeddingSize },
        rewardlab: { architecture: { ...config }, logitScale: info.logitScale, ...info.rewardlab },
      },
      null,
      2,
    ),
  );
}
