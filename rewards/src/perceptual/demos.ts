/**
 * Demonstrations for perceptual rewards (Sermanet, Xu & Levine 2016): recorded as rendered frames plus
 * the states behind them, and read back as frames (with ground-truth step labels where known).
 *
 * `recordDemos` plays a scripted demonstrator (sim's `door-open`, `pick-place` and `push` controllers;
 * for `carball-1v1`, a shot on goal: the blue car drives into a ball set up between it and orange's
 * goal, with the ball chaser aimed through the ball along the ball–goal line, orange standing still)
 * and captures one frame per state (the reset state, then after every step), renders each episode in
 * one call (the renderer cuts it into page batches), and writes:
 *
 *     OUT/demos.json                     manifest (DemoManifest)
 *     OUT/<name>/frames/000000.png …     one RGB PNG per state
 *     OUT/<name>/states.jsonl            one JSON object per frame: step, phase, task state
 *     OUT/<name>/video.mp4|webm          with `video` (needs ffmpeg)
 *
 * `readDemos` reads such a recording, a directory of recordings (subfolders with a demos.json each),
 * or demos of your own: a directory of demo subfolders each holding PNG frames (directly or in
 * `frames/`), in natural file-name order, optionally with a states.jsonl whose objects carry `phase`.
 * Anything that cannot be read is a `DemoError` naming the file.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  createCarballEnv,
  createManipulationEnv,
  ballChaser,
  nearestLookupAction,
  runDemonstration,
  yawQuat,
  CARBALL,
  GOAL_LINE_Y,
  Rng,
  SCRIPTED_PHASES,
  CONTROL_DT,
  TASKS,
  type CarballEnv,
  type CarballState,
  type ManipulationEnv,
  type ScriptedTask,
} from '@rewardlab/sim';
import { decodePng, encodePng, encodeVideo, findFfmpeg, frameOf, FrameRenderer, sceneSourceOf, MAX_FRAME_SIDE, MIN_FRAME_SIDE, VIDEO_FORMATS, type CameraOption, type RenderFrame, type VideoFormat } from '@rewardlab/render';

/** A demo recording or demo folder that cannot be made or read as asked; the message names the file or option. */
export class DemoError extends Error {
  override name = 'DemoError';
}

export const DEMO_FORMAT_VERSION = 1;
export const DEMO_MANIFEST = 'demos.json';
export const DEMO_STATES = 'states.jsonl';
/** The envs `recordDemos` has demonstrators for. */
export const DEMO_ENVS = ['door-open', 'pick-place', 'push', 'carball-1v1'] as const;
export type DemoEnv = (typeof DEMO_ENVS)[number];
/** Frame side (pixels) when `size` is not given. */
export const DEFAULT_DEMO_SIZE = 128;
/** Carball shot episodes end at the goal or after this many steps (15 per second). */
export const CARBALL_DEMO_STEPS = 90;
/** The phases of the carball shot: before the shooter's first touch of the ball, and after it. */
export const CARBALL_DEMO_PHASES: readonly string[] = ['approach', 'shot'];
/** The carball demos' default camera: straight down on orange's half (its goal at the top), where the shots happen. */
export const CARBALL_DEMO_CAMERA = { position: [0, 2100, 5600] as [number, number, number], target: [0, 2100, 0] as [number, number, number], fovDeg: 60, up: [0, 1, 0] as [number, number, number] };

export interface RecordDemosOptions {
  /** `door-open`, `pick-place`, `push` or `carball-1v1`. */
  env: string;
  /** How many episodes to write. */
  episodes: number;
  /** The output directory (made if missing; episode folders of the same names are replaced). */
  out: string;
  /** Episode i is played from seed `seed + i` (default 0); with `onlySuccessful`, the seeds of failures are skipped. */
  seed?: number;
  /** Frame width = height, pixels (default 128). */
  size?: number;
  /**
   * A camera of the env's scene by name (door-open: shoulder, front, side, top; pick-place / push: front,
   * side, top; carball: broadcast, top, behind-blue, behind-orange) or in full ({ position, target, fovDeg,
   * up? }); default the scene's first, for carball `CARBALL_DEMO_CAMERA`.
   */
  camera?: CameraOption;
  /** The renderer to draw with (default: a new one, closed at the end). */
  renderer?: FrameRenderer;
  /** Gaussian noise on the manipulation demonstrators' displacement actions (action units, 1 = 5 cm; default 0). */
  noise?: number;
  /** Also write `<name>/video.mp4` (true or 'mp4') or `video.webm` ('webm'); needs ffmpeg. */
  video?: boolean | VideoFormat;
  /** At most this many steps per episode (default: the env's episode length: 50, door-open 100, carball 90). */
  maxSteps?: number;
  /** Keep only episodes that succeed, trying further seeds (at most 10 × episodes + 10 tries). */
  onlySuccessful?: boolean;
}

