/**
 * The vlm node inside the reward wrappers, with real rendering (headless Chromium) and a real ONNX
 * model whose embedding is known in closed form: the image encoder averages each preprocessed colour
 * channel (GlobalAveragePool), and each prompt word is a fixed 3-vector. So the reward of a frame can be
 * recomputed in the test from the frame's pixels, which the test draws itself with the same renderer.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEnv, VecEnv, type AnyEnv, type Env } from '@rewardlab/sim';
import { FrameRenderer, frameOf, sceneSourceOf } from '@rewardlab/render';
import { FrameScorerPool, isStatefulVecEnv, meanOfNormalized, VlmRewardBasis, withReward, withVecReward, type VlmScorer } from '../src';
import { colourEmbedding, SIZE, WORDS, writeColourModel } from './vlm-models';

const chromium = process.env.REWARDLAB_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromium);
if (!haveChromium && process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but there is no Chromium at ${chromium}`);
const suite = haveChromium ? describe : describe.skip;
if (!haveChromium) console.warn(`skipping the vlm wrapper tests: no Chromium at ${chromium}`);

/** The basis of goal "bright", baseline "dark": g and b are single unit words. */
function expectedBasis(alpha: number): VlmRewardBasis {
  const g = meanOfNormalized(Float32Array.from(WORDS.bright), 1, 3);
  const b = meanOfNormalized(Float32Array.from(WORDS.dark), 1, 3);
  return new VlmRewardBasis(g, b, alpha);
}

