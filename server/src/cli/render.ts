/**
 * `rewardlab render`: episodes of an env, played by a saved policy (or random actions), drawn by the
 * frame renderer into PNG frames and one video per episode, for sharing what an agent does.
 * `rewardlab bench render`: the renderer's throughput over batch sizes.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { actionWidth, evaluationEnvOptions, loadPolicy, sampleActions, selectBackend, type BackendPreference } from '@rewardlab/agents';
import { ballChaser, makeEnv, Rng, sampleSpace, RescaleAction, VecEnv, type AnyEnv, type CarballEnv, type CarballState } from '@rewardlab/sim';
import { encodeVideo, findFfmpeg, frameOf, FrameRenderer, framesOfStates, sceneSourceOf, VIDEO_FORMATS, writePng, type RenderFrame, type VideoFormat } from '@rewardlab/render';
import { CliError, emitResult } from './output';
import { backendOption, nonNegativeInt, positiveInt } from './parse';

function sizeOption(value: string): number {
  const n = positiveInt(value);
  if (n < 8 || n > 2048) throw new InvalidArgumentError(`expected a frame side from 8 to 2048 pixels, got ${n}`);
  return n;
}

function videoOption(value: string): VideoFormat | 'none' {
  if (value === 'none' || (VIDEO_FORMATS as readonly string[]).includes(value)) return value as VideoFormat | 'none';
  throw new InvalidArgumentError(`expected ${VIDEO_FORMATS.join(', ')} or none, got "${value}"`);
}

export interface RenderedEpisode {
  episode: number;
  frames: number;
  return: number;
  video: string | null;
  framesDir: string | null;
}

interface RenderOptions {
  env?: string;
  policy?: string;
  episodes: number;
  out: string;
  size?: number;
  width?: number;
  height?: number;
  camera?: string;
  fps?: number;
  video: VideoFormat | 'none';
  frames?: boolean;
  seed: number;
  maxSteps: number;
  stochastic?: boolean;
  backend: BackendPreference;
  json?: boolean;
}

/** Plays and records episodes; returns what was written. */
export async function renderEpisodes(opts: RenderOptions): Promise<{ env: string; width: number; height: number; camera: string | null; fps: number; policy: string | null; episodes: RenderedEpisode[]; renderer: string | null }> {
  const width = opts.width ?? opts.size ?? 448;
  const height = opts.height ?? opts.size ?? width;
  if (opts.video !== 'none' && !findFfmpeg()) throw new CliError("no ffmpeg to encode videos: install Debian's ffmpeg (apt-get install ffmpeg), or pass --video none --frames");
  const loaded = opts.policy ? await (async () => (await selectBackend(opts.backend), await loadPolicy(opts.policy!)))() : null;
  const envId = opts.env ?? loaded?.meta.envId;
  if (!envId) throw new CliError('render needs --env ID or --policy DIR');
  if (loaded && envId !== loaded.meta.envId) throw new CliError(`the policy in ${opts.policy} was trained on ${loaded.meta.envId}, not ${envId}`);
  let env = await makeEnv<AnyEnv>(envId, loaded ? evaluationEnvOptions(loaded.meta) : {});
  if (loaded?.meta.rescaleActions && env.actionSpace.kind === 'box') env = new RescaleAction(env) as unknown as AnyEnv;
  const source = sceneSourceOf(env);
  const scene = source.scene();
  const fps = opts.fps ?? source.hz;
  const renderer = new FrameRenderer();
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
  const vec = new VecEnv([env], { autoreset: 'next-step' });
  if (loaded && vec.obsSize !== loaded.meta.obsSize) throw new CliError(`the policy expects ${loaded.meta.obsSize} observations, ${envId} gives ${vec.obsSize}`);
  const rng = new Rng(opts.seed);
  const episodes: RenderedEpisode[] = [];
  try {
    const logStd = loaded ? await loaded.policy.logStdValues() : null;
    const buffers = loaded ? { actions: new Float32Array(vec.numSlots * actionWidth(loaded.policy.dist)), envActions: vec.createActionBuffer(), logProbs: new Float32Array(vec.numSlots) } : null;
    for (let e = 0; e < opts.episodes; e++) {
      let { obs } = await vec.reset({ seed: opts.seed + e });
      const frames: RenderFrame[] = [frameOf(source)];
      let episodeReturn = 0;
      for (let t = 0; t < opts.maxSteps; t++) {
        let actions: ArrayLike<number>;
        if (loaded && buffers) {
          const { head } = await loaded.policy.act(loaded.normalize(obs, vec.numSlots), vec.numSlots);
          sampleActions(loaded.policy.dist, head, logStd!, vec.numSlots, rng, buffers, !opts.stochastic);
          actions = buffers.envActions;
        } else actions = randomActions(env, vec, rng);
        const r = await vec.step(actions);
        obs = r.obs;
        frames.push(frameOf(source));
        const ended = r.info.episodes[0];
        if (ended) {
          episodeReturn = ended.return;
          break;
        }
        for (let s = 0; s < vec.numSlots; s++) episodeReturn += r.rewards[s]! / vec.numSlots;
      }
      const pixels = await renderer.renderFrames(scene, frames, { width, height, camera: opts.camera });
      const frameBytes = width * height * 3;
      const each = (k: number): Uint8Array => pixels.subarray(k * frameBytes, (k + 1) * frameBytes);
      const name = `episode-${String(e).padStart(3, '0')}`;
      let framesDir: string | null = null;
      if (opts.frames) {
        framesDir = join(out, name);
        mkdirSync(framesDir, { recursive: true });
        for (let k = 0; k < frames.length; k++) writePng(join(framesDir, `frame-${String(k).padStart(5, '0')}.png`), each(k), width, height);
      }
      let video: string | null = null;
      if (opts.video !== 'none') {
        video = join(out, `${name}.${opts.video}`);
        await encodeVideo(video, Array.from({ length: frames.length }, (_, k) => each(k)), { width, height, fps, format: opts.video });
      }
      episodes.push({ episode: e, frames: frames.length, return: episodeReturn, video, framesDir });
      process.stderr.write(`${name}: ${frames.length} frames${video ? ` → ${video}` : ''}\n`);
    }
    return { env: envId, width, height, camera: opts.camera ?? null, fps, policy: opts.policy ?? null, episodes, renderer: renderer.backend };
  } finally {
    loaded?.policy.dispose();
    await vec.close();
    await renderer.close();
  }
}

