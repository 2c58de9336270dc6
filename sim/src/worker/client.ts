/**
 * RemoteVecEnv: a `VecEnvLike` whose envs live in a sim worker across a WebSocket. One request is in
 * flight at a time (reset or step); results are decoded into scratch buffers, validated as a whole,
 * and only then copied into the buffers the caller sees, so a frame that is cut off or corrupted never
 * shows up as a transition. A lost connection or a reply slower than `stepTimeoutMs` rejects the pending
 * call with a `WorkerLostError`; `reconnect()` opens a fresh session (MultiVecEnv does this with backoff).
 */
import WebSocket from 'ws';
import { validateSpace, type Space } from '../spaces';
import type { AutoresetMode, FinishedEpisode, VecEnvLike, VecInfo, VecStepResult } from '../vector';
import type { Info } from '../env';
import {
  assertLittleEndian,
  decodeError,
  decodeResetResult,
  decodeStepResult,
  encodeReset,
  encodeStep,
  FrameType,
  PROTOCOL_VERSION,
  readHeader,
  sizesOf,
  type EndedSlot,
  type FrameSizes,
  type SpecMessage,
  type StepResultBuffers,
} from './protocol';

export interface RemoteVecEnvOptions {
  token?: string;
  /** Autoreset mode asked of the worker (default next-step, as a local VecEnv). */
  autoreset?: AutoresetMode;
  /** Handshake deadline (default 5000 ms). */
  connectTimeoutMs?: number;
  /** A reset or step answered later than this counts as a lost worker (default 30 000 ms). */
  stepTimeoutMs?: number;
  /** The worker's env group to drive (default 0; a worker started with `groups` > 1 hosts several). */
  group?: number;
}

/** The worker went away (connection closed, timed out, or answered with something invalid). */
export class WorkerLostError extends Error {
  override name = 'WorkerLostError';
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(`sim worker ${url}: ${reason}`);
  }
}

/** The worker refused a request with an error frame (or refused the handshake). */
export class WorkerRefusedError extends Error {
  override name = 'WorkerRefusedError';
  constructor(
    readonly url: string,
    readonly code: number,
    message: string,
  ) {
    super(`sim worker ${url} refused: ${message} (code ${code})`);
  }
}

interface Pending {
  type: number;
  seq: number;
  resolve: (frame: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | null;
}

export class RemoteVecEnv implements VecEnvLike {
  readonly envId: string;
  readonly numEnvs: number;
  readonly numAgents: number;
  readonly numSlots: number;
  readonly obsSize: number;
  readonly actionSize: number;
  readonly singleObservationSpace: Space;
  readonly singleActionSpace: Space;
  readonly autoresetMode: AutoresetMode;
  readonly snapshotSupported = false;
  readonly spec: SpecMessage;

  readonly obs: Float32Array;
  readonly rewards: Float32Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  private readonly info: VecInfo;
  /** Decode target: copied to the public buffers only after the whole frame checked out. */
  private readonly scratch: StepResultBuffers;
  private readonly ended: EndedSlot[] = [];
  private readonly sizes: FrameSizes;
  private ws: WebSocket;
  private pending: Pending | null = null;
  private seq = 0;
  private closed = false;
  private lostReason: string | null = null;

  private constructor(
    readonly url: string,
    private readonly options: RemoteVecEnvOptions,
    ws: WebSocket,
    spec: SpecMessage,
  ) {
    this.ws = ws;
    this.spec = spec;
    this.envId = spec.envId;
    this.numEnvs = spec.numEnvs;
    this.numAgents = spec.numAgents;
    this.numSlots = spec.numEnvs * spec.numAgents;
    this.obsSize = spec.obsSize;
    this.actionSize = spec.actionSize;
    this.singleObservationSpace = spec.observationSpace;
    this.singleActionSpace = spec.actionSpace;
    this.autoresetMode = spec.autoreset;
    this.sizes = sizesOf(spec);
    const S = this.numSlots;
    const O = this.obsSize;
    this.obs = new Float32Array(S * O);
    this.rewards = new Float32Array(S);
    this.terminated = new Uint8Array(S);
    this.truncated = new Uint8Array(S);
    this.info = { autoreset: new Uint8Array(this.numEnvs), finalObs: new Float32Array(S * O), episodes: [], envInfos: Array.from({ length: this.numEnvs }, () => ({}) as Info) };
    this.scratch = { obs: new Float32Array(S * O), rewards: new Float32Array(S), terminated: new Uint8Array(S), truncated: new Uint8Array(S), autoreset: new Uint8Array(this.numEnvs), finalObs: new Float32Array(S * O) };
    this.attach(ws);
  }

