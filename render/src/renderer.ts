/**
 * `FrameRenderer`: batched RGB frames of replay scenes, drawn by the viewer's own three.js scene code
 * in headless Chromium (Debian's `/usr/bin/chromium`, software WebGL2 through SwiftShader), driven
 * from Node with playwright-core.
 *
 * One render call is one batch: the page draws every frame of it into a grid of viewports on one
 * canvas and reads them all back with a single `readPixels`; scene descriptions go to the page once
 * and are cached there; frames come back as binary WebSocket messages (no base64, no JSON of pixels).
 *
 * Failure is contained: a browser that is missing gives a `RendererUnavailableError`; one that dies or
 * hangs mid-batch fails that batch with a `RendererCrashedError`, and the next call launches a new
 * browser, re-sends the scenes and carries on. Bad input (sizes, cameras, frames that do not fit the
 * scene) is refused with a `RenderInputError` before anything is sent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { TRANSFORM_SIZE, type AnyEnv, type ReplayScene, type SceneCamera } from '@rewardlab/sim';
import { resolveCamera, type CameraOption } from './camera';
import { RendererCrashedError, RendererUnavailableError, RenderInputError } from './errors';
import { frameOf, framesOfStates, sceneSourceOf } from './frames';

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';
/** Chromium flags: headless, no sandbox (containers, root), no network chatter, WebGL2 through SwiftShader. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-dev-shm-usage',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];
/** Frame sides the renderer accepts (pixels). */
export const MIN_FRAME_SIDE = 8;
export const MAX_FRAME_SIDE = 2048;

/** One frame of a scene: its dynamic bodies' transforms (bodies × 7) and its signals. */
export interface RenderFrame {
  transforms: ArrayLike<number>;
  signals?: ArrayLike<number>;
}

export interface RenderSize {
  width: number;
  height: number;
  /** A name from the scene's cameras (default its first), or a camera given in full. */
  camera?: CameraOption;
}

export interface FrameRendererOptions {
  /** Chromium to drive (default `REWARDLAB_CHROMIUM`, else `/usr/bin/chromium`). */
  executablePath?: string;
  /** Most frames drawn per page batch; bigger calls are split (default 64). */
  maxFramesPerBatch?: number;
  /** A batch that takes longer is treated as a dead browser (default 60 s). */
  batchTimeoutMs?: number;
  /** Launch and page-load limit (default 60 s). */
  launchTimeoutMs?: number;
}

