/**
 * Loader fidelity on the model the project ships (`rewardlab-small`): the pipeline's embeddings
 * (transformers.js's image processor and tokenizer, onnxruntime-node sessions) equal those of direct
 * ONNX Runtime sessions fed with inputs prepared here from the model's own JSON files: pixels
 * (p/255 − mean)/std in NCHW, token ids looked up in tokenizer.json's WordLevel vocabulary.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { BUILTIN_VLM_MODELS, loadVisionLanguageModel } from '../src';

const dir = BUILTIN_VLM_MODELS['rewardlab-small']!;
const json = (file: string): any => JSON.parse(readFileSync(join(dir, file), 'utf8'));

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

describe('rewardlab-small through the loader and through ONNX Runtime directly', () => {
  it('gives the same image embeddings (cosine ≥ 0.9999) for frames at the model’s input size', async () => {
    const pre = json('preprocessor_config.json');
    const side = pre.crop_size.width as number;
    const count = 6;
    // Seeded pseudo-random frames: every pixel value and channel is exercised.
    let x = 12345;
    const frames = Uint8Array.from({ length: count * side * side * 3 }, () => ((x = (x * 1103515245 + 12345) >>> 0), x >>> 24));
    const pixels = new Float32Array(count * 3 * side * side);
    for (let k = 0; k < count; k++)
      for (let c = 0; c < 3; c++)
        for (let i = 0; i < side * side; i++) pixels[((k * 3 + c) * side * side) + i] = (frames[(k * side * side + i) * 3 + c]! * pre.rescale_factor - pre.image_mean[c]) / pre.image_std[c];
    const session = await ort.InferenceSession.create(join(dir, 'onnx', 'vision_model.onnx'));
    const direct = (await session.run({ pixel_values: new ort.Tensor('float32', pixels, [count, 3, side, side]) })).image_embeds!.data as Float32Array;
    const model = await loadVisionLanguageModel(dir);
    const ours = await model.embedFrames(frames, count, side, side);
    const dim = model.embeddingSize;
    for (let k = 0; k < count; k++) expect(cosine(ours.subarray(k * dim, (k + 1) * dim), direct.subarray(k * dim, (k + 1) * dim))).toBeGreaterThanOrEqual(0.9999);
    await model.close();
    await session.release();
  });

  it('gives the same text embeddings (cosine ≥ 0.9999) for prompts tokenised here from the vocabulary', async () => {
    const vocab = json('tokenizer.json').model.vocab as Record<string, number>;
    const prompts = ['the door is wide open', 'The pole is upright', 'the door is closed'];
    const ids = prompts.map((p) => p.toLowerCase().split(/\s+/).map((w) => vocab[w] ?? vocab['[UNK]']!));
    const length = Math.max(...ids.map((r) => r.length));
    const inputIds = BigInt64Array.from(ids.flatMap((r) => [...r, ...new Array<number>(length - r.length).fill(vocab['[PAD]']!)]).map(BigInt));
    const mask = BigInt64Array.from(ids.flatMap((r) => [...r.map(() => 1), ...new Array<number>(length - r.length).fill(0)]).map(BigInt));
    const session = await ort.InferenceSession.create(join(dir, 'onnx', 'text_model.onnx'));
    const direct = (await session.run({ input_ids: new ort.Tensor('int64', inputIds, [prompts.length, length]), attention_mask: new ort.Tensor('int64', mask, [prompts.length, length]) })).text_embeds!.data as Float32Array;
    const model = await loadVisionLanguageModel(dir);
    const ours = await model.embedTexts(prompts);
    const dim = model.embeddingSize;
    prompts.forEach((_, k) => expect(cosine(ours.subarray(k * dim, (k + 1) * dim), direct.subarray(k * dim, (k + 1) * dim))).toBeGreaterThanOrEqual(0.9999));
    await model.close();
    await session.release();
  });
});