export interface DemoManifestEpisode {
  /** The episode's folder under the recording. */
  name: string;
  /** Frames (= states: steps + 1). */
  frames: number;
  success: boolean;
  seed: number;
}

/** OUT/demos.json. */
export interface DemoManifest {
  version: number;
  env: string;
  width: number;
  height: number;
  /** The camera's name (or the camera in full). */
  camera: unknown;
  /** Frames per second of the env's steps (manipulation 25, carball 15). */
  fps: number;
  /** The names of the ground-truth phases (the `phase` of states.jsonl indexes them). */
  phaseNames?: string[];
  noise?: number;
  episodes: DemoManifestEpisode[];
}

export interface RecordDemosResult {
  dir: string;
  manifest: DemoManifest;
  /** Seeds tried, kept or not. */
  tried: number;
}

interface RecordedEpisode {
  seed: number;
  success: boolean;
  frames: RenderFrame[];
  states: Record<string, unknown>[];
  scene: ReturnType<ReturnType<typeof sceneSourceOf>['scene']>;
}

const round = (x: number): number => Math.round(x * 1e5) / 1e5;
const vec = (a: ArrayLike<number>, n = a.length): number[] => Array.from({ length: n }, (_, i) => round(a[i]!));

function checkRecordOptions(o: RecordDemosOptions): { env: DemoEnv; size: number; seed: number; noise: number; video: VideoFormat | null; maxSteps: number | undefined } {
  if (!o || typeof o !== 'object') throw new DemoError('recordDemos needs options { env, episodes, out }');
  if (!(DEMO_ENVS as readonly string[]).includes(o.env)) throw new DemoError(`recordDemos: no demonstrator for env ${JSON.stringify(o.env)} (there are: ${DEMO_ENVS.join(', ')})`);
  if (!(Number.isInteger(o.episodes) && o.episodes >= 1)) throw new DemoError(`recordDemos: episodes must be a positive integer, got ${JSON.stringify(o.episodes)}`);
  if (typeof o.out !== 'string' || o.out === '') throw new DemoError(`recordDemos: out must be a directory path, got ${JSON.stringify(o.out)}`);
  const size = o.size ?? DEFAULT_DEMO_SIZE;
  if (!(Number.isInteger(size) && size >= MIN_FRAME_SIDE && size <= MAX_FRAME_SIDE)) throw new DemoError(`recordDemos: size must be an integer from ${MIN_FRAME_SIDE} to ${MAX_FRAME_SIDE} pixels, got ${JSON.stringify(o.size)}`);
  const seed = o.seed ?? 0;
  if (!(Number.isSafeInteger(seed) && seed >= 0)) throw new DemoError(`recordDemos: seed must be a non-negative integer, got ${JSON.stringify(o.seed)}`);
  const noise = o.noise ?? 0;
  if (!(typeof noise === 'number' && Number.isFinite(noise) && noise >= 0)) throw new DemoError(`recordDemos: noise must be a finite number ≥ 0, got ${JSON.stringify(o.noise)}`);
  if (noise > 0 && o.env.startsWith('carball')) throw new DemoError('recordDemos: noise applies to the manipulation demonstrators only');
  if (o.maxSteps !== undefined && !(Number.isInteger(o.maxSteps) && o.maxSteps >= 1)) throw new DemoError(`recordDemos: maxSteps must be a positive integer, got ${JSON.stringify(o.maxSteps)}`);
  let video: VideoFormat | null = null;
  if (o.video === true) video = 'mp4';
  else if (typeof o.video === 'string') {
    if (!(VIDEO_FORMATS as readonly string[]).includes(o.video)) throw new DemoError(`recordDemos: video must be true, 'mp4' or 'webm', got ${JSON.stringify(o.video)}`);
    video = o.video;
  } else if (o.video !== undefined && o.video !== false) throw new DemoError(`recordDemos: video must be true, 'mp4' or 'webm', got ${JSON.stringify(o.video)}`);
  if (video && !findFfmpeg()) throw new DemoError('recordDemos: video needs ffmpeg (apt-get install ffmpeg, or set REWARDLAB_FFMPEG); record without video to write frames only');
  if (o.camera !== undefined && (typeof o.camera === 'string' ? o.camera === '' : !o.camera || typeof o.camera !== 'object')) throw new DemoError(`recordDemos: camera must be a camera name or { position, target, fovDeg }, got ${JSON.stringify(o.camera)}`);
  return { env: o.env as DemoEnv, size, seed, noise, video, maxSteps: o.maxSteps };
}