/** Without a policy: carball cars chase the ball (a random carball car mostly sits still); other envs act at random. */
function randomActions(env: AnyEnv, vec: VecEnv, rng: Rng): ArrayLike<number> {
  const carball = (env as unknown as { unwrapped?: AnyEnv }).unwrapped ?? env;
  if (env.id.startsWith('carball') && typeof (carball as CarballEnv).getState === 'function') {
    const state: CarballState = (carball as CarballEnv).getState();
    // The lookup table's 90 rows: the ball chaser's choice per car.
    return Int32Array.from(state.cars.map((car) => ballChaser(state, car.id)));
  }
  const out = vec.createActionBuffer();
  const a = sampleSpace(vec.singleActionSpace, rng);
  const flat = typeof a === 'number' ? [a] : Array.from(a as ArrayLike<number>);
  for (let s = 0; s < vec.numSlots; s++) out.set(flat, s * flat.length);
  return out;
}

export interface RenderBenchPoint {
  batch: number;
  framesPerSec: number;
  msPerBatch: number;
}

export interface RenderBenchResult extends RenderBenchPoint {
  env: string;
  width: number;
  height: number;
  camera: string | null;
  backend: string | null;
  curve: RenderBenchPoint[];
  /** Frames per page batch (bigger calls are drawn as several page batches in a pipeline). */
  framesPerPageBatch: number;
}

/** Times `render` calls of each batch size over distinct states of a played episode; reports the best batch and the whole curve. */
export async function benchRender(opts: { env: string; size: number; batches: number[]; seconds: number; camera?: string; seed: number; pageBatch: number }): Promise<RenderBenchResult> {
  const maxBatch = Math.max(...opts.batches);
  const env = await makeEnv<AnyEnv>(opts.env);
  await env.reset({ seed: opts.seed });
  const states: unknown[] = [];
  const carball = env as unknown as CarballEnv;
  const classic = (env as unknown as { unwrapped?: { state?: ArrayLike<number> } }).unwrapped ?? (env as unknown as { state?: ArrayLike<number> });
  const rng = new Rng(opts.seed);
  for (let i = 0; i < maxBatch; i++) {
    if (typeof carball.getState === 'function') {
      const s = carball.getState();
      states.push(s);
      const r = await env.step(s.cars.map((c) => ballChaser(s, c.id)) as never);
      if (r.terminated || r.truncated) await env.reset({ seed: opts.seed + i });
    } else {
      states.push(Array.from(classic.state ?? []));
      const r = await env.step(sampleSpace(env.actionSpace, rng) as never);
      if (r.terminated || r.truncated) await env.reset({ seed: opts.seed + i });
    }
  }
  env.close();
  const renderer = new FrameRenderer({ maxFramesPerBatch: opts.pageBatch });
  const size = { width: opts.size, height: opts.size, camera: opts.camera };
  try {
    const curve: RenderBenchPoint[] = [];
    for (const batch of opts.batches) {
      const { scene, frames } = framesOfStates(opts.env, states.slice(0, batch));
      await renderer.renderFrames(scene, frames, size);
      let n = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < opts.seconds * 1000 || n < 2) {
        await renderer.renderFrames(scene, frames, size);
        n++;
      }
      const ms = (performance.now() - t0) / n;
      curve.push({ batch, framesPerSec: (batch * 1000) / ms, msPerBatch: ms });
      process.stderr.write(`batch ${batch}: ${((batch * 1000) / ms).toFixed(0)} frames/s (${ms.toFixed(1)} ms per batch)\n`);
    }
    const best = curve.reduce((a, b) => (b.framesPerSec > a.framesPerSec ? b : a));
    return { env: opts.env, width: opts.size, height: opts.size, camera: opts.camera ?? null, ...best, backend: renderer.backend, curve, framesPerPageBatch: opts.pageBatch };
  } finally {
    await renderer.close();
  }
}