  /** Connects, says hello and reads the worker's spec. */
  static async connect(url: string, options: RemoteVecEnvOptions = {}): Promise<RemoteVecEnv> {
    assertLittleEndian();
    const { ws, spec } = await handshake(url, options);
    return new RemoteVecEnv(url, options, ws, spec);
  }

  /** Whether the session is up (false after a lost connection until `reconnect` succeeds). */
  get connected(): boolean {
    return this.lostReason === null && !this.closed;
  }

  /**
   * Opens a fresh session to the same URL (the worker's envs must be re-`reset` afterwards). Throws when
   * the worker is unreachable or now hosts something else.
   */
  async reconnect(): Promise<void> {
    if (this.closed) throw new Error(`RemoteVecEnv ${this.url} is closed`);
    this.ws.removeAllListeners();
    this.ws.on('error', () => {});
    this.ws.terminate();
    const { ws, spec } = await handshake(this.url, this.options);
    if (this.closed) {
      ws.terminate(); // closed while the handshake was under way
      throw new Error(`RemoteVecEnv ${this.url} is closed`);
    }
    const same = ['envId', 'numEnvs', 'numAgents', 'obsSize', 'actionSize', 'actionDtype', 'autoreset', 'group'] as const;
    const changed: string[] = same.filter((k) => spec[k] !== this.spec[k]);
    if (JSON.stringify(spec.reward) !== JSON.stringify(this.spec.reward)) changed.push('reward');
    if (changed.length || JSON.stringify([spec.observationSpace, spec.actionSpace]) !== JSON.stringify([this.spec.observationSpace, this.spec.actionSpace])) {
      ws.terminate();
      throw new WorkerRefusedError(this.url, 0, `the worker now hosts a different env (${changed.join(', ') || 'spaces'} changed)`);
    }
    this.ws = ws;
    this.lostReason = null;
    this.attach(ws);
  }

  createActionBuffer(): Float32Array | Int32Array {
    const n = this.numSlots * this.actionSize;
    return this.spec.actionDtype === 'float32' ? new Float32Array(n) : new Int32Array(n);
  }

  async reset(params: { seed?: number; options?: Record<string, unknown> } = {}): Promise<{ obs: Float32Array; info: VecInfo }> {
    if (params.seed !== undefined && (!Number.isSafeInteger(params.seed) || params.seed < 0)) throw new TypeError(`${this.envId} RemoteVecEnv reset seed must be a non-negative safe integer, got ${params.seed}`);
    if (params.options !== undefined && (typeof params.options !== 'object' || params.options === null || Array.isArray(params.options))) throw new TypeError(`${this.envId} RemoteVecEnv reset options must be an object`);
    const seq = this.nextSeq();
    const frame = await this.request(FrameType.ResetResult, seq, encodeReset({ seq, ...(params.seed !== undefined ? { seed: params.seed } : {}), ...(params.options ? { options: params.options } : {}) }));
    decodeResetResult(this.sizes, frame, this.scratch.obs);
    this.obs.set(this.scratch.obs);
    this.rewards.fill(0);
    this.terminated.fill(0);
    this.truncated.fill(0);
    this.info.autoreset.fill(0);
    this.info.episodes = [];
    return { obs: this.obs, info: this.info };
  }