/** One manipulation episode: the scripted demonstrator from `seed`, a frame and a state row per state. */
function recordManipulation(env: ManipulationEnv, task: ScriptedTask, seed: number, noise: number, steps: number): RecordedEpisode {
  const source = sceneSourceOf(env);
  const frames: RenderFrame[] = [];
  const states: Record<string, unknown>[] = [];
  const w = env.world;
  const handle = new Float64Array(3);
  const result = runDemonstration(env, task, {
    seed,
    noise,
    steps,
    onState: (step, phase) => {
      frames.push(frameOf(source));
      const row: Record<string, unknown> = { step, phase, grip: vec(w.kin.gripPos), fingers: vec(w.finger) };
      if (task === 'door-open') {
        row.doorAngle = round(w.doorAngle);
        row.goalAngle = round(env.goal[0]!);
        row.handle = vec(w.handlePosition(handle));
      } else {
        row.object = vec(w.cubePos);
        row.goal = vec(env.goal);
      }
      row.success = env.isSuccess();
      states.push(row);
    },
  });
  return { seed, success: result.success, frames, states, scene: source.scene() };
}

/** A shot on goal for blue: the ball in orange's half, blue 1000–2500 uu behind it on the line from orange's goal, facing it; orange out of the way. */
function carballShotState(template: CarballState, rng: Rng): CarballState {
  const s = JSON.parse(JSON.stringify(template)) as CarballState;
  const bx = rng.uniform(-1200, 1200);
  const by = rng.uniform(1500, 3500);
  const back = Math.atan2(GOAL_LINE_Y - by, -bx) + Math.PI + rng.uniform(-0.15, 0.15);
  const d = rng.uniform(1000, 2500);
  const cx = bx + d * Math.cos(back);
  const cy = by + d * Math.sin(back);
  const yaw = Math.atan2(by - cy, bx - cx) + rng.uniform(-0.1, 0.1);
  const still = { vel: [0, 0, 0] as [number, number, number], angVel: [0, 0, 0] as [number, number, number], onGround: true, demolished: false, boost: 33 };
  s.tick = 0;
  s.score = [0, 0];
  s.ball = { pos: [bx, by, CARBALL.ball.restHeight], vel: [0, 0, 0], angVel: [0, 0, 0] };
  const side = rng.random() < 0.5 ? -1 : 1;
  s.cars = s.cars.map((car) =>
    car.team === 0
      ? { ...car, ...still, pos: [cx, cy, CARBALL.car.restHeight], quat: yawQuat(yaw) }
      : { ...car, ...still, pos: [side * 3200, rng.uniform(-3000, -1000), CARBALL.car.restHeight], quat: yawQuat(rng.uniform(-Math.PI, Math.PI)) },
  );
  return s;
}