function batchList(value: string): number[] {
  const list = value.split(',').map((v) => positiveInt(v.trim()));
  if (list.some((b) => b > 4096)) throw new InvalidArgumentError('batch sizes above 4096 frames are not benchmarked');
  return list;
}

export function registerRenderCommand(program: Command): void {
  program
    .command('render')
    .description('play episodes (a saved policy, or random actions) and write their frames and a video per episode')
    .option('--env <id>', 'env id (default: the policy’s)')
    .option('--policy <dir>', 'a saved policy to act (default: random actions; carball cars chase the ball)')
    .option('--episodes <n>', 'episodes', positiveInt, 1)
    .requiredOption('--out <dir>', 'output directory')
    .option('--size <px>', 'square frames of this side', sizeOption)
    .option('--width <px>', 'frame width (default 448)', sizeOption)
    .option('--height <px>', 'frame height (default: the width)', sizeOption)
    .option('--camera <name>', 'a camera of the scene (carball: broadcast, top, behind-blue, behind-orange; manipulation: front, side, top; classic: side)')
    .option('--fps <n>', 'video frame rate (default: the env’s steps per second)', positiveInt)
    .option('--video <format>', `video format: ${VIDEO_FORMATS.join(', ')} or none`, videoOption, 'mp4' as VideoFormat | 'none')
    .option('--frames', 'also write every frame as a PNG')
    .option('--seed <n>', 'seed of the first episode (episode i uses seed + i)', nonNegativeInt, 0)
    .option('--max-steps <n>', 'stop an episode after this many steps', positiveInt, 10_000)
    .option('--stochastic', 'sample the policy’s actions instead of taking the most likely one')
    .option('--backend <name>', 'tfjs backend for the policy', backendOption, 'auto' as BackendPreference)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: RenderOptions) => {
      if (opts.video === 'none' && !opts.frames) throw new CliError('--video none without --frames would write nothing');
      const result = await renderEpisodes(opts);
      emitResult(result, opts, (r: typeof result) => r.episodes.map((e) => `episode ${e.episode}: ${e.frames} frames, return ${e.return.toFixed(2)}${e.video ? ` → ${e.video}` : ''}${e.framesDir ? ` (frames in ${e.framesDir})` : ''}`).join('\n'));
    });
}

export function registerRenderBench(bench: Command): void {
  bench
    .command('render')
    .description('frame renderer throughput: frames/s over batch sizes (RGB frames of env states, read back into Node)')
    .option('--env <id>', 'env id (carball-*, CartPole-*, Pendulum-*)', 'carball-2v2')
    .option('--size <px>', 'square frame side', sizeOption, 224)
    .option('--batch <n>', 'one batch size (default: the curve over --batches)', positiveInt)
    .option('--batches <list>', 'batch sizes for the curve', batchList, [1, 4, 16, 32, 64, 128, 256])
    .option('--page-batch <n>', 'frames drawn per page batch (bigger calls are pipelined)', positiveInt, 32)
    .option('--camera <name>', 'camera (default: the scene’s first)')
    .option('--seconds <s>', 'seconds timed per batch size', (v) => Number(v), 3)
    .option('--seed <n>', 'seed of the episode whose states are drawn', nonNegativeInt, 0)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { env: string; size: number; batch?: number; batches: number[]; pageBatch: number; camera?: string; seconds: number; seed: number; json?: boolean }) => {
      if (!(opts.seconds > 0)) throw new CliError(`--seconds must be positive, got ${opts.seconds}`);
      const result = await benchRender({ env: opts.env, size: opts.size, batches: opts.batch ? [opts.batch] : opts.batches, seconds: opts.seconds, camera: opts.camera, seed: opts.seed, pageBatch: opts.pageBatch });
      emitResult(result, opts, (r: RenderBenchResult) => `${r.env} at ${r.width}×${r.height}: ${r.framesPerSec.toFixed(0)} frames/s at batch ${r.batch} (${r.msPerBatch.toFixed(1)} ms per batch) on ${r.backend}`);
    });
}
