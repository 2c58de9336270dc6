/**
 * SimWorkerServer: a WebSocket server hosting one vector env for one trainer at a time (what
 * `rewardlab sim-worker` runs). It speaks the protocol of ./protocol.ts: a JSON hello checked against
 * the token in constant time, the spec back, then binary reset/step frames answered with result frames.
 * Every frame is validated; a bad one is answered with an error frame and, after `maxBadFrames` bad
 * frames in a row, the session is closed. The worker itself never goes down because of a client.
 *
 * The same port answers plain HTTP for orchestrators: `GET /healthz` (200 while the process serves) and
 * `GET /readyz` (200 while it accepts sessions, 503 once it drains). `close()` drains: it stops taking
 * connections and frames, lets the frame being simulated finish and its result go out, then closes every
 * session with code 4006 (a trainer drops or reconnects the worker, as after any loss).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { CarballVecEnv } from '../envs/carball/vector';
import { carballTeamSize } from '../envs/carball/env';
import { loadEnvModule, registeredEnvIds, registerEnv, makeEnv, type MakeEnvOptions } from '../registry';
import { InvalidActionError, isMultiAgent, type AnyEnv } from '../env';
import { VecEnv, type AutoresetMode, type VecEnvLike } from '../vector';
import {
  assertLittleEndian,
  CloseCode,
  decodeReset,
  decodeStep,
  encodeError,
  encodeResetResult,
  encodeStepResult,
  ErrorCode,
  FrameType,
  MAX_HELLO_BYTES,
  parseHello,
  ProtocolError,
  PROTOCOL_VERSION,
  readHeader,
  sizesOf,
  stepFrameBytes,
  HEADER_BYTES,
  MAX_RESET_OPTIONS_BYTES,
  type EndedSlot,
  type FrameSizes,
  type SpecMessage,
} from './protocol';

export interface SimWorkerOptions {
  /** Registered env id (ignored when `envModule` is given). */
  envId?: string;
  /** A user's env module (default export: a factory returning an Env). */
  envModule?: string;
  numEnvs: number;
  /**
   * Independent env groups the `numEnvs` envs are split into (default 1), each driven by its own
   * session (the hello's `group`). With two or more, a trainer keeps one group's step queued while
   * another simulates (MultiVecEnv's sendGroup / recvGroup), so the worker never waits on the network.
   */
  groups?: number;
  /** 0 picks a free port (read it from `port` after `start`). */
  port?: number;
  /** Default 127.0.0.1: a worker is reachable from other machines only when told so. */
  host?: string;
  /** When set, a client's hello must carry this token (compared in constant time). */
  token?: string;
  envOptions?: MakeEnvOptions;
  /** Ping interval; a session silent for three intervals is dropped. Default 10 000 ms. */
  heartbeatMs?: number;
  /** Bad frames in a row before the session is closed (default 32). */
  maxBadFrames?: number;
  /**
   * Host carball ids on one multi-arena Rapier world (`CarballVecEnv`, the fastest layout) instead of a
   * `VecEnv` of separate worlds. Default true.
   */
  carballArenas?: boolean;
  /**
   * Wraps each env before it is vectorised (e.g. the `rewards` package's `withReward`, which `sim`
   * cannot import). With a wrapper, carball envs are hosted as a `VecEnv` of wrapped envs.
   */
  wrapEnv?: (env: AnyEnv) => AnyEnv;
  /**
   * Wraps the hosted vector instead (e.g. the `rewards` package's `withVecReward` over carball's arenas,
   * so that a reward spec keeps the one-world layout); return null where it does not apply, and
   * `wrapEnv` is used.
   */
  wrapVec?: (vec: VecEnvLike) => VecEnvLike | null;
  /** What the wrapper does, sent in the spec as `reward` so a trainer can check it (e.g. the parsed reward spec). */
  reward?: unknown;
  /** Artificial delay before answering each step, for fault tests (a slow worker). Default 0. */
  stepDelayMs?: number;
  /** Log lines (default: none). */
  log?: (line: string) => void;
}

/** What one connection is: waiting for its hello, or an authenticated session. */
interface Session {
  ws: WebSocket;
  authenticated: boolean;
  badFrames: number;
  alive: boolean;
  vec: VecEnvLike | null;
  group: number;
  sizes: FrameSizes | null;
  actions: Float32Array | Int32Array | null;
  started: boolean;
}

