/**
 * `rewardlab bench viewer`: how fast the replay viewer opens and plays a long carball replay in
 * headless Chromium (Debian's `/usr/bin/chromium`, software WebGL2 through SwiftShader, 1280×720).
 *
 * The replay is recorded the way training records one: the carball 2v2 env with the `lucy` reward
 * (so every reward component is logged), four ball chasers, a 5-minute episode at 15 Hz, recorded by
 * the runs' ReplayRecorder into the sim's replay format; a ball rolled into a goal every minute gives
 * the timeline goals. The built viewer (`viewer/dist`) and the file are served over HTTP and opened
 * with a `#src=` deep link.
 *
 * loadMs: navigation start → the first frame of the replay drawn (page load, download, decode, scene,
 * plots). fps: frames drawn per second while playing at 1×, after a warm-up second.
 */
import type { Command } from 'commander';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { ballChaser, makeEnv, type AnyEnv, type CarballEnv, type CarballState } from '@rewardlab/sim';
import { withReward } from '@rewardlab/rewards';
import { CHROMIUM_ARGS, DEFAULT_CHROMIUM_PATH } from '@rewardlab/render';
import { ReplayRecorder } from '../runs/replay-recorder';
import { CliError, emitResult } from './output';
import { positiveInt } from './parse';

export const CHROMIUM_PATH = DEFAULT_CHROMIUM_PATH;

export interface ViewerBenchOptions {
  /** Episode length in env seconds (15 steps per second). */
  episodeSeconds?: number;
  /** Wall seconds of playback timed for fps. */
  seconds?: number;
  width?: number;
  height?: number;
  viewerDir?: string;
  seed?: number;
}

export interface ViewerBenchResult {
  loadMs: number;
  fps: number;
  frames: number;
  hz: number;
  replayBytes: number;
  components: number;
  width: number;
  height: number;
  renderer: string;
  antialias: boolean;
  recordSeconds: number;
}

