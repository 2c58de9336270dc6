/**
 * The `perceptual` spec node in the reward wrappers: a reward model learned from two short recorded
 * door-open demonstrations pays, for every step, the learned reward of the rendered next state, drawn
 * as the demonstrations were (their size and camera, recorded in the model), recomputed here from the
 * frame the test draws itself.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEnv, type Env } from '@rewardlab/sim';
import { FrameRenderer } from '@rewardlab/render';
import {
  FrameScorerPool,
  learnPerceptualReward,
  loadInceptionFeatures,
  parseRewardSpec,
  perceptualReward,
  perceptualStepRewards,
  readDemos,
  recordDemos,
  RewardSpecError,
  savePerceptualRewardModel,
  withReward,
  type InceptionFeatureExtractor,
  type PerceptualRewardModel,
} from '../src';

const chromium = process.env.REWARDLAB_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromium);
if (!haveChromium && process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but there is no Chromium at ${chromium}`);
const suite = haveChromium ? describe : describe.skip;

const SIZE = 32;

suite('the perceptual node in the reward wrappers', () => {
  let renderer: FrameRenderer;
  let pool: FrameScorerPool;
  let features: InceptionFeatureExtractor;
  let model: PerceptualRewardModel;
  let file: string;
  beforeAll(async () => {
    await tf.setBackend('wasm');
    renderer = new FrameRenderer({ executablePath: chromium });
    pool = new FrameScorerPool({ renderer });
    const dir = mkdtempSync(join(tmpdir(), 'rewardlab-perceptual-node-'));
    await recordDemos({ env: 'door-open', episodes: 2, out: join(dir, 'demos'), seed: 0, size: SIZE, maxSteps: 5, renderer });
    const demos = readDemos(join(dir, 'demos'));
    features = await loadInceptionFeatures({ pooling: 'mean' });
    const f = [];
    for (const d of demos.episodes) f.push({ features: await features.extract(d.frames, d.count, demos.width, demos.height), count: d.count });
    model = { ...learnPerceptualReward(f, features.dim, { steps: 2, topFeatures: 8, layers: features.layers, pooling: features.pooling, env: 'door-open' }), frames: { width: SIZE, height: SIZE } };
    file = join(dir, 'reward.json');
    savePerceptualRewardModel(model, file);
  }, 120_000);
  afterAll(async () => {
    features?.dispose();
    await renderer?.close();
  });

  it('pays the learned reward of the rendered next state', async () => {
    const env = withReward(await makeEnv<Env>('door-open'), { components: { steps: { perceptual: { model: file } } } }, { frameScorers: pool });
    await env.reset({ seed: 7 });
    for (let k = 0; k < 2; k++) {
      const r = await env.step(Float32Array.of(0.5, 0, 0, 0));
      const frame = await renderer.renderEnvs([env], { width: SIZE, height: SIZE });
      const expected = perceptualReward(model, perceptualStepRewards(model, await features.extract(frame, 1, SIZE, SIZE), 1))[0]!;
      expect(r.reward).toBeCloseTo(expected, 6);
      // The posterior-weighted reward lies in [0, 1] (first step 0, last 1).
      expect(r.reward).toBeGreaterThanOrEqual(0);
      expect(r.reward).toBeLessThanOrEqual(1);
    }
    await env.close();
  });

  it('refuses a model of another env at the first step, and a broken node when the spec is parsed', async () => {
    const env = withReward(await makeEnv<Env>('pick-place'), { components: { steps: { perceptual: { model: file } } } }, { frameScorers: pool });
    await expect(Promise.resolve().then(() => env.reset({ seed: 0 }))).rejects.toThrow(/learned from door-open demonstrations; this env is pick-place/);
    await env.close();
    expect(() => parseRewardSpec({ components: { p: { perceptual: { model: file, steps: 3 } } } })).toThrow(RewardSpecError);
    expect(() => parseRewardSpec({ components: { p: { perceptual: {} } } })).toThrow(/\$\.components\.p\.perceptual\.model/);
    const missing = withReward(await makeEnv<Env>('door-open'), { components: { p: { perceptual: { model: join(tmpdir(), 'no-such-reward.json') } } } }, { frameScorers: pool });
    await expect(Promise.resolve().then(() => missing.reset({ seed: 0 }))).rejects.toThrow(/no-such-reward\.json does not exist/);
    await missing.close();
  });
});