/** What `GET /healthz` and `GET /readyz` answer (JSON). */
export interface SimWorkerHealth {
  status: 'ok' | 'draining';
  env: string;
  numEnvs: number;
  groups: number;
  /** Sessions driving a group now. */
  sessions: number;
  steps: number;
  protocol: number;
}

export class SimWorkerServer {
  private wss: WebSocketServer | null = null;
  private http: Server | null = null;
  /** Set by `close()`: no new connection or frame is taken. */
  private draining = false;
  /** The session driving each group. */
  private readonly active: (Session | null)[] = [];
  /** Vector env of each autoreset mode and group, keyed `mode/group`. */
  private readonly vectors = new Map<string, VecEnvLike>();
  /** Envs of each group. */
  private groupSizes: number[] = [];
  private heartbeat: NodeJS.Timeout | null = null;
  /** Frames (of every session) are handled one at a time, in order: one env, one writer. */
  private queue: Promise<void> = Promise.resolve();
  private readonly missedPings = new WeakMap<WebSocket, number>();
  private envId = '';
  /** Largest frame accepted (ws closes the connection with 1009 on a bigger one). */
  private maxFrameBytes = 0;
  private tokenDigest: Buffer | null = null;
  private spaces: Pick<SpecMessage, 'observationSpace' | 'actionSpace' | 'numAgents' | 'agents' | 'obsSize' | 'actionSize' | 'actionDtype'> | null = null;
  /** Counters, for tests and logs. */
  readonly stats = { sessions: 0, refused: 0, badFrames: 0, steps: 0, resets: 0 };

  private constructor(private readonly options: SimWorkerOptions) {}