/** The ball chaser aimed through the ball towards orange's goal: it drives at a point behind the ball on the goal line, closing in as it nears. */
function aimedChaser(state: CarballState, carId: number): number {
  const car = state.cars.find((c) => c.id === carId)!;
  const [bx, by, bz] = state.ball.pos;
  const ux = -bx;
  const uy = GOAL_LINE_Y - by;
  const un = Math.hypot(ux, uy) || 1;
  const off = Math.min(0.5 * Math.hypot(bx - car.pos[0], by - car.pos[1]), 600);
  return ballChaser({ ...state, ball: { ...state.ball, pos: [bx - (ux / un) * off, by - (uy / un) * off, bz] } }, carId);
}

function recordCarball(env: CarballEnv, template: CarballState, seed: number, steps: number): RecordedEpisode {
  env.reset({ seed, options: { state: carballShotState(template, new Rng(seed)) } });
  const source = sceneSourceOf(env);
  const idle = nearestLookupAction(new Float32Array(8));
  const frames: RenderFrame[] = [];
  const states: Record<string, unknown>[] = [];
  let touched = false;
  let scored = false;
  for (let step = 0; ; step++) {
    const s = env.getState();
    frames.push(frameOf(source));
    const blue = s.cars.find((c) => c.team === 0)!;
    states.push({ step, phase: touched ? 1 : 0, ball: vec(s.ball.pos), car: vec(blue.pos), touched, scored });
    if (scored || step >= steps) break;
    const r = env.step(s.cars.map((c) => (c.team === 0 ? aimedChaser(s, c.id) : idle)));
    const info = r.info as { agents?: { events: { touch: number } }[] };
    touched ||= (info.agents?.[0]?.events.touch ?? 0) > 0;
    scored = r.reward[0]! > 0;
    if ((r.terminated || r.truncated) && !scored) {
      // Ended without a goal (a timeout): the last state is still a frame.
      const last = env.getState();
      frames.push(frameOf(source));
      states.push({ step: step + 1, phase: touched ? 1 : 0, ball: vec(last.ball.pos), car: vec(last.cars.find((c) => c.team === 0)!.pos), touched, scored });
      break;
    }
  }
  return { seed, success: scored, frames, states, scene: source.scene() };
}

function pad(i: number, n: number): string {
  return String(i).padStart(Math.max(3, String(n - 1).length), '0');
}

/**
 * Records `episodes` demonstrations of `env` under `out` (see the module comment for the layout) and
 * returns the manifest it wrote. Episode k's frames are rendered while episode k + 1 is played.
 */