interface Pending {
  resolve: (data: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

interface Session {
  browser: Browser;
  page: Page;
  server: Server;
  wss: WebSocketServer;
  socket: WebSocket;
  /** Scenes (by the renderer's id) the page holds. */
  scenes: Set<number>;
  dead: Error | null;
  glRenderer: string;
  maxSize: number;
}

const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };

/** The built page (`vite build` of src/page): dist/page, next to this module once compiled (or beside src/ when run from source). */
function pageDir(): string {
  const dir = [join(__dirname, 'page'), join(__dirname, '..', 'dist', 'page')].find((d) => existsSync(join(d, 'assets')));
  if (!dir) throw new RendererUnavailableError(`the renderer page is not built (${join(__dirname, '..', 'dist', 'page')} is missing): run npm run build`);
  return dir;
}

export class FrameRenderer {
  private session: Session | null = null;
  private starting: Promise<Session> | null = null;
  private readonly sceneIds = new Map<string, number>();
  private readonly sceneList: ReplayScene[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Browsers launched after the first (after a crash). */
  restarts = 0;
  private launches = 0;
  readonly executablePath: string;
  readonly maxFramesPerBatch: number;
  private readonly batchTimeoutMs: number;
  private readonly launchTimeoutMs: number;
  compress = process.env.REWARDLAB_RENDER_COMPRESS !== '0';

  constructor(options: FrameRendererOptions = {}) {
    this.executablePath = options.executablePath ?? process.env.REWARDLAB_CHROMIUM ?? DEFAULT_CHROMIUM_PATH;
    this.maxFramesPerBatch = options.maxFramesPerBatch ?? 64;
    if (!(Number.isInteger(this.maxFramesPerBatch) && this.maxFramesPerBatch >= 1)) throw new RenderInputError(`maxFramesPerBatch must be a positive integer, got ${options.maxFramesPerBatch}`);
    this.batchTimeoutMs = options.batchTimeoutMs ?? 60_000;
    this.launchTimeoutMs = options.launchTimeoutMs ?? 60_000;
  }

  /** What draws the frames (`webgl2 in chromium: <GL renderer string>`), once started. */
  get backend(): string | null {
    return this.session ? `webgl2/chromium (${this.session.glRenderer})` : null;
  }

  /** Starts the browser now (render calls start it when needed). */
  async start(): Promise<void> {
    await this.ensureSession();
  }

  /**
   * Renders `frames` of `scene` as one Uint8Array: frames.length × height × width × 3 RGB bytes, frame
   * after frame, rows top to bottom. The same frame renders the same pixels on the same machine.
   */
  async renderFrames(scene: ReplayScene, frames: readonly RenderFrame[], size: RenderSize): Promise<Uint8Array> {
    const { width, height } = checkSize(size);
    const camera = resolveCamera(scene, size.camera);
    const packed = packFrames(scene, frames);
    const run = async (): Promise<Uint8Array> => {
      if (this.closed) throw new RendererUnavailableError('the renderer is closed');
      const out = new Uint8Array(frames.length * width * height * 3);
      const frameBytes = width * height * 3;
      const maxFrames = Math.max(1, Math.min(this.maxFramesPerBatch, this.framesPerCanvas(width, height)));
      const session = await this.ensureSession();
      const sceneId = await this.ensureScene(session, scene);
      // Every page batch of the call is sent at once: the page draws batch k + 1 while batch k is being
      // compressed and carried to Node.
      const batches: Promise<void>[] = [];
      for (let start = 0; start < frames.length; start += maxFrames) {
        const count = Math.min(maxFrames, frames.length - start);
        batches.push(this.request(session, sceneId, count, width, height, camera, packed, start).then((pixels) => out.set(pixels.subarray(4, 4 + count * frameBytes), start * frameBytes)));
      }
      await Promise.all(batches);
      return out;
    };
    // One batch in flight at a time: requests queue in call order.
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Renders env states (`framesOfStates`: carball state JSON, CartPole's and Pendulum's state arrays)
   * of env `options.env`: states.length × height × width × 3 RGB bytes.
   */
  async render(states: readonly unknown[], options: RenderSize & { env: string }): Promise<Uint8Array> {
    const { scene, frames } = framesOfStates(options.env, states);
    return this.renderFrames(scene, frames, options);
  }

  /** Renders the current state of each env instance (any built-in env, through wrappers), in order. */
  async renderEnvs(envs: readonly AnyEnv[], size: RenderSize): Promise<Uint8Array> {
    const frameBytes = checkSize(size).width * size.height * 3;
    const groups = new Map<string, { scene: ReplayScene; frames: RenderFrame[]; at: number[] }>();
    envs.forEach((env, i) => {
      const source = sceneSourceOf(env);
      const scene = source.scene();
      const key = JSON.stringify(scene);
      const g = groups.get(key) ?? { scene, frames: [], at: [] };
      g.frames.push(frameOf(source));
      g.at.push(i);
      groups.set(key, g);
    });
    const out = new Uint8Array(envs.length * frameBytes);
    for (const g of groups.values()) {
      const pixels = await this.renderFrames(g.scene, g.frames, size);
      g.at.forEach((i, k) => out.set(pixels.subarray(k * frameBytes, (k + 1) * frameBytes), i * frameBytes));
    }
    return out;
  }

  /** Closes the browser and the page's server; later calls fail. */
  async close(): Promise<void> {
    this.closed = true;
    const session = this.session ?? (this.starting ? await this.starting.catch(() => null) : null);
    this.session = null;
    if (session) await this.teardown(session, new RendererUnavailableError('the renderer was closed'));
  }

  private framesPerCanvas(width: number, height: number): number {
    const maxSize = this.session?.maxSize ?? 4096;
    return Math.floor(maxSize / width) * Math.floor(maxSize / height);
  }

  private async ensureSession(): Promise<Session> {
    if (this.session && !this.session.dead) return this.session;
    if (this.session?.dead) {
      const old = this.session;
      this.session = null;
      await this.teardown(old, old.dead!);
    }
    this.starting ??= this.launch().finally(() => (this.starting = null));
    this.session = await this.starting;
    return this.session;
  }

  private async launch(): Promise<Session> {
    if (!existsSync(this.executablePath)) {
      throw new RendererUnavailableError(`no Chromium at ${this.executablePath}: install Debian's chromium (apt-get install chromium) or set REWARDLAB_CHROMIUM to a Chromium binary`);
    }
    const dir = pageDir();
    const server = createServer((req, res) => {
      const path = normalize((req.url ?? '/').split('?')[0]!).replace(/^(\.\.[/\\])+/, '');
      const file = join(dir, path === '/' ? 'index.html' : path);
      if (!file.startsWith(dir) || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    });
    const wss = new WebSocketServer({ server, path: '/ws', maxPayload: 1 << 30 });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as AddressInfo).port;
    let browser: Browser | null = null;
    try {
      const { chromium } = await import('playwright-core');
      const extra = (process.env.REWARDLAB_CHROMIUM_ARGS ?? '').split(' ').filter(Boolean);
      browser = await chromium.launch({ executablePath: this.executablePath, args: [...CHROMIUM_ARGS, ...extra], headless: true, timeout: this.launchTimeoutMs });
      const page = await browser.newPage();
      const connected = new Promise<{ socket: WebSocket; hello: { maxSize: number; glRenderer: string } }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new RendererUnavailableError(`the renderer page did not connect within ${this.launchTimeoutMs} ms`)), this.launchTimeoutMs);
        wss.once('connection', (socket) => {
          socket.once('message', (data) => {
            clearTimeout(timer);
            try {
              const hello = JSON.parse(data.toString()) as { type: string; maxSize: number; glRenderer: string };
              if (hello.type !== 'hello') throw new Error(`expected hello, got ${hello.type}`);
              resolve({ socket, hello });
            } catch (err) {
              reject(new RendererUnavailableError(`the renderer page sent a bad greeting: ${(err as Error).message}`));
            }
          });
        });
      });
      const pageErrors: string[] = [];
      page.on('pageerror', (err) => pageErrors.push(err.message));
      await page.goto(`http://127.0.0.1:${port}/`, { timeout: this.launchTimeoutMs });
      const { socket, hello } = await connected.catch((err: Error) => {
        throw pageErrors.length ? new RendererUnavailableError(`the renderer page failed to start: ${pageErrors.join('; ')}`) : err;
      });
      const session: Session = { browser, page, server, wss, socket, scenes: new Set(), dead: null, glRenderer: hello.glRenderer, maxSize: hello.maxSize };
      const die = (reason: string): void => {
        if (session.dead) return;
        session.dead = new RendererCrashedError(`the renderer's browser ${reason}; the batch in flight is lost and the next render starts a new browser`);
        for (const [id, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(session.dead);
          this.pending.delete(id);
        }
      };
      browser.on('disconnected', () => die('exited'));
      page.on('crash', () => die('page crashed'));
      socket.on('close', () => die('closed its connection'));
      socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
      if (this.launches++ > 0) this.restarts++;
      return session;
    } catch (err) {
      await browser?.close().catch(() => undefined);
      wss.close();
      server.close();
      if (err instanceof RendererUnavailableError) throw err;
      throw new RendererUnavailableError(`Chromium at ${this.executablePath} did not start: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    const buf = Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]);
    if (isBinary) {
      const id = buf.readUInt32LE(0);
      const p = this.pending.get(id);
      if (!p) return;
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.resolve(buf);
      return;
    }
    let msg: { type: string; id: number; message?: string };
    try {
      msg = JSON.parse(buf.toString());
    } catch {
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.type === 'error') p.reject(new RenderInputError(`the renderer page refused the request: ${msg.message}`));
    else p.resolve(Buffer.alloc(0));
  }

  /** Sends `payload` as request `id` and waits for its answer (or the browser's death, or the batch timeout). */
  private exchange(session: Session, id: number, payload: Buffer | string): Promise<Buffer> {
    if (session.dead) return Promise.reject(session.dead);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        session.dead ??= new RendererCrashedError(`the renderer's browser did not answer within ${this.batchTimeoutMs} ms; the next render starts a new browser`);
        reject(session.dead);
      }, this.batchTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      session.socket.send(payload, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.pending.delete(id);
        session.dead ??= new RendererCrashedError(`the renderer's connection failed (${err.message}); the next render starts a new browser`);
        reject(session.dead);
      });
    });
  }

  private async ensureScene(session: Session, scene: ReplayScene): Promise<number> {
    const key = JSON.stringify(scene);
    let id = this.sceneIds.get(key);
    if (id === undefined) {
      id = this.sceneList.length;
      this.sceneList.push(scene);
      this.sceneIds.set(key, id);
    }
    if (!session.scenes.has(id)) {
      await this.exchange(session, id | 0x8000_0000, JSON.stringify({ type: 'scene', id: id | 0x8000_0000, scene, views: this.maxFramesPerBatch }));
      session.scenes.add(id);
    }
    return id | 0x8000_0000;
  }

  private async request(session: Session, sceneId: number, count: number, width: number, height: number, camera: SceneCamera, packed: PackedFrames, start: number): Promise<Buffer> {
    const id = this.nextId++ & 0x7fff_ffff;
    const header = Buffer.from(JSON.stringify({ id, scene: sceneId, count, width, height, camera, compress: this.compress }));
    const dataStart = Math.ceil((4 + header.length) / 4) * 4;
    const tf = packed.transforms.subarray(start * packed.bodyFloats, (start + count) * packed.bodyFloats);
    const sg = packed.signals.subarray(start * packed.signalCount, (start + count) * packed.signalCount);
    const msg = Buffer.alloc(dataStart + (tf.length + sg.length) * 4);
    msg.writeUInt32LE(header.length, 0);
    header.copy(msg, 4);
    Buffer.from(tf.buffer, tf.byteOffset, tf.byteLength).copy(msg, dataStart);
    Buffer.from(sg.buffer, sg.byteOffset, sg.byteLength).copy(msg, dataStart + tf.byteLength);
    let answer = await this.exchange(session, id, msg);
    if (this.compress) answer = Buffer.concat([answer.subarray(0, 4), inflateRawSync(answer.subarray(4))]);
    if (answer.length !== 4 + count * width * height * 3) throw new RendererCrashedError(`the renderer page answered ${answer.length} bytes for ${count} frames of ${width}×${height}`);
    return answer;
  }

  private async teardown(session: Session, reason: Error): Promise<void> {
    session.dead ??= reason;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(reason);
      this.pending.delete(id);
    }
    session.socket.terminate();
    session.wss.close();
    session.server.close();
    await session.browser.close().catch(() => undefined);
  }

  /** For tests of crash recovery: kills the browser process as a crash would. */
  killBrowserForTesting(): void {
    const proc = (this.session?.browser as unknown as { process?: () => { kill(signal: string): void } | null })?.process?.();
    if (proc) proc.kill('SIGKILL');
    else void this.session?.browser.close();
  }
}