  /** Sends the actions now and resolves when the worker's result has arrived and checked out. */
  async step(actions: ArrayLike<number>): Promise<VecStepResult> {
    const seq = this.nextSeq();
    const frame = await this.request(FrameType.StepResult, seq, encodeStep(this.sizes, seq, actions));
    try {
      decodeStepResult(this.sizes, frame, this.scratch, this.ended);
    } catch (err) {
      this.lose(`sent an invalid step result: ${(err as Error).message}`);
      throw new WorkerLostError(this.url, `sent an invalid step result: ${(err as Error).message}`);
    }
    const s = this.scratch;
    this.obs.set(s.obs);
    this.rewards.set(s.rewards);
    this.terminated.set(s.terminated);
    this.truncated.set(s.truncated);
    this.info.autoreset.set(s.autoreset);
    const episodes: FinishedEpisode[] = [];
    const O = this.obsSize;
    for (const e of this.ended) {
      this.info.finalObs.set(s.finalObs.subarray(e.slot * O, (e.slot + 1) * O), e.slot * O);
      const env = Math.floor(e.slot / this.numAgents);
      episodes.push({ env, agent: e.slot - env * this.numAgents, return: e.return, length: e.length, ...(e.success >= 0 ? { isSuccess: e.success === 1 } : {}) });
    }
    this.info.episodes = episodes;
    return { obs: this.obs, rewards: this.rewards, terminated: this.terminated, truncated: this.truncated, info: this.info };
  }

  /** Closes the session cleanly (close code 1000); safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new WorkerLostError(this.url, 'closed by the client'));
    const ws = this.ws;
    if (ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => (ws.terminate(), resolve()), 1000);
      ws.once('close', () => (clearTimeout(timer), resolve()));
      if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'bye');
      else ws.terminate();
    });
  }

  /** Drops the connection at once (what a dead trainer looks like to the worker); for tests and shutdown. */
  terminate(): void {
    this.lose('terminated by the client');
    this.ws.terminate();
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  private request(expect: number, seq: number, frame: Buffer): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error(`RemoteVecEnv ${this.url} is closed`));
    if (this.lostReason !== null) return Promise.reject(new WorkerLostError(this.url, this.lostReason));
    if (this.pending) return Promise.reject(new Error(`RemoteVecEnv ${this.url}: a request is already in flight (await each reset/step)`));
    return new Promise<Buffer>((resolve, reject) => {
      const timeoutMs = this.options.stepTimeoutMs ?? 30_000;
      const pending: Pending = { type: expect, seq, resolve, reject, timer: null };
      pending.timer = setTimeout(() => {
        const reason = `no answer within ${timeoutMs} ms`;
        this.lose(reason);
        this.ws.terminate();
      }, timeoutMs);
      this.pending = pending;
      this.ws.send(frame); // a failed send surfaces as the socket's 'error' / 'close'
    });
  }

  private attach(ws: WebSocket): void {
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('close', (code: number, reason: Buffer) => this.lose(`connection closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`));
    ws.on('error', (err: Error) => this.lose(`connection error: ${err.message}`));
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    const frame = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
    const p = this.pending;
    if (!isBinary) return this.lose('sent a text frame after the handshake');
    let header;
    try {
      header = readHeader(frame);
    } catch (err) {
      return this.lose(`sent a malformed frame: ${(err as Error).message}`);
    }
    if (header.type === FrameType.Error) {
      let e;
      try {
        e = decodeError(frame);
      } catch (err) {
        return this.lose(`sent a malformed error frame: ${(err as Error).message}`);
      }
      if (p && e.seq === p.seq) {
        this.pending = null;
        if (p.timer) clearTimeout(p.timer);
        p.reject(new WorkerRefusedError(this.url, e.code, e.message));
      }
      return;
    }
    if (!p || header.seq !== p.seq || header.type !== p.type) return this.lose(`sent an unexpected frame (type ${header.type}, seq ${header.seq})`);
    this.pending = null;
    if (p.timer) clearTimeout(p.timer);
    p.resolve(frame);
  }

  /** Marks the session lost and fails the pending request; the connection is not used again. */
  private lose(reason: string): void {
    if (this.lostReason === null && !this.closed) this.lostReason = reason;
    this.fail(new WorkerLostError(this.url, reason));
    if (this.ws.readyState === WebSocket.OPEN) this.ws.terminate();
  }