/** Records the bench replay: returns the file's bytes. */
export async function recordBenchReplay(episodeSeconds: number, seed: number): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'rewardlab-bench-viewer-'));
  try {
    const base = await makeEnv<AnyEnv>('carball-2v2', { terminateOnGoal: false, noTouchTimeoutSeconds: 0, timeoutSeconds: episodeSeconds });
    const carball = base as unknown as CarballEnv;
    const env = ReplayRecorder.wrap(withReward(base, 'lucy'), { dir, every: 1, kind: 'bench', meta: () => ({ step: 0, seed, reward: 'lucy' }) });
    await env.reset({ seed });
    const stepsPerMinute = 60 * 15;
    for (let step = 1; ; step++) {
      let state: CarballState = carball.getState();
      if (step % stepsPerMinute === stepsPerMinute / 2) {
        // Alternate goals: odd minutes blue scores (+y), even minutes orange (−y).
        const towardsY = Math.floor(step / stepsPerMinute) % 2 === 0 ? 1 : -1;
        carball.setState({ ...state, ball: { pos: [0, towardsY * 4700, 93.15], vel: [0, towardsY * 2000, 0], angVel: [0, 0, 0] } });
        state = carball.getState();
      }
      const r = await env.step(state.cars.map((car) => ballChaser(state, car.id)));
      if (r.terminated || r.truncated) break;
    }
    env.close();
    const file = readdirSync(dir).find((f) => f.endsWith('.rlr'));
    if (!file) throw new CliError('bench viewer: the recorder wrote no replay');
    return new Uint8Array(readFileSync(join(dir, file)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

export async function benchViewer(options: ViewerBenchOptions = {}): Promise<ViewerBenchResult> {
  const viewerDir = resolve(options.viewerDir ?? resolve(__dirname, '..', '..', '..', 'viewer', 'dist'));
  if (!existsSync(join(viewerDir, 'index.html'))) throw new CliError(`bench viewer: no built viewer at ${viewerDir} (run npm run build)`);
  if (!existsSync(CHROMIUM_PATH)) throw new CliError(`bench viewer: ${CHROMIUM_PATH} is missing (run .ci/install-chromium)`);
  const width = options.width ?? 1280;
  const height = options.height ?? 720;
  const seconds = options.seconds ?? 5;
  process.stderr.write('bench viewer: recording a 2v2 carball replay…\n');
  const t0 = performance.now();
  const replay = await recordBenchReplay(options.episodeSeconds ?? 300, options.seed ?? 0);
  const recordSeconds = (performance.now() - t0) / 1000;

  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path === '/bench.rlr') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': replay.length });
      res.end(replay);
      return;
    }
    const file = normalize(join(viewerDir, path === '/' ? 'index.html' : path));
    if (!file.startsWith(viewerDir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width, height } });
    process.stderr.write(`bench viewer: opening ${replay.length} bytes in Chromium at ${width}×${height}…\n`);
    await page.goto(`http://127.0.0.1:${port}/#src=/bench.rlr`);
    // The page's probe (viewer/src/main.ts): loadMs is performance.now() at the first drawn frame.
    await page.waitForFunction(() => (globalThis as unknown as { rewardlab?: { loadMs: number | null; error: string | null } }).rewardlab?.loadMs != null || (globalThis as unknown as { rewardlab?: { error: string | null } }).rewardlab?.error != null, undefined, { timeout: 60_000 });
    const probe = await page.evaluate(() => {
      const p = (globalThis as unknown as { rewardlab: { loadMs: number; error: string | null; frameCount(): number; hz(): number; components(): number; renderer: string; antialias: boolean } }).rewardlab;
      return { loadMs: p.loadMs, error: p.error, frames: p.frameCount(), hz: p.hz(), components: p.components(), renderer: p.renderer, antialias: p.antialias };
    });
    if (probe.error) throw new CliError(`bench viewer: the viewer could not open the replay: ${probe.error}`);
    process.stderr.write(`bench viewer: interactive after ${Math.round(probe.loadMs)} ms; timing ${seconds} s of playback…\n`);
    const fps = await page.evaluate(async (timedSeconds: number) => {
      const p = (globalThis as unknown as { rewardlab: { framesRendered: number; play(speed?: number): void; pause(): void } }).rewardlab;
      p.play(1);
      await new Promise((done) => setTimeout(done, 1000));
      const frames0 = p.framesRendered;
      const t = performance.now();
      await new Promise((done) => setTimeout(done, timedSeconds * 1000));
      const fps = ((p.framesRendered - frames0) * 1000) / (performance.now() - t);
      p.pause();
      return fps;
    }, seconds);
    return {
      loadMs: Math.round(probe.loadMs),
      fps: Math.round(fps * 10) / 10,
      frames: probe.frames,
      hz: probe.hz,
      replayBytes: replay.length,
      components: probe.components,
      width,
      height,
      renderer: probe.renderer,
      antialias: probe.antialias,
      recordSeconds: Math.round(recordSeconds * 10) / 10,
    };
  } finally {
    await browser.close();
    await new Promise<void>((done) => server.close(() => done()));
  }
}

export function registerViewerBench(bench: Command): void {
  bench
    .command('viewer')
    .description('replay viewer in headless Chromium: ms until a 5-minute 2v2 carball replay is interactive, and frames per second while it plays')
    .option('--episode-seconds <s>', 'length of the recorded episode (env seconds at 15 Hz)', positiveInt, 300)
    .option('--seconds <s>', 'wall seconds of playback to time', positiveInt, 5)
    .option('--width <px>', 'viewport width', positiveInt, 1280)
    .option('--height <px>', 'viewport height', positiveInt, 720)
    .option('--viewer <dir>', 'the built viewer (default: viewer/dist)')
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { episodeSeconds: number; seconds: number; width: number; height: number; viewer?: string; json?: boolean }) => {
      const result = await benchViewer({ episodeSeconds: opts.episodeSeconds, seconds: opts.seconds, width: opts.width, height: opts.height, ...(opts.viewer ? { viewerDir: opts.viewer } : {}) });
      emitResult(result, opts, (r: ViewerBenchResult) => `viewer: interactive in ${r.loadMs} ms, ${r.fps} fps at ${r.width}×${r.height} (${r.frames} frames, ${r.components} reward components, ${r.renderer}${r.antialias ? ', antialiased' : ''})`);
    });
}
