/**
 * A model directory in the CLIP ONNX layout whose encoders have closed forms, for tests: the image
 * encoder averages each preprocessed colour channel (GlobalAveragePool), and each prompt word is a fixed
 * 3-vector, so the embedding space is the colour space and every reward can be recomputed by hand.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OnnxGraphBuilder } from '../src';

export const SIZE = 32;
export const MEAN = [0.48145466, 0.4578275, 0.40821073];
export const STD = [0.26862954, 0.26130258, 0.27577711];
/** Word → its row of the text encoder's table (a 3-vector: the embedding space is the colour space). */
export const WORDS: Record<string, [number, number, number]> = { '[PAD]': [0, 0, 0], '[UNK]': [0, 0, 0], bright: [1, 1, 1], dark: [-1, -1, -1], red: [1, -0.5, -0.5], blue: [-0.5, -0.5, 1] };

/** A model directory in the CLIP ONNX layout whose encoders are the closed forms above. */
export function writeColourModel(dir: string): void {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const v = new OnnxGraphBuilder('vision');
  v.input('pixel_values', 'float', ['batch', 3, SIZE, SIZE]);
  const pooled = v.node('GlobalAveragePool', ['pixel_values']);
  v.node('Flatten', [pooled], { axis: 1 }, ['image_embeds']);
  v.output('image_embeds', 'float', ['batch', 3]);
  writeFileSync(join(dir, 'onnx', 'vision_model.onnx'), v.toBytes());

  const t = new OnnxGraphBuilder('text');
  t.input('input_ids', 'int64', ['batch', 'seq']);
  t.input('attention_mask', 'int64', ['batch', 'seq']);
  const table = t.initializer('table', Float32Array.from(Object.values(WORDS).flat()), [Object.keys(WORDS).length, 3]);
  const rows = t.node('Gather', [table, 'input_ids'], { axis: 0 });
  const mask = t.node('Unsqueeze', [t.node('Cast', ['attention_mask'], { to: 1 }), t.ints('axis2', [2])]);
  const summed = t.node('ReduceSum', [t.node('Mul', [rows, mask]), t.ints('axis1', [1])], { keepdims: 0 });
  t.node('Div', [summed, t.node('ReduceSum', [mask, t.ints('axis1b', [1])], { keepdims: 0 })], {}, ['text_embeds']);
  t.output('text_embeds', 'float', ['batch', 3]);
  writeFileSync(join(dir, 'onnx', 'text_model.onnx'), t.toBytes());

  const vocab = Object.fromEntries(Object.keys(WORDS).map((w, i) => [w, i]));
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({ version: '1.0', truncation: null, padding: null, added_tokens: [special(0, '[PAD]'), special(1, '[UNK]')], normalizer: { type: 'Lowercase' }, pre_tokenizer: { type: 'Whitespace' }, post_processor: null, decoder: null, model: { type: 'WordLevel', vocab, unk_token: '[UNK]' } }));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'PreTrainedTokenizer', pad_token: '[PAD]', unk_token: '[UNK]', model_max_length: 8 }));
  writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify({ do_resize: true, size: { shortest_edge: SIZE }, resample: 3, do_center_crop: true, crop_size: { height: SIZE, width: SIZE }, do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: MEAN, image_std: STD, do_convert_rgb: true, image_processor_type: 'CLIPImageProcessor' }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'clip', projection_dim: 3 }));
}

/** The image embedding of an RGB frame, computed here: per channel, the mean of (p/255 − mean)/std. */
export function colourEmbedding(rgb: Uint8Array, offset: number): number[] {
  const sums = [0, 0, 0];
  for (let i = 0; i < SIZE * SIZE; i++) for (let c = 0; c < 3; c++) sums[c]! += (rgb[offset + i * 3 + c]! / 255 - MEAN[c]!) / STD[c]!;
  return sums.map((s) => s / (SIZE * SIZE));
}

