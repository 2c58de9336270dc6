/**
 * `rewardlab render` and `rewardlab bench render` as a user runs them: episodes become PNG frames and
 * a video that ffmpeg's own probe reads back with one frame per env state; the benchmark prints its
 * curve; bad options fail with a message naming them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rewardlab } from './cli-helpers';

const ffmpeg = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
const reasons = [existsSync('/usr/bin/chromium') ? null : '/usr/bin/chromium is missing (run .ci/install-chromium)', ffmpeg ? null : 'ffmpeg is missing (apt-get install ffmpeg)'].filter(Boolean);
const skip = reasons.length ? reasons.join('; ') : null;
if (skip && process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but ${skip}`);
if (skip) console.warn(`skipping the render CLI suite: ${skip}`);

describe.skipIf(skip !== null)('rewardlab render', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rewardlab-render-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one PNG per state and an MP4 with as many frames', () => {
    const out = join(dir, 'carball');
    const r = rewardlab('render', '--env', 'carball-1v1', '--episodes', '1', '--max-steps', '24', '--size', '96', '--frames', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const result = r.last as { episodes: { frames: number; video: string; framesDir: string }[]; fps: number; width: number };
    // The state after reset plus one per step.
    expect(result.episodes[0]!.frames).toBe(25);
    expect(result.fps).toBe(15);
    expect(readdirSync(result.episodes[0]!.framesDir).filter((f) => f.endsWith('.png'))).toHaveLength(25);
    const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', result.episodes[0]!.video], { encoding: 'utf8' });
    const stream = JSON.parse(probe.stdout).streams[0];
    expect(stream).toMatchObject({ codec_name: 'h264', width: 96, height: 96, nb_read_frames: '25' });
  });

  it('writes WebM (VP9) for an episode of CartPole that ends by itself', () => {
    const r = rewardlab('render', '--env', 'CartPole-v1', '--seed', '2', '--size', '64', '--video', 'webm', '--out', join(dir, 'cartpole'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const ep = (r.last as { episodes: { frames: number; return: number; video: string }[] }).episodes[0]!;
    // CartPole pays 1 per step: the return is the number of steps, one frame fewer than the frames.
    expect(ep.frames).toBe(ep.return + 1);
    expect(ep.video.endsWith('.webm')).toBe(true);
    const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', ep.video], { encoding: 'utf8' });
    expect(probe.stdout.trim()).toBe('vp9');
  });

  it('names an unknown camera and an unknown env', () => {
    const cam = rewardlab('render', '--env', 'carball-1v1', '--max-steps', '2', '--camera', 'blimp', '--size', '32', '--out', join(dir, 'x'), '--json');
    expect(cam.code).toBe(1);
    expect((cam.last as { error: { message: string } }).error.message).toContain('unknown camera "blimp"');
    const env = rewardlab('render', '--env', 'nope-v0', '--out', join(dir, 'y'), '--json');
    expect(env.code).toBe(1);
    expect((env.last as { error: { message: string } }).error.message).toMatch(/nope-v0/);
  });

  it('bench render prints frames/s, ms per batch, the batch and the backend, and the curve', () => {
    const r = rewardlab('bench', 'render', '--env', 'carball-2v2', '--size', '64', '--batches', '1,8', '--seconds', '0.5', '--json');
    expect(r.code, r.stderr).toBe(0);
    const b = r.last as { framesPerSec: number; msPerBatch: number; batch: number; backend: string; curve: { batch: number; framesPerSec: number; msPerBatch: number }[] };
    expect(b.curve.map((p) => p.batch)).toEqual([1, 8]);
    for (const p of b.curve) expect(p.framesPerSec).toBeCloseTo((p.batch * 1000) / p.msPerBatch, 6);
    const best = b.curve.reduce((x, y) => (y.framesPerSec > x.framesPerSec ? y : x));
    expect(b).toMatchObject({ batch: best.batch, framesPerSec: best.framesPerSec });
    expect(b.backend).toMatch(/chromium/);
  });
});