export async function recordDemos(options: RecordDemosOptions): Promise<RecordDemosResult> {
  const { env: envId, size, seed, noise, video, maxSteps } = checkRecordOptions(options);
  const renderer = options.renderer ?? new FrameRenderer();
  const own = options.renderer === undefined;
  const out = options.out;
  mkdirSync(out, { recursive: true });
  const carball = envId === 'carball-1v1';
  const task = carball ? null : (envId as ScriptedTask);
  const steps = maxSteps ?? (task ? TASKS[task].maxEpisodeSteps : CARBALL_DEMO_STEPS);
  const fps = carball ? CARBALL.ticksPerSecond / CARBALL.defaultActionRepeat : Math.round(1 / CONTROL_DT);
  const manip = task ? await createManipulationEnv(task) : null;
  const ball = carball ? await createCarballEnv({ teamSize: 1 }) : null;
  let template: CarballState | null = null;
  if (ball) {
    ball.reset({ seed: 0 });
    template = ball.getState();
  }
  const kept: DemoManifestEpisode[] = [];
  const maxTries = options.onlySuccessful ? 10 * options.episodes + 10 : options.episodes;
  let tried = 0;
  let pending: Promise<void> | null = null;
  const camera = options.camera ?? (carball ? CARBALL_DEMO_CAMERA : undefined);
  let cameraName: unknown = camera;
  try {
    while (kept.length < options.episodes && tried < maxTries) {
      const s = seed + tried++;
      const ep = manip ? recordManipulation(manip, task!, s, noise, steps) : recordCarball(ball!, template!, s, steps);
      if (options.onlySuccessful && !ep.success) continue;
      cameraName ??= Object.keys(ep.scene.cameras ?? {})[0] ?? 'default';
      const name = `demo-${pad(kept.length, options.episodes)}`;
      kept.push({ name, frames: ep.frames.length, success: ep.success, seed: s });
      const dir = join(out, name);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(join(dir, 'frames'), { recursive: true });
      writeFileSync(join(dir, DEMO_STATES), ep.states.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const job: Promise<void> = renderer.renderFrames(ep.scene, ep.frames, { width: size, height: size, camera }).then(async (rgb) => {
        const bytes = size * size * 3;
        const frames: Uint8Array[] = [];
        for (let k = 0; k < ep.frames.length; k++) {
          const frame = rgb.subarray(k * bytes, (k + 1) * bytes);
          frames.push(frame);
          writeFileSync(join(dir, 'frames', `${String(k).padStart(6, '0')}.png`), encodePng(frame, size, size));
        }
        if (video) await encodeVideo(join(dir, `video.${video}`), frames, { width: size, height: size, fps, format: video });
      });
      job.catch(() => undefined);
      if (pending) await pending;
      pending = job;
    }
    if (pending) await pending;
  } finally {
    manip?.close();
    ball?.close();
    if (own) await renderer.close();
  }
  if (kept.length < options.episodes) throw new DemoError(`recordDemos: only ${kept.length} of ${tried} ${envId} episodes succeeded (seeds ${seed}–${seed + tried - 1}); asked for ${options.episodes} successful ones`);
  const manifest: DemoManifest = {
    version: DEMO_FORMAT_VERSION,
    env: envId,
    width: size,
    height: size,
    camera: cameraName ?? 'default',
    fps,
    phaseNames: [...(task ? SCRIPTED_PHASES[task] : CARBALL_DEMO_PHASES)],
    ...(task ? { noise } : {}),
    episodes: kept,
  };
  writeFileSync(join(out, DEMO_MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
  return { dir: out, manifest, tried };
}

// ---------------------------------------------------------------------------------------------------
// Reading

export interface DemoEpisode {
  /** The demo's folder name (`recording/demo` for demos of a directory of recordings). */
  name: string;
  count: number;
  /** count × height × width × 3 RGB bytes, frame after frame, rows top to bottom. */
  frames: Uint8Array;
  /** Ground-truth phase per frame, when states.jsonl gives every frame a `phase`. */
  phases?: number[];
  /** The rows of states.jsonl, when there is one. */
  states?: Record<string, unknown>[];
  success?: boolean;
  seed?: number;
}

export interface DemoSet {
  /** The env of the demos, from their manifests; null for frames without one. */
  env: string | null;
  width: number;
  height: number;
  fps?: number;
  camera?: unknown;
  phaseNames?: string[];
  episodes: DemoEpisode[];
}

export interface ReadDemosOptions {
  /** Refuse demos whose manifest names another env. */
  env?: string;
}

const natural = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
const isPng = (f: string): boolean => f.toLowerCase().endsWith('.png');
const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};
const listDir = (p: string): string[] => readdirSync(p).filter((f) => !f.startsWith('.')).sort(natural.compare);

function readManifest(path: string): DemoManifest {
  let m: unknown;
  try {
    m = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DemoError(`${path} is not a readable demo manifest: ${(err as Error).message}`);
  }
  const bad = (why: string): never => {
    throw new DemoError(`${path} is not a demo manifest: ${why}`);
  };
  if (!m || typeof m !== 'object' || Array.isArray(m)) bad('expected a JSON object');
  const o = m as Record<string, unknown>;
  if (typeof o.version !== 'number') bad('version is missing');
  if ((o.version as number) > DEMO_FORMAT_VERSION) bad(`version ${o.version} is newer than this reader's ${DEMO_FORMAT_VERSION}`);
  if (typeof o.env !== 'string' || o.env === '') bad('env must be a non-empty string');
  for (const k of ['width', 'height'] as const) if (!(Number.isInteger(o[k]) && (o[k] as number) > 0)) bad(`${k} must be a positive integer, got ${JSON.stringify(o[k])}`);
  if (o.fps !== undefined && !(typeof o.fps === 'number' && o.fps > 0)) bad(`fps must be a positive number, got ${JSON.stringify(o.fps)}`);
  if (o.phaseNames !== undefined && !(Array.isArray(o.phaseNames) && o.phaseNames.every((x) => typeof x === 'string'))) bad('phaseNames must be an array of strings');
  if (!Array.isArray(o.episodes) || o.episodes.length === 0) bad('episodes must be a non-empty array');
  const names = new Set<string>();
  (o.episodes as unknown[]).forEach((e, i) => {
    if (!e || typeof e !== 'object') bad(`episodes[${i}] must be an object`);
    const ep = e as Record<string, unknown>;
    if (typeof ep.name !== 'string' || ep.name === '' || ep.name.includes('/') || ep.name.includes('\\') || ep.name.startsWith('.')) bad(`episodes[${i}].name must be a folder name, got ${JSON.stringify(ep.name)}`);
    if (names.has(ep.name as string)) bad(`episodes[${i}].name ${JSON.stringify(ep.name)} appears twice`);
    names.add(ep.name as string);
    if (ep.frames !== undefined && !(Number.isInteger(ep.frames) && (ep.frames as number) > 0)) bad(`episodes[${i}].frames must be a positive integer, got ${JSON.stringify(ep.frames)}`);
  });
  return o as unknown as DemoManifest;
}

/** The PNG frames of one demo folder: in `frames/` if there is one, else in the folder itself. */
function framePaths(dir: string): string[] {
  const framesDir = join(dir, 'frames');
  const from = isDir(framesDir) ? framesDir : dir;
  const files = listDir(from).filter((f) => !isDir(join(from, f)));
  const pngs = files.filter(isPng);
  if (pngs.length === 0) {
    const images = files.filter((f) => /\.(jpe?g|webp|gif|bmp)$/i.test(f));
    throw new DemoError(`demo ${dir} has no frames: no .png files in ${from}${images.length ? ` (found ${images.length} other images such as ${images[0]}; only PNG frames are read)` : ''}`);
  }
  return pngs.map((f) => join(from, f));
}

function readStates(path: string, count: number): Record<string, unknown>[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DemoError(`${path} cannot be read: ${(err as Error).message}`);
  }
  const rows: Record<string, unknown>[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (err) {
      throw new DemoError(`${path}:${i + 1} is not valid JSON: ${(err as Error).message}`);
    }
    if (!row || typeof row !== 'object' || Array.isArray(row)) throw new DemoError(`${path}:${i + 1} must be a JSON object, got ${line.slice(0, 60)}`);
    const phase = (row as Record<string, unknown>).phase;
    if (phase !== undefined && !(Number.isInteger(phase) && (phase as number) >= 0)) throw new DemoError(`${path}:${i + 1}: phase must be a non-negative integer, got ${JSON.stringify(phase)}`);
    rows.push(row as Record<string, unknown>);
  });
  if (rows.length !== count) throw new DemoError(`${path} has ${rows.length} states for ${count} frames (one JSON line per frame)`);
  return rows;
}