suite('vlm terms in the reward wrappers', () => {
  let dir: string;
  let renderer: FrameRenderer;
  let pool: FrameScorerPool;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rewardlab-vlm-colour-'));
    writeColourModel(dir);
    renderer = new FrameRenderer({ executablePath: chromium });
    pool = new FrameScorerPool({ renderer });
  });
  afterAll(async () => {
    await renderer.close();
  });

  const spec = (alpha: number, extra: object = {}) => ({ components: { bright: { vlm: { model: dir, goal: ['bright'], baseline: ['dark'], alpha, size: SIZE }, ...extra } } });

  it('pays R of the rendered next state (CartPole), recomputed here from the frame the renderer draws', async () => {
    const env = withReward(await makeEnv<Env>('CartPole-v1'), spec(0.5), { frameScorers: pool });
    await env.reset({ seed: 3 });
    const basis = expectedBasis(0.5);
    for (let k = 0; k < 3; k++) {
      const r = await env.step(k % 2);
      const frame = await renderer.renderEnvs([env], { width: SIZE, height: SIZE });
      const expected = basis.reward(colourEmbedding(frame, 0));
      expect(r.reward).toBeCloseTo(expected, 5);
      expect((r.info.rewardComponents as Record<string, number[]>).bright![0]).toBeCloseTo(expected, 5);
    }
    await env.close();
  });

  it('shapes a potential over the vlm term: γ·Φ(s′) − Φ(s) with Φ the scores of both frames (the first one scored at reset)', async () => {
    const env = withReward(await makeEnv<Env>('CartPole-v1'), { gamma: 0.9, components: spec(0, { potential: true }).components }, { frameScorers: pool });
    await env.reset({ seed: 1 });
    const basis = expectedBasis(0);
    const phi0 = basis.reward(colourEmbedding(await renderer.renderEnvs([env], { width: SIZE, height: SIZE }), 0));
    const r = await env.step(1);
    const phi1 = basis.reward(colourEmbedding(await renderer.renderEnvs([env], { width: SIZE, height: SIZE }), 0));
    expect(r.reward).toBeCloseTo(0.9 * phi1 - phi0, 5);
    await env.close();
  });

  it('draws and embeds every env of a vector in one batch per step, and serves a frame seen before from the cache', async () => {
    const envs: AnyEnv[] = [];
    for (let i = 0; i < 4; i++) envs.push(withReward(await makeEnv<Env>('door-open'), spec(1), { frameScorers: pool }));
    const vec = new VecEnv(envs, { autoreset: 'same-step' });
    await vec.reset({ seed: 0 });
    const scorer = (await pool.acquire('vlm', { model: dir, goal: ['bright'], baseline: ['dark'], alpha: 1, size: SIZE })) as VlmScorer;
    const before = { ...scorer.stats };
    // A different action per env, so that the four frames differ (equal frames are drawn once).
    const actions = Float32Array.from({ length: vec.numSlots * vec.actionSize }, (_, k) => ((Math.floor(k / vec.actionSize) + 1) * 0.2 * ((k % 2) * 2 - 1)));
    await vec.step(actions);
    expect(scorer.stats.batches - before.batches).toBe(1);
    expect(scorer.stats.embedded - before.embedded).toBe(4);
    // Every reward is R of that env's own frame.
    const basis = expectedBasis(1);
    const r = await vec.step(actions);
    const after = await renderer.renderEnvs(envs, { width: SIZE, height: SIZE });
    for (let i = 0; i < 4; i++) expect(r.rewards[i]).toBeCloseTo(basis.reward(colourEmbedding(after, i * SIZE * SIZE * 3)), 4);
    // The same scene pose again is neither drawn nor embedded again.
    const hits = scorer.stats.cacheHits;
    const source = sceneSourceOf(envs[0]!);
    const again = await scorer.score(source.scene(), frameOf(source));
    expect(scorer.stats.cacheHits).toBe(hits + 1);
    expect(again).toBeCloseTo(basis.reward(colourEmbedding(after, 0)), 4);
    await pool.release('vlm', { model: dir, goal: ['bright'], baseline: ['dark'], alpha: 1, size: SIZE });
    await vec.close();
  });

  it('scores every arena of a carball vector on its own state (withVecReward)', async () => {
    const { makeHostedVecEnv } = await import('@rewardlab/sim');
    const inner = await makeHostedVecEnv('carball-1v1', 2, { autoreset: 'next-step' });
    if (!isStatefulVecEnv(inner)) throw new Error('carball vector without states');
    const vec = withVecReward(inner, spec(0.5), { frameScorers: pool });
    await vec.reset({ seed: 0 });
    const actions = new Float32Array(vec.numSlots * vec.actionSize).fill(1);
    const r = await vec.step(actions);
    const frames = await renderer.render([inner.getState(0), inner.getState(1)], { env: 'carball-1v1', width: SIZE, height: SIZE });
    const basis = expectedBasis(0.5);
    for (let i = 0; i < 2; i++) {
      const expected = basis.reward(colourEmbedding(frames, i * SIZE * SIZE * 3));
      // Both cars of an arena see its one frame.
      expect(r.rewards[2 * i]).toBeCloseTo(expected, 4);
      expect(r.rewards[2 * i + 1]).toBeCloseTo(expected, 4);
    }
    await vec.close();
  });

  it("draws with the camera the model was trained with for the env (config.json → rewardlab.cameras) unless the node names one", async () => {
    const own = mkdtempSync(join(tmpdir(), 'rewardlab-vlm-camera-'));
    writeColourModel(own);
    const camera = { position: [0, -60, 0.5] as [number, number, number], target: [0, 0, 0.5] as [number, number, number], fovDeg: 2.8, up: [0, 0, 1] as [number, number, number] };
    const config = JSON.parse(readFileSync(join(own, 'config.json'), 'utf8'));
    writeFileSync(join(own, 'config.json'), JSON.stringify({ ...config, rewardlab: { cameras: { 'CartPole-v1': camera } } }));
    // Colour, not brightness: the embedding is normalised, so grey frames of any brightness look alike.
    const vlm = { model: own, goal: ['red'], alpha: 0, size: SIZE };
    const trained = withReward(await makeEnv<Env>('CartPole-v1'), { components: { v: { vlm } } }, { frameScorers: pool });
    const named = withReward(await makeEnv<Env>('CartPole-v1'), { components: { v: { vlm: { ...vlm, camera: 'side' } } } }, { frameScorers: pool });
    await trained.reset({ seed: 4 });
    await named.reset({ seed: 4 });
    const a = await trained.step(1);
    const b = await named.step(1);
    const basis = new VlmRewardBasis(meanOfNormalized(Float32Array.from(WORDS.red), 1, 3), null, 0);
    const close = await renderer.renderEnvs([trained], { width: SIZE, height: SIZE, camera });
    const side = await renderer.renderEnvs([named], { width: SIZE, height: SIZE, camera: 'side' });
    expect(a.reward).toBeCloseTo(basis.reward(colourEmbedding(close, 0)), 5);
    expect(b.reward).toBeCloseTo(basis.reward(colourEmbedding(side, 0)), 5);
    expect(Math.abs((a.reward as number) - (b.reward as number))).toBeGreaterThan(1e-4);
    await trained.close();
    await named.close();
  });

  it('fails the step naming the directory when the model is missing, and names an env without a scene at construction', async () => {
    const env = withReward(await makeEnv<Env>('CartPole-v1'), { components: { v: { vlm: { model: join(dir, 'nope'), goal: ['bright'], alpha: 0 } } } }, { frameScorers: pool });
    await expect(Promise.resolve().then(() => env.reset({ seed: 0 }))).rejects.toThrow(/nope/);
    await env.close();
    // The bidding simulator has no scene: a vlm term on it is refused when the wrapper is made.
    const rtb = await makeEnv<AnyEnv>('rtb');
    expect(() => withReward(rtb, spec(0.5))).toThrow(/env "rtb" has no scene to render/);
    await rtb.close();
  });
});