function checkSize(size: RenderSize): { width: number; height: number } {
  if (!size || typeof size !== 'object') throw new RenderInputError('render options need width and height');
  for (const key of ['width', 'height'] as const) {
    const v = size[key];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= MIN_FRAME_SIDE && v <= MAX_FRAME_SIDE)) {
      throw new RenderInputError(`frame ${key} must be an integer from ${MIN_FRAME_SIDE} to ${MAX_FRAME_SIDE} pixels, got ${JSON.stringify(v)}`);
    }
  }
  return { width: size.width, height: size.height };
}

interface PackedFrames {
  transforms: Float32Array;
  signals: Float32Array;
  bodyFloats: number;
  signalCount: number;
}

/** The frames as two flat float32 columns, checked against the scene (lengths, finite values). */
function packFrames(scene: ReplayScene, frames: readonly RenderFrame[]): PackedFrames {
  if (!Array.isArray(frames) || frames.length === 0) throw new RenderInputError('render needs at least one frame');
  const bodyFloats = scene.dynamicBodies.length * TRANSFORM_SIZE;
  const signalCount = scene.signals?.length ?? 0;
  const transforms = new Float32Array(frames.length * bodyFloats);
  const signals = new Float32Array(frames.length * signalCount);
  frames.forEach((frame, k) => {
    const t = frame?.transforms;
    if (!t || t.length !== bodyFloats) throw new RenderInputError(`frame ${k} has ${t?.length ?? 'no'} transform values; the scene's ${scene.dynamicBodies.length} bodies need ${bodyFloats} (a state of another env?)`);
    for (let i = 0; i < bodyFloats; i++) {
      const v = t[i]!;
      if (!Number.isFinite(v)) throw new RenderInputError(`frame ${k}: transform value ${i} (body "${scene.dynamicBodies[Math.floor(i / TRANSFORM_SIZE)]!.name}") is ${v}`);
      transforms[k * bodyFloats + i] = v;
    }
    const s = frame.signals;
    if (s && s.length !== signalCount) throw new RenderInputError(`frame ${k} has ${s.length} signal values; the scene names ${signalCount}`);
    if (s) for (let i = 0; i < signalCount; i++) signals[k * signalCount + i] = Number(s[i]) || 0;
  });
  return { transforms, signals, bodyFloats, signalCount };
}