interface Size {
  width: number;
  height: number;
  /** The file that set it (for messages). */
  from: string;
}

function readFrames(paths: readonly string[], size: { current: Size | null }): Uint8Array {
  let out: Uint8Array | null = null;
  paths.forEach((path, k) => {
    let png: { rgb: Uint8Array; width: number; height: number };
    try {
      png = decodePng(readFileSync(path));
    } catch (err) {
      throw new DemoError(`frame ${path} is not a readable PNG: ${(err as Error).message}`);
    }
    const s = size.current;
    if (s === null) size.current = { width: png.width, height: png.height, from: path };
    else if (png.width !== s.width || png.height !== s.height) throw new DemoError(`frame ${path} is ${png.width}×${png.height}, but ${s.from} is ${s.width}×${s.height}: all demo frames must have one size`);
    out ??= new Uint8Array(paths.length * png.rgb.length);
    out.set(png.rgb, k * png.rgb.length);
  });
  return out!;
}

function readDemoFolder(dir: string, name: string, size: { current: Size | null }, expectFrames?: number): DemoEpisode {
  if (!isDir(dir)) throw new DemoError(`demo folder ${dir} is missing`);
  const paths = framePaths(dir);
  if (expectFrames !== undefined && paths.length !== expectFrames) throw new DemoError(`demo ${dir} has ${paths.length} frames; its manifest says ${expectFrames}`);
  const frames = readFrames(paths, size);
  const episode: DemoEpisode = { name, count: paths.length, frames };
  const statesPath = join(dir, DEMO_STATES);
  if (existsSync(statesPath)) {
    const states = readStates(statesPath, paths.length);
    episode.states = states;
    if (states.every((r) => r.phase !== undefined)) episode.phases = states.map((r) => r.phase as number);
  }
  return episode;
}

