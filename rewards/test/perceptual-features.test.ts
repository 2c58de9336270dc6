import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultInceptionModelDir, loadInceptionFeatures, loadInceptionLayers, PerceptualModelError, PerceptualRewardError, type InceptionFeatureExtractor } from '../src';

/** Deterministic pseudo-random RGB frames (count × height × width × 3) with some smooth structure. */
function frames(count: number, width: number, height: number, seed: number): Uint8Array {
  const out = new Uint8Array(count * width * height * 3);
  let s = seed >>> 0;
  for (let f = 0; f < count; f++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < 3; c++) {
          s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
          const smooth = 128 + 100 * Math.sin((x + 7 * f) / (6 + c) + y / 9);
          out[((f * height + y) * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(smooth + ((s >>> 24) - 128) * 0.3)));
        }
      }
    }
  }
  return out;
}

// Loads the network bundled in nsfwjs (no network) once; each forward pass is ~0.3–0.5 s a frame on
// this machine's wasm backend, so the frames here are few.
describe('perceptual features: Inception V3 from nsfwjs', () => {
  let extractor: InceptionFeatureExtractor;
  let tensorsBefore = 0;

  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    tensorsBefore = tf.memory().numTensors;
    extractor = await loadInceptionFeatures({ batchSize: 3 });
  });

  afterAll(() => {
    extractor?.dispose();
  });

  it('has the documented layers, pooling and dimension', () => {
    expect(extractor.layers).toEqual(['mixed0', 'mixed1', 'mixed2', 'mixed3', 'mixed4', 'mixed5']);
    expect(extractor.pooling).toBe('grid3');
    expect(extractor.dim).toBe(9 * (256 + 288 + 288 + 3 * 768));
    expect(extractor.featureNames).toHaveLength(extractor.dim);
    expect(extractor.featureNames[0]).toBe('mixed0/r0c0/c0');
    expect(extractor.featureNames[9 * 256]).toBe('mixed1/r0c0/c0');
    expect(extractor.featureNames.at(-1)).toBe('mixed5/r2c2/c767');
    expect(extractor.featureNames[8 * 256 + 3]).toBe('mixed0/r2c2/c3');
    expect(extractor.modelDir).toBe(defaultInceptionModelDir());
  });

  it('gives count × dim finite, non-negative features; batched equals one by one; same frames, same features; no tensors left', async () => {
    const W = 40;
    const H = 30;
    const x = frames(4, W, H, 1);
    const before = tf.memory().numTensors;
    const batched = await extractor.extract(x, 4, W, H); // batches of 3 + 1
    expect(tf.memory().numTensors).toBe(before);
    expect(batched).toHaveLength(4 * extractor.dim);
    expect(batched.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
    const again = await extractor.extract(x, 4, W, H);
    expect(Buffer.from(again.buffer).equals(Buffer.from(batched.buffer))).toBe(true);
    for (const f of [0, 3]) {
      const alone = await extractor.extract(x.subarray(f * W * H * 3, (f + 1) * W * H * 3), 1, W, H);
      const row = batched.subarray(f * extractor.dim, (f + 1) * extractor.dim);
      let worst = 0;
      for (let i = 0; i < alone.length; i++) worst = Math.max(worst, Math.abs(alone[i]! - row[i]!) / (1 + Math.abs(row[i]!)));
      expect(worst).toBeLessThan(1e-4);
    }
    // Different frames give different features.
    const other = await extractor.extract(frames(1, W, H, 2), 1, W, H);
    expect(other.some((v, i) => Math.abs(v - batched[i]!) > 1e-3)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('resizes the short side to 299 and crops the centre', async () => {
    // A 598×299 frame is not resized (its short side is 299) and is cropped to columns 149 … 447.
    const wide = frames(1, 598, 299, 3);
    const centre = new Uint8Array(299 * 299 * 3);
    for (let y = 0; y < 299; y++) centre.set(wide.subarray((y * 598 + 149) * 3, (y * 598 + 149 + 299) * 3), y * 299 * 3);
    const a = await extractor.extract(wide, 1, 598, 299);
    const b = await extractor.extract(centre, 1, 299, 299);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    expect(worst).toBeLessThan(1e-4);
  });

  it('takes a smaller input side: the same features per frame, the frame resized and cropped to that side', async () => {
    const small = await loadInceptionFeatures({ layers: ['mixed0'], pooling: 'mean', inputSize: 107 });
    try {
      expect(small.inputSize).toBe(107);
      // mixed0 has 256 channels whatever the input side.
      expect(small.dim).toBe(256);
      // A 214×107 frame is not resized (short side 107) and is cropped to columns 53 … 159.
      const wide = frames(1, 214, 107, 5);
      const centre = new Uint8Array(107 * 107 * 3);
      for (let y = 0; y < 107; y++) centre.set(wide.subarray((y * 214 + 53) * 3, (y * 214 + 53 + 107) * 3), y * 107 * 3);
      const a = await small.extract(wide, 1, 214, 107);
      const b = await small.extract(centre, 1, 107, 107);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      expect(worst).toBeLessThan(1e-4);
    } finally {
      small.dispose();
    }
    await expect(loadInceptionFeatures({ inputSize: 50 })).rejects.toThrow('inputSize must be an integer of at least 75');
  });

  it('refuses frames of the wrong size and use after dispose', async () => {
    await expect(extractor.extract(new Uint8Array(10), 1, 4, 4)).rejects.toThrow('frames has 10 bytes, expected count × height × width × 3 = 1 × 4 × 4 × 3 = 48');
    await expect(extractor.extract(new Uint8Array(0), 0, 4, 4)).rejects.toThrow('count must be a positive integer');
    const small = await loadInceptionFeatures({ layers: ['mixed0'], pooling: 'mean' });
    expect(small.dim).toBe(256);
    expect(small.featureNames[5]).toBe('mixed0/c5');
    small.dispose();
    await expect(small.extract(new Uint8Array(48), 1, 4, 4)).rejects.toThrow(PerceptualModelError);
  });

  it('frees every tensor it made when disposed', async () => {
    const model = await loadInceptionLayers(['mixed0']);
    expect(model.outputs[0]!.shape).toEqual([null, 35, 35, 256]);
    model.dispose();
    extractor.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    extractor = await loadInceptionFeatures({ batchSize: 3 });
  });

  it('names the path when the model files are missing, and lists the valid layers for an unknown one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'no-inception-'));
    try {
      const missing = join(dir, 'inception_v3');
      await expect(loadInceptionFeatures({ modelDir: missing })).rejects.toThrow(PerceptualModelError);
      await expect(loadInceptionFeatures({ modelDir: missing })).rejects.toThrow(`the Inception V3 model directory ${missing} does not exist`);
      await expect(loadInceptionFeatures({ modelDir: dir })).rejects.toThrow(`the Inception V3 model file ${join(dir, 'model.min.js')} is missing`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await expect(loadInceptionFeatures({ layers: ['mixed99'] })).rejects.toThrow(PerceptualRewardError);
    await expect(loadInceptionFeatures({ layers: ['conv2d_1'] })).rejects.toThrow('unknown Inception layer "conv2d_1" (valid: mixed0, mixed1');
    await expect(loadInceptionFeatures({ layers: ['mixed0', 'mixed0'] })).rejects.toThrow('layer "mixed0" is listed twice');
    await expect(loadInceptionFeatures({ pooling: 'median' as never })).rejects.toThrow('unknown pooling "median"');
  });
});