  /** Builds the env (to check it and learn its spaces) and starts listening. */
  static async start(options: SimWorkerOptions): Promise<SimWorkerServer> {
    assertLittleEndian();
    if (!Number.isInteger(options.numEnvs) || options.numEnvs < 1) throw new RangeError(`sim-worker: numEnvs must be a positive integer, got ${options.numEnvs}`);
    const groups = options.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1 || groups > options.numEnvs) throw new RangeError(`sim-worker: groups must be an integer from 1 to numEnvs (${options.numEnvs}), got ${options.groups}`);
    const server = new SimWorkerServer(options);
    await server.prepare();
    await server.listen();
    return server;
  }

  get port(): number {
    return (this.http?.address() as AddressInfo | null | undefined)?.port ?? 0;
  }

  /** The body of the health endpoints. */
  get health(): SimWorkerHealth {
    return {
      status: this.draining ? 'draining' : 'ok',
      env: this.envId,
      numEnvs: this.options.numEnvs,
      groups: this.groupSizes.length,
      sessions: this.active.filter((s) => s !== null && s.alive).length,
      steps: this.stats.steps,
      protocol: PROTOCOL_VERSION,
    };
  }

  /** The env id this worker hosts (an env module's own id, or its path). */
  get envIdHosted(): string {
    return this.envId;
  }

  get url(): string {
    const host = this.options.host ?? '127.0.0.1';
    return `ws://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  private async prepare(): Promise<void> {
    if (this.options.envModule) {
      const mod = await loadEnvModule(this.options.envModule);
      if (!registeredEnvIds().includes(mod.id)) registerEnv(mod.id, mod.factory);
      this.envId = mod.id;
    } else if (this.options.envId) this.envId = this.options.envId;
    else throw new Error('sim-worker: give an env id or an env module');
    // Hash the token so that the comparison runs over equal-length buffers whatever the client sends.
    this.tokenDigest = this.options.token ? createHash('sha256').update(this.options.token, 'utf8').digest() : null;
    const groups = this.options.groups ?? 1;
    // Envs split as evenly as possible, the first groups taking one more.
    this.groupSizes = Array.from({ length: groups }, (_, g) => Math.floor(this.options.numEnvs / groups) + (g < this.options.numEnvs % groups ? 1 : 0));
    this.active.length = 0;
    for (let g = 0; g < groups; g++) this.active.push(null);
    for (let g = 0; g < groups; g++) await this.vectorFor('next-step', g);
    const vec = await this.vectorFor('next-step', 0);
    const probe = await makeEnv<AnyEnv>(this.envId, { ...(this.options.envOptions ?? {}) });
    const agents = isMultiAgent(probe) ? [...probe.agents] : undefined;
    await probe.close();
    this.spaces = {
      observationSpace: vec.singleObservationSpace,
      actionSpace: vec.singleActionSpace,
      numAgents: vec.numAgents,
      ...(agents ? { agents } : {}),
      obsSize: vec.obsSize,
      actionSize: vec.actionSize,
      actionDtype: vec.singleActionSpace.kind === 'box' ? 'float32' : 'int32',
    };
  }

  private async vectorFor(mode: AutoresetMode, group: number): Promise<VecEnvLike> {
    const key = `${mode}/${group}`;
    const existing = this.vectors.get(key);
    if (existing) return existing;
    const vec = await this.buildVector(mode, group);
    this.vectors.set(key, vec);
    return vec;
  }

  private async buildVector(mode: AutoresetMode, group: number): Promise<VecEnvLike> {
    // The same env objects serve both modes: only the vector's bookkeeping differs.
    const other = this.vectors.get(`${mode === 'next-step' ? 'same-step' : 'next-step'}/${group}`);
    if (other instanceof VecEnv) return new VecEnv(other.envs, { autoreset: mode });
    const n = this.groupSizes[group]!;
    const hostedOptions = { ...(this.options.envOptions ?? {}), autoreset: mode, carballArenas: this.options.carballArenas !== false };
    if (this.options.wrapVec) {
      const hosted = await makeHostedVecEnv(this.envId, n, hostedOptions);
      const wrapped = this.options.wrapVec(hosted);
      if (wrapped) return wrapped;
      await hosted.close();
    }
    const wrap = this.options.wrapEnv;
    if (wrap) {
      const envs: AnyEnv[] = [];
      for (let i = 0; i < n; i++) envs.push(wrap(await makeEnv<AnyEnv>(this.envId, { ...(this.options.envOptions ?? {}) })));
      return new VecEnv(envs, { autoreset: mode });
    }
    return makeHostedVecEnv(this.envId, n, hostedOptions);
  }

  private listen(): Promise<void> {
    const sizes = sizesOf({ numEnvs: Math.max(...this.groupSizes), ...this.spaces! });
    const maxPayload = (this.maxFrameBytes = Math.max(MAX_HELLO_BYTES, stepFrameBytes(sizes), HEADER_BYTES + 16 + MAX_RESET_OPTIONS_BYTES));
    return new Promise((resolve, reject) => {
      const http = createServer((req, res) => this.answerHttp(req, res));
      const wss = new WebSocketServer({ server: http, maxPayload, perMessageDeflate: false, clientTracking: true });
      http.once('error', reject);
      http.once('listening', () => {
        http.off('error', reject);
        http.on('error', (err) => this.log(`server error: ${err.message}`));
        resolve();
      });
      wss.on('error', (err) => this.log(`server error: ${err.message}`));
      wss.on('connection', (ws) => this.accept(ws));
      this.wss = wss;
      this.http = http;
      http.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1');
      const every = this.options.heartbeatMs ?? 10_000;
      this.heartbeat = setInterval(() => {
        for (const client of wss.clients) {
          const n = this.missedPings.get(client) ?? 0;
          if (n >= 3) {
            this.log('dropping a session silent for three heartbeats');
            client.terminate();
            continue;
          }
          this.missedPings.set(client, n + 1);
          client.ping();
        }
      }, every);
      this.heartbeat.unref();
    });
  }

  /** Plain HTTP on the worker's port: the probes of Docker and Kubernetes. */
  private answerHttp(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { error: `${req.method} is not allowed; GET /healthz or /readyz` });
    if (path === '/healthz') return send(200, this.health);
    if (path === '/readyz') return send(this.draining ? 503 : 200, this.health);
    send(404, { error: `no ${path} here: this is a sim worker (WebSocket protocol ${PROTOCOL_VERSION}; GET /healthz, /readyz)` });
  }

  private accept(ws: WebSocket): void {
    if (this.draining) {
      ws.close(CloseCode.ShuttingDown, 'worker shutting down');
      return;
    }
    const session: Session = { ws, authenticated: false, badFrames: 0, alive: true, vec: null, group: 0, sizes: null, actions: null, started: false };
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (this.draining) return; // a frame that arrives once the worker drains is not taken
      const frame = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      this.queue = this.queue.then(() => this.handle(session, frame, isBinary)).catch((err) => this.log(`internal error: ${(err as Error).stack ?? err}`));
    });
    ws.on('close', () => {
      session.alive = false;
      if (this.active[session.group] === session) this.active[session.group] = null;
    });
    ws.on('error', (err) => this.log(`connection error: ${err.message}`));
    // Any sign of life (a pong or a frame) counts as a heartbeat.
    ws.on('pong', () => this.missedPings.set(ws, 0));
    ws.on('message', () => this.missedPings.set(ws, 0));
  }

  private async handle(session: Session, frame: Buffer, isBinary: boolean): Promise<void> {
    if (!session.alive) return;
    if (!session.authenticated) return this.handshake(session, frame, isBinary);
    let seq = 0;
    try {
      if (!isBinary) throw new ProtocolError(ErrorCode.TextFrame, 'after the handshake only binary frames are accepted');
      const header = readHeader(frame);
      seq = header.seq;
      if (header.type === FrameType.Reset) await this.reset(session, frame);
      else if (header.type === FrameType.Step) await this.step(session, frame);
      else throw new ProtocolError(ErrorCode.UnknownType, `unknown frame type ${header.type}`);
      session.badFrames = 0;
    } catch (err) {
      const e = err instanceof ProtocolError ? err : err instanceof InvalidActionError ? new ProtocolError(ErrorCode.InvalidAction, err.message) : new ProtocolError(ErrorCode.EnvError, (err as Error)?.message ?? String(err));
      this.stats.badFrames += 1;
      session.badFrames += 1;
      if (session.alive) session.ws.send(encodeError(seq, e.code, e.message));
      if (session.badFrames >= (this.options.maxBadFrames ?? 32)) {
        this.log(`closing a session after ${session.badFrames} bad frames in a row`);
        session.ws.close(CloseCode.TooManyErrors, 'too many bad frames');
        session.alive = false;
      }
    }
  }

  private async handshake(session: Session, frame: Buffer, isBinary: boolean): Promise<void> {
    const refuse = (code: number, closeCode: number, message: string): void => {
      this.stats.refused += 1;
      session.ws.send(JSON.stringify({ type: 'error', code, message }));
      session.ws.close(closeCode, message.slice(0, 120));
      session.alive = false;
    };
    if (isBinary || frame.byteLength > MAX_HELLO_BYTES) return refuse(ErrorCode.BadHello, CloseCode.BadHello, 'the first frame must be a JSON hello (text)');
    let hello;
    try {
      hello = parseHello(frame.toString('utf8'));
    } catch (err) {
      return refuse(ErrorCode.BadHello, CloseCode.BadHello, (err as Error).message);
    }
    if (!this.tokenMatches(hello.token)) return refuse(ErrorCode.BadToken, CloseCode.BadToken, 'wrong or missing token');
    if (hello.protocol !== PROTOCOL_VERSION) return refuse(ErrorCode.BadVersion, CloseCode.BadVersion, `this worker speaks protocol ${PROTOCOL_VERSION}, the client ${hello.protocol}`);
    const group = hello.group ?? 0;
    if (group >= this.groupSizes.length) return refuse(ErrorCode.BadHello, CloseCode.BadHello, `this worker hosts ${this.groupSizes.length} env group(s); there is no group ${group}`);
    const mode = hello.autoreset ?? 'next-step';
    let vec: VecEnvLike;
    try {
      vec = await this.vectorFor(mode, group);
    } catch (err) {
      // e.g. a reward wrapper that only works with next-step autoreset: say so instead of never answering.
      this.log(`cannot host ${mode} autoreset: ${(err as Error).message}`);
      return refuse(ErrorCode.EnvError, CloseCode.BadHello, `this worker cannot host ${this.envId} with ${mode} autoreset: ${(err as Error).message}`);
    }
    // One trainer drives a group at a time: a new session (a trainer reconnecting) replaces the old one.
    const previous = this.active[group];
    if (previous && previous !== session) {
      this.log(`a new session replaces the previous one of group ${group}`);
      previous.alive = false;
      previous.ws.close(CloseCode.Replaced, 'replaced by a new session');
    }
    this.active[group] = session;
    session.authenticated = true;
    session.group = group;
    session.vec = vec;
    session.sizes = sizesOf({ numEnvs: vec.numEnvs, ...this.spaces! });
    session.actions = vec.createActionBuffer();
    this.stats.sessions += 1;
    const spec: SpecMessage = {
      type: 'spec',
      protocol: PROTOCOL_VERSION,
      envId: vec.envId,
      numEnvs: vec.numEnvs,
      ...this.spaces!,
      autoreset: mode,
      maxFrameBytes: this.maxFrameBytes,
      heartbeatMs: this.options.heartbeatMs ?? 10_000,
      ...(this.options.reward !== undefined ? { reward: this.options.reward } : {}),
      ...(this.groupSizes.length > 1 ? { groups: this.groupSizes.length, group } : {}),
    };
    session.ws.send(JSON.stringify(spec));
    this.log(`session ${this.stats.sessions}: ${vec.envId} × ${vec.numEnvs}${this.groupSizes.length > 1 ? ` (group ${group} of ${this.groupSizes.length})` : ''} (${mode} autoreset)`);
  }

  private tokenMatches(given: string | undefined): boolean {
    if (!this.tokenDigest) return true;
    const digest = createHash('sha256').update(given ?? '', 'utf8').digest();
    return timingSafeEqual(digest, this.tokenDigest) && given !== undefined;
  }

  private async reset(session: Session, frame: Buffer): Promise<void> {
    const req = decodeReset(frame);
    const vec = session.vec!;
    const { obs } = await vec.reset({ ...(req.seed !== undefined ? { seed: req.seed } : {}), ...(req.options ? { options: req.options } : {}) });
    session.started = true;
    this.stats.resets += 1;
    if (session.alive) session.ws.send(encodeResetResult(session.sizes!, req.seq, obs));
  }

  private async step(session: Session, frame: Buffer): Promise<void> {
    const z = session.sizes!;
    const seq = decodeStep(z, frame, session.actions!);
    if (!session.started) throw new ProtocolError(ErrorCode.NotReset, 'send a reset before the first step');
    const vec = session.vec!;
    const r = await vec.step(session.actions!);
    this.stats.steps += 1;
    const ended: EndedSlot[] = [];
    const episodes = r.info.episodes;
    if (episodes.length) {
      for (const ep of episodes) {
        ended.push({ slot: ep.env * vec.numAgents + ep.agent, length: ep.length, return: ep.return, success: ep.isSuccess === undefined ? -1 : ep.isSuccess ? 1 : 0 });
      }
      ended.sort((a, b) => a.slot - b.slot);
    }
    const out = encodeStepResult(z, seq, { obs: r.obs, rewards: r.rewards, terminated: r.terminated, truncated: r.truncated, autoreset: r.info.autoreset, finalObs: r.info.finalObs }, ended);
    if (this.options.stepDelayMs) await new Promise((res) => setTimeout(res, this.options.stepDelayMs));
    if (session.alive) session.ws.send(out);
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  /**
   * Drains and stops: no new connection or frame is taken, the frames already taken are finished and
   * answered, then every session is closed (code 4006) and the envs with them. Resolves to the number of
   * sessions it closed. Safe to call twice.
   */
  async close(): Promise<number> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.draining = true;
    await this.queue;
    const wss = this.wss;
    const http = this.http;
    this.wss = null;
    this.http = null;
    let closedSessions = 0;
    if (wss) {
      const gone: Promise<void>[] = [];
      for (const client of wss.clients) {
        gone.push(new Promise<void>((resolve) => client.once('close', () => resolve())));
        client.close(CloseCode.ShuttingDown, 'worker shutting down');
        closedSessions += 1;
      }
      // The close handshake normally takes a round trip; a peer that does not answer is cut off.
      await Promise.race([Promise.all(gone), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
    const closed = new Set<AnyEnv>();
    for (const vec of this.vectors.values()) {
      if (vec instanceof VecEnv) {
        for (const env of vec.envs) if (!closed.has(env)) (closed.add(env), await env.close());
      } else await vec.close();
    }
    this.vectors.clear();
    return closedSessions;
  }
}

/**
 * The vector env a worker hosts for `envId`: carball ids as arenas of one Rapier world
 * (`CarballVecEnv`, the layout `rewardlab bench env` found fastest) unless `carballArenas` is false,
 * anything else as a `VecEnv` of `numEnvs` envs. Also the local baseline of `rewardlab bench stream`.
 */
export async function makeHostedVecEnv(envId: string, numEnvs: number, options: MakeEnvOptions & { autoreset?: AutoresetMode; carballArenas?: boolean } = {}): Promise<VecEnvLike> {
  const { autoreset, carballArenas, ...envOptions } = options;
  const teamSize = carballTeamSize(envId);
  if (teamSize !== null && carballArenas !== false) return CarballVecEnv.make(teamSize, numEnvs, { ...envOptions, autoreset: autoreset ?? 'next-step' } as never);
  return VecEnv.make(envId, numEnvs, { ...envOptions, autoreset: autoreset ?? 'next-step' });
}