function readRecording(dir: string, prefix: string, size: { current: Size | null }): { manifest: DemoManifest; path: string; episodes: DemoEpisode[] } {
  const path = join(dir, DEMO_MANIFEST);
  const manifest = readManifest(path);
  const episodes = manifest.episodes.map((e) => {
    const ep = readDemoFolder(join(dir, e.name), prefix + e.name, size, e.frames);
    if (typeof e.success === 'boolean') ep.success = e.success;
    if (typeof e.seed === 'number') ep.seed = e.seed;
    return ep;
  });
  const s = size.current!;
  if (s.width !== manifest.width || s.height !== manifest.height) throw new DemoError(`${path} says ${manifest.width}×${manifest.height} frames, but ${s.from} is ${s.width}×${s.height}`);
  return { manifest, path, episodes };
}

/**
 * Reads demos from `dir`: a recording of `recordDemos` (dir/demos.json), a directory of recordings, or
 * a directory of demo folders of PNG frames (optionally with states.jsonl) without any manifest, whose
 * env is then unknown (null). Demos come in manifest order, else in natural order of folder names;
 * frames in natural order of file names (000000.png …, or 1.png, 2.png, 10.png).
 */
export function readDemos(dir: string, options: ReadDemosOptions = {}): DemoSet {
  if (typeof dir !== 'string' || dir === '') throw new DemoError(`readDemos needs a directory path, got ${JSON.stringify(dir)}`);
  if (!existsSync(dir)) throw new DemoError(`demo directory ${dir} does not exist`);
  if (!isDir(dir)) throw new DemoError(`${dir} is not a directory of demos`);
  const size: { current: Size | null } = { current: null };
  const recordings: { manifest: DemoManifest; path: string }[] = [];
  const episodes: DemoEpisode[] = [];
  if (existsSync(join(dir, DEMO_MANIFEST))) {
    const r = readRecording(dir, '', size);
    recordings.push(r);
    episodes.push(...r.episodes);
  } else {
    const entries = listDir(dir);
    const subdirs = entries.filter((f) => isDir(join(dir, f)));
    if (subdirs.length === 0 || (subdirs.length === 1 && subdirs[0] === 'frames')) {
      // One demo: its frames lie in dir itself (or in dir/frames).
      if (subdirs.length === 1 || entries.some(isPng)) episodes.push(readDemoFolder(dir, basename(dir), size));
      else throw new DemoError(`demo directory ${dir} holds no demos: expected a ${DEMO_MANIFEST}, or demo subfolders of PNG frames`);
    } else {
      for (const sub of subdirs) {
        const path = join(dir, sub);
        if (existsSync(join(path, DEMO_MANIFEST))) {
          const r = readRecording(path, `${sub}/`, size);
          recordings.push(r);
          episodes.push(...r.episodes);
        } else {
          episodes.push(readDemoFolder(path, sub, size));
        }
      }
    }
  }
  const first = recordings[0];
  for (const r of recordings.slice(1)) {
    if (r.manifest.env !== first!.manifest.env) throw new DemoError(`demos of different envs: ${first!.path} records ${first!.manifest.env}, ${r.path} records ${r.manifest.env}`);
  }
  const env = first?.manifest.env ?? null;
  if (options.env !== undefined && env !== null && env !== options.env) throw new DemoError(`${first!.path} records ${env} demos, not ${options.env}`);
  const s = size.current!;
  const set: DemoSet = { env, width: s.width, height: s.height, episodes };
  if (first) {
    if (first.manifest.fps !== undefined) set.fps = first.manifest.fps;
    if (first.manifest.camera !== undefined) set.camera = first.manifest.camera;
    if (first.manifest.phaseNames) set.phaseNames = [...first.manifest.phaseNames];
  }
  return set;
}
