/**
 * Demo recording (scripted demonstrators rendered in headless Chromium) and demo reading: recordings,
 * directories of recordings, users' own frame folders, and every kind of bad input.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePng, encodePng, findFfmpeg, FrameRenderer } from '@rewardlab/render';
import { DEMO_FORMAT_VERSION, DemoError, readDemos, recordDemos, type DemoManifest } from '../src/perceptual/demos';

const chromium = process.env.REWARDLAB_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromium);
if (!haveChromium && process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but there is no Chromium at ${chromium}`);
const suite = haveChromium ? describe : describe.skip;
if (!haveChromium) console.warn(`skipping the demo recording tests: no Chromium at ${chromium}`);

const root = mkdtempSync(join(tmpdir(), 'rewardlab-demos-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let serial = 0;
const fresh = (): string => {
  const d = join(root, `case-${serial++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

/** A w × h frame whose every pixel is (k, 2k, 255 − k): frame k can be told from the others. */
function frame(k: number, w = 6, h = 4): Uint8Array {
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) rgb.set([k & 255, (2 * k) & 255, 255 - (k & 255)], 3 * i);
  return rgb;
}
function writeFrames(dir: string, names: readonly string[], w = 6, h = 4, values: readonly number[] = names.map((_, k) => k)): void {
  mkdirSync(dir, { recursive: true });
  names.forEach((n, k) => writeFileSync(join(dir, n), encodePng(frame(values[k]!, w, h), w, h)));
}
const firstValue = (frames: Uint8Array, k: number, w = 6, h = 4): number => frames[k * w * h * 3]!;
function manifest(env: string, episodes: { name: string; frames: number }[], w = 6, h = 4): DemoManifest {
  return { version: 1, env, width: w, height: h, camera: 'front', fps: 25, episodes: episodes.map((e) => ({ ...e, success: true, seed: 0 })) };
}
function expectDemoError(f: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a DemoError matching ${pattern}`).toBeInstanceOf(DemoError);
  expect((caught as Error).message).toMatch(pattern);
}

suite('recordDemos (headless Chromium)', () => {
  let renderer: FrameRenderer;
  beforeAll(() => {
    renderer = new FrameRenderer({ executablePath: chromium });
  });
  afterAll(async () => {
    await renderer.close();
  });

  it('records 2 short door-open episodes and reads them back: manifest, frames, states, phases', async () => {
    const out = join(fresh(), 'door');
    const video = findFfmpeg() !== null;
    const { manifest: m, tried } = await recordDemos({ env: 'door-open', episodes: 2, out, seed: 4, size: 24, maxSteps: 20, renderer, video });
    expect(tried).toBe(2);
    const onDisk = JSON.parse(readFileSync(join(out, 'demos.json'), 'utf8')) as DemoManifest;
    expect(onDisk).toEqual(m);
    expect(m).toMatchObject({ version: DEMO_FORMAT_VERSION, env: 'door-open', width: 24, height: 24, camera: 'shoulder', fps: 25, phaseNames: ['approach', 'open'], noise: 0 });
    expect(m.episodes).toEqual([
      { name: 'demo-000', frames: 21, success: false, seed: 4 },
      { name: 'demo-001', frames: 21, success: false, seed: 5 },
    ]);
    for (const e of m.episodes) {
      const files = readdirSync(join(out, e.name, 'frames')).sort();
      expect(files).toHaveLength(21);
      expect(files[0]).toBe('000000.png');
      expect(files[20]).toBe('000020.png');
      const states = readFileSync(join(out, e.name, 'states.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(states).toHaveLength(21);
      expect(states[0]).toMatchObject({ step: 0, phase: 0, doorAngle: 0, success: false });
      expect(Object.keys(states[0]!)).toEqual(expect.arrayContaining(['grip', 'fingers', 'handle', 'goalAngle']));
      if (video) expect(statSync(join(out, e.name, 'video.mp4')).size).toBeGreaterThan(0);
    }
    const demos = readDemos(out, { env: 'door-open' });
    expect(demos).toMatchObject({ env: 'door-open', width: 24, height: 24, fps: 25, camera: 'shoulder', phaseNames: ['approach', 'open'] });
    expect(demos.episodes.map((e) => [e.name, e.count, e.frames.length, e.seed, e.success])).toEqual([
      ['demo-000', 21, 21 * 24 * 24 * 3, 4, false],
      ['demo-001', 21, 21 * 24 * 24 * 3, 5, false],
    ]);
    for (const e of demos.episodes) {
      const phases = e.phases!;
      expect(phases).toHaveLength(21);
      expect(phases[0]).toBe(0);
      expect(phases[20]).toBe(1);
      expect(phases.every((p, k) => k === 0 || p >= phases[k - 1]!)).toBe(true);
      expect(e.states![20]!.doorAngle as number).toBeGreaterThan(0.05);
      // The frames are the PNGs, in order; the door moved between the first and the last.
      const png = decodePng(readFileSync(join(out, e.name, 'frames', '000007.png')));
      expect(Buffer.from(e.frames.subarray(7 * png.rgb.length, 8 * png.rgb.length)).equals(Buffer.from(png.rgb))).toBe(true);
      const bytes = 24 * 24 * 3;
      expect(Buffer.from(e.frames.subarray(0, bytes)).equals(Buffer.from(e.frames.subarray(20 * bytes)))).toBe(false);
    }
    expectDemoError(() => readDemos(out, { env: 'pick-place' }), /records door-open demos, not pick-place/);
  });

  it('records a carball-1v1 shot on goal and a full pick-place episode', async () => {
    const dir = fresh();
    const car = await recordDemos({ env: 'carball-1v1', episodes: 1, out: join(dir, 'car'), size: 16, renderer });
    expect(car.manifest).toMatchObject({ env: 'carball-1v1', fps: 15, phaseNames: ['approach', 'shot'], episodes: [{ name: 'demo-000', success: true, seed: 0 }] });
    const c = readDemos(join(dir, 'car')).episodes[0]!;
    expect(c.count).toBe(car.manifest.episodes[0]!.frames);
    expect(c.phases![0]).toBe(0);
    expect(c.phases!.at(-1)).toBe(1);
    expect(c.states!.at(-1)).toMatchObject({ touched: true, scored: true });
    const pick = await recordDemos({ env: 'pick-place', episodes: 1, out: join(dir, 'pick'), size: 16, seed: 7, noise: 0.1, camera: 'side', renderer });
    expect(pick.manifest).toMatchObject({ camera: 'side', noise: 0.1, phaseNames: ['reach', 'grasp-lift', 'carry-place'], episodes: [{ frames: 51, success: true, seed: 7 }] });
    const p = readDemos(join(dir, 'pick')).episodes[0]!;
    expect(new Set(p.phases)).toEqual(new Set([0, 1, 2]));
  });

});

describe('recordDemos options', () => {
  it('refuses bad options before anything is played or drawn', async () => {
    const out = join(root, 'never');
    await expect(recordDemos({ env: 'reach', episodes: 1, out })).rejects.toThrow(/no demonstrator for env "reach" \(there are: door-open, pick-place, push, carball-1v1\)/);
    await expect(recordDemos({ env: 'door-open', episodes: 0, out })).rejects.toThrow(/episodes must be a positive integer/);
    await expect(recordDemos({ env: 'door-open', episodes: 1, out, size: 4 })).rejects.toThrow(/size must be an integer from 8 to 2048/);
    await expect(recordDemos({ env: 'door-open', episodes: 1, out, noise: -0.1 })).rejects.toThrow(/noise/);
    await expect(recordDemos({ env: 'carball-1v1', episodes: 1, out, noise: 0.1 })).rejects.toThrow(/manipulation demonstrators only/);
    await expect(recordDemos({ env: 'door-open', episodes: 1, out, maxSteps: 0 })).rejects.toThrow(/maxSteps/);
    await expect(recordDemos({ env: 'door-open', episodes: 1, out, video: 'avi' as never })).rejects.toThrow(/video must be/);
    expect(existsSync(out)).toBe(false);
  });

  it('onlySuccessful skips failed seeds: a 1-step door-open never succeeds, so asking for one fails clearly', async () => {
    await expect(recordDemos({ env: 'door-open', episodes: 1, out: join(fresh(), 'x'), size: 8, maxSteps: 1, onlySuccessful: true })).rejects.toThrow(/only 0 of 20 door-open episodes succeeded \(seeds 0–19\)/);
  });
});

describe('readDemos: your own frames', () => {
  it('reads demo folders of PNGs (directly or in frames/), in natural order, with optional states.jsonl phases', () => {
    const dir = fresh();
    // Natural order: 1, 2, 10 (not 1, 10, 2); files that are not PNG are ignored.
    writeFrames(join(dir, 'b-demo'), ['1.png', '10.png', '2.png'], 6, 4, [1, 10, 2]);
    writeFileSync(join(dir, 'b-demo', 'notes.txt'), 'not a frame');
    writeFrames(join(dir, 'a-demo', 'frames'), ['000000.png', '000001.png'], 6, 4, [50, 51]);
    writeFileSync(join(dir, 'a-demo', 'states.jsonl'), '{"step":0,"phase":0}\n{"step":1,"phase":1}\n');
    writeFrames(join(dir, '.hidden'), ['0.png'], 9, 9);
    const demos = readDemos(dir);
    expect(demos.env).toBeNull();
    expect([demos.width, demos.height]).toEqual([6, 4]);
    expect(demos.episodes.map((e) => e.name)).toEqual(['a-demo', 'b-demo']);
    const [a, b] = demos.episodes;
    expect(a!.count).toBe(2);
    expect(a!.phases).toEqual([0, 1]);
    expect([firstValue(a!.frames, 0), firstValue(a!.frames, 1)]).toEqual([50, 51]);
    expect(b!.count).toBe(3);
    expect(b!.phases).toBeUndefined();
    expect(b!.frames.length).toBe(3 * 6 * 4 * 3);
    expect([0, 1, 2].map((k) => firstValue(b!.frames, k))).toEqual([1, 2, 10]);
    // Pixels as written: (k, 2k, 255 − k).
    expect(Array.from(b!.frames.subarray(0, 3))).toEqual([1, 2, 254]);
  });

  it('reads a single demo folder given directly, and states without phases', () => {
    const dir = join(fresh(), 'solo');
    writeFrames(join(dir, 'frames'), ['a.png', 'b.png']);
    writeFileSync(join(dir, 'states.jsonl'), '{"x":1}\n\n{"x":2}\n');
    const demos = readDemos(dir);
    expect(demos.episodes).toHaveLength(1);
    expect(demos.episodes[0]).toMatchObject({ name: 'solo', count: 2, states: [{ x: 1 }, { x: 2 }] });
    expect(demos.episodes[0]!.phases).toBeUndefined();
    const flat = join(fresh(), 'flat');
    writeFrames(flat, ['0.png', '1.png', '2.png']);
    expect(readDemos(flat).episodes[0]).toMatchObject({ name: 'flat', count: 3 });
  });

  it('reads a directory of recordings with one env, prefixing the demo names', () => {
    const dir = fresh();
    for (const rec of ['r1', 'r2']) {
      writeFrames(join(dir, rec, 'demo-000', 'frames'), ['000000.png', '000001.png']);
      writeFileSync(join(dir, rec, 'demos.json'), JSON.stringify(manifest('door-open', [{ name: 'demo-000', frames: 2 }])));
    }
    const demos = readDemos(dir);
    expect(demos.env).toBe('door-open');
    expect(demos.episodes.map((e) => [e.name, e.count, e.success, e.seed])).toEqual([
      ['r1/demo-000', 2, true, 0],
      ['r2/demo-000', 2, true, 0],
    ]);
  });
});

describe('readDemos: bad input names the file', () => {
  it('a missing directory, a file, an empty directory', () => {
    const missing = join(root, 'nope');
    expectDemoError(() => readDemos(missing), new RegExp(`demo directory ${missing} does not exist`));
    const file = join(fresh(), 'file.png');
    writeFileSync(file, 'x');
    expectDemoError(() => readDemos(file), /is not a directory of demos/);
    const empty = fresh();
    expectDemoError(() => readDemos(empty), /holds no demos/);
  });

  it('a demo with no frames (empty, or images other than PNG)', () => {
    const dir = fresh();
    writeFrames(join(dir, 'ok'), ['0.png']);
    mkdirSync(join(dir, 'empty'));
    expectDemoError(() => readDemos(dir), new RegExp(`demo ${join(dir, 'empty')} has no frames`));
    rmSync(join(dir, 'empty'), { recursive: true });
    mkdirSync(join(dir, 'jpegs'));
    writeFileSync(join(dir, 'jpegs', '0.jpg'), 'x');
    expectDemoError(() => readDemos(dir), /jpegs has no frames.*found 1 other images such as 0\.jpg; only PNG frames are read/);
  });

  it('frames of different sizes within a demo and across demos', () => {
    const within = fresh();
    writeFrames(join(within, 'd'), ['0.png', '1.png']);
    writeFrames(join(within, 'd'), ['2.png'], 8, 4);
    expectDemoError(() => readDemos(within), new RegExp(`frame ${join(within, 'd', '2.png')} is 8×4, but ${join(within, 'd', '0.png')} is 6×4`));
    const across = fresh();
    writeFrames(join(across, 'a'), ['0.png']);
    writeFrames(join(across, 'b'), ['0.png'], 6, 5);
    expectDemoError(() => readDemos(across), new RegExp(`frame ${join(across, 'b', '0.png')} is 6×5, but ${join(across, 'a', '0.png')} is 6×4: all demo frames must have one size`));
  });

  it('demos of different envs', () => {
    const dir = fresh();
    for (const [rec, env] of [['r1', 'door-open'], ['r2', 'pick-place']] as const) {
      writeFrames(join(dir, rec, 'demo-000'), ['0.png']);
      writeFileSync(join(dir, rec, 'demos.json'), JSON.stringify(manifest(env, [{ name: 'demo-000', frames: 1 }])));
    }
    expectDemoError(() => readDemos(dir), new RegExp(`demos of different envs: ${join(dir, 'r1', 'demos.json')} records door-open, ${join(dir, 'r2', 'demos.json')} records pick-place`));
  });

  it('unreadable or corrupt PNGs', () => {
    const dir = fresh();
    writeFrames(join(dir, 'd'), ['0.png']);
    writeFileSync(join(dir, 'd', '1.png'), 'this is not a png');
    expectDemoError(() => readDemos(dir), new RegExp(`frame ${join(dir, 'd', '1.png')} is not a readable PNG`));
    const cut = encodePng(frame(3), 6, 4);
    writeFileSync(join(dir, 'd', '1.png'), cut.subarray(0, cut.length - 20));
    expectDemoError(() => readDemos(dir), new RegExp(`frame ${join(dir, 'd', '1.png')} is not a readable PNG`));
  });

  it('a corrupt manifest', () => {
    const dir = fresh();
    writeFrames(join(dir, 'demo-000', 'frames'), ['0.png', '1.png']);
    const path = join(dir, 'demos.json');
    const cases: [string, RegExp][] = [
      ['{ not json', /demos\.json is not a readable demo manifest/],
      ['[]', /demos\.json is not a demo manifest: expected a JSON object/],
      [JSON.stringify({ ...manifest('door-open', [{ name: 'demo-000', frames: 2 }]), version: 99 }), /version 99 is newer/],
      [JSON.stringify({ ...manifest('door-open', [{ name: 'demo-000', frames: 2 }]), width: 'wide' }), /width must be a positive integer, got "wide"/],
      [JSON.stringify(manifest('door-open', [])), /episodes must be a non-empty array/],
      [JSON.stringify(manifest('door-open', [{ name: '../up', frames: 2 }])), /episodes\[0\]\.name must be a folder name/],
      [JSON.stringify(manifest('door-open', [{ name: 'demo-001', frames: 2 }])), new RegExp(`demo folder ${join(dir, 'demo-001')} is missing`)],
      [JSON.stringify(manifest('door-open', [{ name: 'demo-000', frames: 3 }])), /has 2 frames; its manifest says 3/],
      [JSON.stringify(manifest('door-open', [{ name: 'demo-000', frames: 2 }], 7, 4)), /says 7×4 frames, but .*0\.png is 6×4/],
    ];
    for (const [text, pattern] of cases) {
      writeFileSync(path, text);
      expectDemoError(() => readDemos(dir), pattern);
    }
    writeFileSync(path, JSON.stringify(manifest('door-open', [{ name: 'demo-000', frames: 2 }])));
    expect(readDemos(dir).episodes[0]!.count).toBe(2);
  });

  it('a corrupt states.jsonl', () => {
    const dir = fresh();
    writeFrames(join(dir, 'd'), ['0.png', '1.png']);
    const path = join(dir, 'd', 'states.jsonl');
    writeFileSync(path, '{"phase":0}\n{"phase":1');
    expectDemoError(() => readDemos(dir), new RegExp(`${path}:2 is not valid JSON`));
    writeFileSync(path, '{"phase":0}\n[1]\n');
    expectDemoError(() => readDemos(dir), new RegExp(`${path}:2 must be a JSON object`));
    writeFileSync(path, '{"phase":0}\n{"phase":-1}\n');
    expectDemoError(() => readDemos(dir), new RegExp(`${path}:2: phase must be a non-negative integer, got -1`));
    writeFileSync(path, '{"phase":0}\n');
    expectDemoError(() => readDemos(dir), new RegExp(`${path} has 1 states for 2 frames`));
  });
});