  private fail(err: Error): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    if (p.timer) clearTimeout(p.timer);
    p.reject(err);
  }
}

/** Opens a socket, sends the hello and waits for the spec (or the refusal). */
function handshake(url: string, options: RemoteVecEnvOptions): Promise<{ ws: WebSocket; spec: SpecMessage }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024, handshakeTimeout: options.connectTimeoutMs ?? 5000 });
    let done = false;
    const finish = (err: Error | null, spec?: SpecMessage): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ws.removeAllListeners();
      if (err) {
        ws.on('error', () => {});
        ws.terminate();
        reject(err);
      } else resolve({ ws, spec: spec! });
    };
    const timer = setTimeout(() => finish(new WorkerLostError(url, `no spec within ${options.connectTimeoutMs ?? 5000} ms`)), options.connectTimeoutMs ?? 5000);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, ...(options.token !== undefined ? { token: options.token } : {}), autoreset: options.autoreset ?? 'next-step', ...(options.group !== undefined ? { group: options.group } : {}) })));
    ws.once('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (isBinary) return finish(new WorkerLostError(url, 'answered the hello with a binary frame'));
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(String(data)) as Record<string, unknown>;
      } catch {
        return finish(new WorkerLostError(url, 'answered the hello with invalid JSON'));
      }
      if (msg.type === 'error') return finish(new WorkerRefusedError(url, Number(msg.code), String(msg.message)));
      try {
        finish(null, parseSpec(msg));
      } catch (err) {
        finish(new WorkerLostError(url, `sent an invalid spec: ${(err as Error).message}`));
      }
    });
    ws.once('error', (err) => finish(new WorkerLostError(url, `cannot connect: ${err.message}`)));
    ws.once('close', (code) => finish(new WorkerLostError(url, `closed during the handshake (${code})`)));
  });
}

function parseSpec(msg: Record<string, unknown>): SpecMessage {
  if (msg.type !== 'spec') throw new Error(`expected type "spec", got ${JSON.stringify(msg.type)}`);
  if (msg.protocol !== PROTOCOL_VERSION) throw new Error(`protocol ${String(msg.protocol)}, this client speaks ${PROTOCOL_VERSION}`);
  const posInt = (k: string): number => {
    const v = msg[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new Error(`${k} must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  };
  if (typeof msg.envId !== 'string') throw new Error('envId must be a string');
  if (msg.actionDtype !== 'float32' && msg.actionDtype !== 'int32') throw new Error('actionDtype must be float32 or int32');
  if (msg.autoreset !== 'next-step' && msg.autoreset !== 'same-step') throw new Error('autoreset must be next-step or same-step');
  const spec: SpecMessage = {
    type: 'spec',
    protocol: PROTOCOL_VERSION,
    envId: msg.envId,
    numEnvs: posInt('numEnvs'),
    numAgents: posInt('numAgents'),
    ...(Array.isArray(msg.agents) ? { agents: msg.agents.map(String) } : {}),
    observationSpace: validateSpace(msg.observationSpace, 'spec.observationSpace'),
    actionSpace: validateSpace(msg.actionSpace, 'spec.actionSpace'),
    obsSize: posInt('obsSize'),
    actionSize: posInt('actionSize'),
    actionDtype: msg.actionDtype,
    autoreset: msg.autoreset,
    maxFrameBytes: posInt('maxFrameBytes'),
    heartbeatMs: posInt('heartbeatMs'),
    ...(msg.reward !== undefined ? { reward: msg.reward } : {}),
  };
  if (msg.groups !== undefined || msg.group !== undefined) {
    const groups = posInt('groups');
    const group = msg.group;
    if (typeof group !== 'number' || !Number.isInteger(group) || group < 0 || group >= groups) throw new Error(`group must be an integer from 0 to ${groups - 1}, got ${JSON.stringify(group)}`);
    spec.groups = groups;
    spec.group = group;
  }
  return spec;
}
