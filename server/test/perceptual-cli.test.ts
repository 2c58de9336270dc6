/**
 * `rewardlab demos record` and `rewardlab reward learn` as a user runs them: recorded demonstrations
 * become a reward model file the loader reads, with the held-out step accuracy in the result; bad
 * input is named.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPerceptualRewardModel } from '@rewardlab/rewards';
import { rewardlab } from './cli-helpers';

const skip = existsSync('/usr/bin/chromium') ? null : '/usr/bin/chromium is missing (run .ci/install-chromium)';
if (skip && process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but ${skip}`);
if (skip) console.warn(`skipping the perceptual CLI suite: ${skip}`);

const errorOf = (r: { last: Record<string, unknown> | null }): string => (r.last as { error: { message: string } }).error.message;

describe.skipIf(skip !== null)('rewardlab demos record and reward learn', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rewardlab-perceptual-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('records demos with phase labels and learns a reward model from them, reporting the held-out step accuracy', () => {
    const train = rewardlab('demos', 'record', '--env', 'door-open', '--episodes', '3', '--max-steps', '8', '--size', '32', '--out', join(dir, 'train'), '--json');
    expect(train.code, train.stderr).toBe(0);
    const t = train.last as { env: string; width: number; episodes: { frames: number }[] };
    expect(t.env).toBe('door-open');
    expect(t.width).toBe(32);
    // The reset state and one frame per step.
    expect(t.episodes.map((e) => e.frames)).toEqual([9, 9, 9]);
    const held = rewardlab('demos', 'record', '--env', 'door-open', '--episodes', '1', '--seed', '50', '--max-steps', '8', '--size', '32', '--out', join(dir, 'held'), '--json');
    expect(held.code, held.stderr).toBe(0);
    const out = join(dir, 'reward.json');
    const learn = rewardlab('reward', 'learn', '--demos', join(dir, 'train'), '--held-out', join(dir, 'held'), '--steps', '2', '--pooling', 'mean', '--out', out, '--json');
    expect(learn.code, learn.stderr).toBe(0);
    const r = learn.last as { steps: number; demos: number; frames: number; starts: number[][]; heldOut: { frames: number; accuracy: number; perStep: number[] } };
    expect(r.steps).toBe(2);
    expect(r.demos).toBe(3);
    expect(r.frames).toBe(27);
    expect(r.starts).toHaveLength(3);
    for (const s of r.starts) expect(s[0]).toBe(0);
    expect(r.heldOut.frames).toBe(9);
    expect(r.heldOut.accuracy).toBeGreaterThanOrEqual(0);
    expect(r.heldOut.accuracy).toBeLessThanOrEqual(1);
    const model = loadPerceptualRewardModel(out);
    expect(model.env).toBe('door-open');
    expect(model.frames).toEqual({ width: 32, height: 32, camera: expect.anything() });
    // The features of each demo are cached beside its frames: a second run reads them back.
    const again = rewardlab('reward', 'learn', '--demos', join(dir, 'train'), '--steps', '2', '--pooling', 'mean', '--out', join(dir, 'again.json'), '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/features of demo-000/);
    expect((again.last as { starts: number[][] }).starts).toEqual(r.starts);
  });

  it('names the problem: too few steps, a missing demo folder, an unknown env', () => {
    const steps = rewardlab('reward', 'learn', '--demos', join(dir, 'train'), '--steps', '0', '--out', join(dir, 'x.json'), '--json');
    expect(steps.code).toBe(1);
    expect(errorOf(steps)).toMatch(/--steps must be an integer ≥ 2/);
    const missing = rewardlab('reward', 'learn', '--demos', join(dir, 'nope'), '--steps', '2', '--out', join(dir, 'y.json'), '--json');
    expect(missing.code).toBe(1);
    expect(errorOf(missing)).toContain(join(dir, 'nope'));
    const env = rewardlab('demos', 'record', '--env', 'rtb', '--out', join(dir, 'z'), '--json');
    expect(env.code).toBe(1);
    expect(errorOf(env)).toMatch(/rtb/);
  });
});
