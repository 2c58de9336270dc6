/**
 * `rewardlab vlm train|score|eval` and `rewardlab bench vlm` as a user runs them, on the model the
 * project ships (`rewardlab-small`, trained by `vlm train` on door-open and CartPole frames).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePng } from '@rewardlab/render';
import { BUILTIN_VLM_MODELS, loadVisionLanguageModel, promptBasis } from '@rewardlab/rewards';
import { rewardlab } from './cli-helpers';

const skip = existsSync('/usr/bin/chromium') ? null : '/usr/bin/chromium is missing (run .ci/install-chromium)';
if (skip && process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but ${skip}`);
if (skip) console.warn(`skipping the vlm CLI suite: ${skip}`);

const errorOf = (r: { last: Record<string, unknown> | null }): string => (r.last as { error: { message: string } }).error.message;

describe.skipIf(skip !== null)('rewardlab vlm', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rewardlab-vlm-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('vlm score gives each PNG the reward the library computes from its embedding', async () => {
    const frames = join(dir, 'frames');
    const render = rewardlab('render', '--env', 'door-open', '--max-steps', '2', '--size', '64', '--video', 'none', '--frames', '--out', frames, '--json');
    expect(render.code, render.stderr).toBe(0);
    const framesDir = (render.last as { episodes: { framesDir: string }[] }).episodes[0]!.framesDir;
    const files = readdirSync(framesDir)
      .filter((f) => f.endsWith('.png'))
      .sort()
      .map((f) => join(framesDir, f));
    const r = rewardlab('vlm', 'score', '--model', 'rewardlab-small', '--goal', 'the door is open', '--baseline', 'the door is closed', '--alpha', '0.5', ...files, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = r.last as { alpha: number; frames: { file: string; reward: number }[] };
    expect(out.alpha).toBe(0.5);
    expect(out.frames.map((f) => f.file)).toEqual(files);
    const model = await loadVisionLanguageModel(BUILTIN_VLM_MODELS['rewardlab-small']!);
    const basis = await promptBasis(model, { goal: ['the door is open'], baseline: ['the door is closed'], alpha: 0.5 });
    for (const [k, file] of files.entries()) {
      const png = decodePng(readFileSync(file));
      const e = await model.embedFrames(png.rgb, 1, png.width, png.height);
      expect(out.frames[k]!.reward).toBeCloseTo(basis.reward(e), 6);
    }
    await model.close();
  });

  it('vlm eval ranks held-out door-open states by door angle and CartPole states by uprightness (Spearman ≥ 0.8 for α = 0, 0.5, 1)', () => {
    const door = rewardlab('vlm', 'eval', '--model', 'rewardlab-small', '--env', 'door-open', '--goal', 'the door is wide open', '--baseline', 'the door is closed', '--states', '256', '--seed', '1000', '--json');
    expect(door.code, door.stderr).toBe(0);
    const d = door.last as { states: number; spearman: { alpha: number; spearman: number }[] };
    expect(d.states).toBe(256);
    expect(d.spearman.map((s) => s.alpha)).toEqual([0, 0.5, 1]);
    for (const s of d.spearman) expect(s.spearman).toBeGreaterThanOrEqual(0.8);
    const pole = rewardlab('vlm', 'eval', '--model', 'rewardlab-small', '--env', 'CartPole-v1', '--goal', 'the pole is upright', '--baseline', 'the pole is falling', '--states', '256', '--seed', '1000', '--json');
    expect(pole.code, pole.stderr).toBe(0);
    for (const s of (pole.last as { spearman: { spearman: number }[] }).spearman) expect(s.spearman).toBeGreaterThanOrEqual(0.8);
  });

  it('bench vlm prints frames/s, ms per frame and the batch, with the render / embed / reward split per batch size', () => {
    const r = rewardlab('bench', 'vlm', '--batches', '8,16', '--seconds', '0.3', '--json');
    expect(r.code, r.stderr).toBe(0);
    const b = r.last as { framesPerSec: number; msPerFrame: number; batch: number; curve: { batch: number; framesPerSec: number; msPerFrame: number; renderMs: number; embedMs: number }[] };
    expect(b.curve.map((p) => p.batch)).toEqual([8, 16]);
    for (const p of b.curve) {
      expect(p.framesPerSec).toBeGreaterThan(0);
      // frames/s and ms per frame are the same measurement.
      expect(p.msPerFrame).toBeCloseTo(1000 / p.framesPerSec, 6);
      expect(p.renderMs + p.embedMs).toBeLessThanOrEqual(p.msPerFrame * p.batch * 1.0001);
    }
    expect([8, 16]).toContain(b.batch);
  });

  it('vlm train writes a model directory the loader reads, reproducibly from its seed', () => {
    const a = rewardlab('vlm', 'train', '--env', 'CartPole-v1', '--out', join(dir, 'a'), '--frames', '64', '--steps', '4', '--batch', '16', '--seed', '3', '--json');
    expect(a.code, a.stderr).toBe(0);
    const b = rewardlab('vlm', 'train', '--env', 'CartPole-v1', '--out', join(dir, 'b'), '--frames', '64', '--steps', '4', '--batch', '16', '--seed', '3', '--json');
    expect(b.code, b.stderr).toBe(0);
    expect((a.last as { steps: number }).steps).toBe(4);
    for (const f of ['onnx/vision_model.onnx', 'onnx/text_model.onnx', 'tokenizer.json', 'preprocessor_config.json', 'config.json']) {
      expect(existsSync(join(dir, 'a', f)), f).toBe(true);
    }
    expect(readFileSync(join(dir, 'a', 'onnx', 'vision_model.onnx')).equals(readFileSync(join(dir, 'b', 'onnx', 'vision_model.onnx')))).toBe(true);
    const score = rewardlab('vlm', 'eval', '--model', join(dir, 'a'), '--env', 'CartPole-v1', '--goal', 'the pole is upright', '--baseline', 'the pole is falling', '--states', '16', '--json');
    expect(score.code, score.stderr).toBe(0);
  });

  it('names the problem: alpha out of range, a missing model directory, an env without captions, no frames', () => {
    const alpha = rewardlab('vlm', 'score', '--model', 'rewardlab-small', '--goal', 'x', '--alpha', '2', 'a.png', '--json');
    expect(alpha.code).toBe(1);
    expect(errorOf(alpha)).toMatch(/alpha must be within \[0, 1\], got "2"/);
    const missing = rewardlab('vlm', 'eval', '--model', join(dir, 'nope'), '--env', 'door-open', '--goal', 'x', '--baseline', 'y', '--states', '4', '--json');
    expect(missing.code).toBe(1);
    expect(errorOf(missing)).toContain(join(dir, 'nope'));
    const env = rewardlab('vlm', 'train', '--env', 'rtb', '--out', join(dir, 'c'), '--json');
    expect(env.code).toBe(1);
    expect(errorOf(env)).toMatch(/rtb.*door-open/);
    const png = rewardlab('vlm', 'score', '--model', 'rewardlab-small', '--goal', 'x', join(dir, 'none.png'), '--json');
    expect(png.code).toBe(1);
    expect(errorOf(png)).toContain('none.png');
  });
});
