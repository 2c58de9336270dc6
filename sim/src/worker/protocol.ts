/**
 * The sim-worker wire protocol, version 1 (sim/PROTOCOL.md is the normative description; this file is
 * its codec). A JSON handshake (client `hello` → worker `spec`), then binary frames only: every frame
 * starts with an 8-byte header `[type u8][reserved 3 × u8 = 0][seq u32 LE]` followed by flat
 * little-endian Float32 / Int32 / Uint8 payloads whose sizes follow from the spec. Decoders validate
 * everything (type, exact length, flag values, finite numbers) and throw a `ProtocolError` with a code
 * that the worker sends back in an error frame.
 */
import { endianness } from 'node:os';
import type { Space } from '../spaces';
import type { AutoresetMode } from '../vector';

export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 8;
/** Largest text frame accepted before the handshake completes (the hello). */
export const MAX_HELLO_BYTES = 16 * 1024;
/** Largest error message carried by an error frame (bytes of UTF-8). */
export const MAX_ERROR_MESSAGE_BYTES = 1024;
/** Largest JSON options object a reset frame may carry (bytes of UTF-8). */
export const MAX_RESET_OPTIONS_BYTES = 64 * 1024;

export const FrameType = {
  /** client → worker: reset every env (optional seed, optional JSON options). */
  Reset: 0x01,
  /** client → worker: one action row per slot. */
  Step: 0x02,
  /** worker → client: observations after a reset. */
  ResetResult: 0x11,
  /** worker → client: observations, rewards, flags and the finished episodes of one step. */
  StepResult: 0x12,
  /** worker → client: a request was refused (code + message). */
  Error: 0x7f,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

/** Error codes (PROTOCOL.md §Errors). 1xx: the frame itself; 2xx: the session; 3xx: the env. */
export const ErrorCode = {
  MalformedFrame: 100,
  UnknownType: 101,
  BadLength: 102,
  NotFinite: 103,
  BadFlags: 104,
  BadOptions: 105,
  FrameTooLarge: 106,
  TextFrame: 107,
  BadHello: 200,
  BadToken: 201,
  BadVersion: 202,
  NotReset: 203,
  Busy: 204,
  InvalidAction: 300,
  EnvError: 301,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** WebSocket close codes the worker uses (4000–4999 are free for applications). */
export const CloseCode = {
  Normal: 1000,
  MessageTooBig: 1009,
  BadToken: 4001,
  BadVersion: 4002,
  BadHello: 4003,
  Replaced: 4004,
  TooManyErrors: 4005,
  ShuttingDown: 4006,
} as const;

export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly code: ErrorCodeValue,
    message: string,
  ) {
    super(message);
  }
}

/** The client's first (text) frame. */
export interface HelloMessage {
  type: 'hello';
  protocol: number;
  token?: string;
  /** Autoreset mode the client wants the worker's vector env to use (default next-step). */
  autoreset?: AutoresetMode;
  /** Which of the worker's env groups this session drives (default 0; see `SpecMessage.groups`). */
  group?: number;
}

/** The worker's answer to a valid hello: everything the client needs to size its buffers. */
export interface SpecMessage {
  type: 'spec';
  protocol: number;
  envId: string;
  numEnvs: number;
  numAgents: number;
  agents?: string[];
  observationSpace: Space;
  actionSpace: Space;
  obsSize: number;
  actionSize: number;
  /** How the step frame encodes actions: float32 for box action spaces, int32 otherwise. */
  actionDtype: 'float32' | 'int32';
  autoreset: AutoresetMode;
  /** Largest frame the worker accepts (bytes). */
  maxFrameBytes: number;
  /** The worker pings every this many ms and drops a session silent for three intervals. */
  heartbeatMs: number;
  /** The reward the worker's envs pay instead of their own (a parsed reward spec), when it applies one. */
  reward?: unknown;
  /**
   * How many independent env groups the worker hosts (default 1). Each group is driven by its own
   * session; `numEnvs` is this session's group. Frames of all sessions are served one at a time, so a
   * client that keeps one group's request queued while another's is simulated keeps the worker busy.
   */
  groups?: number;
  /** The group this session drives (0 … groups − 1). */
  group?: number;
}

export interface ErrorMessage {
  type: 'error';
  code: ErrorCodeValue;
  message: string;
}

/** Sizes that follow from a spec; both sides derive them the same way. */
export interface FrameSizes {
  numEnvs: number;
  numSlots: number;
  obsSize: number;
  actionSize: number;
  actionDtype: 'float32' | 'int32';
}

export function sizesOf(spec: Pick<SpecMessage, 'numEnvs' | 'numAgents' | 'obsSize' | 'actionSize' | 'actionDtype'>): FrameSizes {
  return { numEnvs: spec.numEnvs, numSlots: spec.numEnvs * spec.numAgents, obsSize: spec.obsSize, actionSize: spec.actionSize, actionDtype: spec.actionDtype };
}

/** Bytes of a step frame. */
export function stepFrameBytes(z: FrameSizes): number {
  return HEADER_BYTES + z.numSlots * z.actionSize * 4;
}

/** Bytes of the fixed part of a step result (before the ended-slot records). */
function stepResultFixedBytes(z: FrameSizes): number {
  return HEADER_BYTES + z.numSlots * z.obsSize * 4 + z.numSlots * 4 + pad4(2 * z.numSlots + z.numEnvs) + 4;
}

/** Bytes of one ended-slot record: slot u32, length u32, return f64, success i32, reserved u32, finalObs f32[obsSize]. */
function endedRecordBytes(z: FrameSizes): number {
  return 24 + z.obsSize * 4;
}

/** Largest step result (every slot ended). */
export function maxStepResultBytes(z: FrameSizes): number {
  return stepResultFixedBytes(z) + z.numSlots * endedRecordBytes(z);
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

export function assertLittleEndian(): void {
  if (endianness() !== 'LE') throw new Error('the sim-worker protocol sends little-endian typed arrays as they lie in memory; this machine is big-endian');
}

function writeHeader(view: DataView, type: FrameTypeCode, seq: number): void {
  view.setUint8(0, type);
  view.setUint8(1, 0);
  view.setUint16(2, 0, true);
  view.setUint32(4, seq >>> 0, true);
}

export interface FrameHeader {
  type: number;
  seq: number;
}

/** Reads and checks the header; the type is not checked against the known ones here. */
export function readHeader(frame: Uint8Array): FrameHeader {
  if (frame.byteLength < HEADER_BYTES) throw new ProtocolError(ErrorCode.BadLength, `frame of ${frame.byteLength} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.getUint8(1) !== 0 || view.getUint16(2, true) !== 0) throw new ProtocolError(ErrorCode.MalformedFrame, 'header reserved bytes must be 0');
  return { type: view.getUint8(0), seq: view.getUint32(4, true) };
}

/** Copies `count` little-endian 4-byte values from `src` (any alignment) into `dst` starting at element `at`. */
function copyIn(src: Uint8Array, srcOffset: number, dst: Float32Array | Int32Array, at: number, count: number): void {
  new Uint8Array(dst.buffer, dst.byteOffset + at * 4, count * 4).set(src.subarray(srcOffset, srcOffset + count * 4));
}

function copyOut(src: Float32Array | Int32Array, at: number, count: number, dst: Uint8Array, dstOffset: number): void {
  dst.set(new Uint8Array(src.buffer, src.byteOffset + at * 4, count * 4), dstOffset);
}

function firstNonFinite(a: Float32Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const x = a[i]!;
    if (x - x !== 0) return i; // NaN and ±Infinity
  }
  return -1;
}

// --- handshake (JSON text frames) ----------------------------------------------------------------

export function parseHello(text: string): HelloMessage {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    throw new ProtocolError(ErrorCode.BadHello, 'the first frame must be a JSON hello');
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new ProtocolError(ErrorCode.BadHello, 'the hello must be a JSON object');
  const m = msg as Record<string, unknown>;
  if (m.type !== 'hello') throw new ProtocolError(ErrorCode.BadHello, `expected type "hello", got ${JSON.stringify(m.type)}`);
  if (typeof m.protocol !== 'number' || !Number.isInteger(m.protocol)) throw new ProtocolError(ErrorCode.BadHello, 'hello.protocol must be an integer');
  if (m.token !== undefined && typeof m.token !== 'string') throw new ProtocolError(ErrorCode.BadHello, 'hello.token must be a string');
  if (m.autoreset !== undefined && m.autoreset !== 'next-step' && m.autoreset !== 'same-step') throw new ProtocolError(ErrorCode.BadHello, 'hello.autoreset must be "next-step" or "same-step"');
  if (m.group !== undefined && (typeof m.group !== 'number' || !Number.isInteger(m.group) || m.group < 0)) throw new ProtocolError(ErrorCode.BadHello, 'hello.group must be a non-negative integer');
  return {
    type: 'hello',
    protocol: m.protocol,
    ...(m.token !== undefined ? { token: m.token as string } : {}),
    ...(m.autoreset !== undefined ? { autoreset: m.autoreset as AutoresetMode } : {}),
    ...(m.group !== undefined ? { group: m.group as number } : {}),
  };
}

// --- client → worker -----------------------------------------------------------------------------

export interface ResetRequest {
  seq: number;
  seed?: number;
  options?: Record<string, unknown>;
}

export function encodeReset(req: ResetRequest): Buffer {
  const options = req.options === undefined ? null : Buffer.from(JSON.stringify(req.options), 'utf8');
  const frame = Buffer.alloc(HEADER_BYTES + 16 + (options?.byteLength ?? 0));
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  writeHeader(view, FrameType.Reset, req.seq);
  view.setUint8(8, req.seed !== undefined ? 1 : 0);
  view.setFloat64(16, req.seed ?? 0, true);
  if (options) options.copy(frame, HEADER_BYTES + 16);
  return frame;
}

export function decodeReset(frame: Uint8Array): ResetRequest {
  const { type, seq } = readHeader(frame);
  if (type !== FrameType.Reset) throw new ProtocolError(ErrorCode.UnknownType, `expected a reset frame, got type ${type}`);
  if (frame.byteLength < HEADER_BYTES + 16) throw new ProtocolError(ErrorCode.BadLength, `a reset frame has at least ${HEADER_BYTES + 16} bytes, got ${frame.byteLength}`);
  if (frame.byteLength > HEADER_BYTES + 16 + MAX_RESET_OPTIONS_BYTES) throw new ProtocolError(ErrorCode.FrameTooLarge, `reset options exceed ${MAX_RESET_OPTIONS_BYTES} bytes`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const flags = view.getUint8(8);
  if (flags > 1) throw new ProtocolError(ErrorCode.BadFlags, `reset flags must be 0 or 1, got ${flags}`);
  for (let i = 9; i < 16; i++) if (view.getUint8(i) !== 0) throw new ProtocolError(ErrorCode.MalformedFrame, 'reset reserved bytes must be 0');
  const seed = view.getFloat64(16, true);
  const out: ResetRequest = { seq };
  if (flags === 1) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new ProtocolError(ErrorCode.NotFinite, `reset seed must be a non-negative safe integer, got ${seed}`);
    out.seed = seed;
  } else if (seed !== 0) throw new ProtocolError(ErrorCode.MalformedFrame, 'reset without a seed must carry seed 0');
  if (frame.byteLength > HEADER_BYTES + 16) {
    let options: unknown;
    try {
      options = JSON.parse(Buffer.from(frame.buffer, frame.byteOffset + HEADER_BYTES + 16, frame.byteLength - HEADER_BYTES - 16).toString('utf8'));
    } catch {
      throw new ProtocolError(ErrorCode.BadOptions, 'reset options are not valid JSON');
    }
    if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new ProtocolError(ErrorCode.BadOptions, 'reset options must be a JSON object');
    out.options = options as Record<string, unknown>;
  }
  return out;
}

/** A step frame: the flat action buffer (float32 for box spaces, int32 otherwise) after the header. */
export function encodeStep(z: FrameSizes, seq: number, actions: ArrayLike<number>): Buffer {
  const n = z.numSlots * z.actionSize;
  if (actions.length !== n) throw new RangeError(`expected ${n} actions (${z.numSlots} slots × ${z.actionSize}), got ${actions.length}`);
  const frame = Buffer.allocUnsafe(HEADER_BYTES + n * 4);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  writeHeader(view, FrameType.Step, seq);
  if (z.actionDtype === 'float32' && actions instanceof Float32Array) copyOut(actions, 0, n, frame, HEADER_BYTES);
  else if (z.actionDtype === 'int32' && actions instanceof Int32Array) copyOut(actions, 0, n, frame, HEADER_BYTES);
  else if (z.actionDtype === 'float32') for (let i = 0; i < n; i++) view.setFloat32(HEADER_BYTES + 4 * i, actions[i]!, true);
  else for (let i = 0; i < n; i++) view.setInt32(HEADER_BYTES + 4 * i, actions[i]!, true);
  return frame;
}

/** Decodes a step frame into `into` (the worker's action buffer); float actions must be finite. */
export function decodeStep(z: FrameSizes, frame: Uint8Array, into: Float32Array | Int32Array): number {
  const { type, seq } = readHeader(frame);
  if (type !== FrameType.Step) throw new ProtocolError(ErrorCode.UnknownType, `expected a step frame, got type ${type}`);
  const n = z.numSlots * z.actionSize;
  if (frame.byteLength !== stepFrameBytes(z)) throw new ProtocolError(ErrorCode.BadLength, `a step frame has ${stepFrameBytes(z)} bytes (${n} ${z.actionDtype} actions), got ${frame.byteLength}`);
  copyIn(frame, HEADER_BYTES, into, 0, n);
  if (into instanceof Float32Array) {
    const bad = firstNonFinite(into, 0, n);
    if (bad >= 0) throw new ProtocolError(ErrorCode.NotFinite, `action ${bad} (slot ${Math.floor(bad / z.actionSize)}) is ${into[bad]}, not a finite number`);
  }
  return seq;
}

// --- worker → client -----------------------------------------------------------------------------

export function encodeResetResult(z: FrameSizes, seq: number, obs: Float32Array): Buffer {
  const n = z.numSlots * z.obsSize;
  const frame = Buffer.allocUnsafe(HEADER_BYTES + n * 4);
  writeHeader(new DataView(frame.buffer, frame.byteOffset, frame.byteLength), FrameType.ResetResult, seq);
  copyOut(obs, 0, n, frame, HEADER_BYTES);
  return frame;
}

/** Decodes a reset result into `obs`; every observation must be finite. */
export function decodeResetResult(z: FrameSizes, frame: Uint8Array, obs: Float32Array): number {
  const { type, seq } = readHeader(frame);
  if (type !== FrameType.ResetResult) throw new ProtocolError(ErrorCode.UnknownType, `expected a reset result, got type ${type}`);
  const n = z.numSlots * z.obsSize;
  if (frame.byteLength !== HEADER_BYTES + n * 4) throw new ProtocolError(ErrorCode.BadLength, `a reset result has ${HEADER_BYTES + n * 4} bytes, got ${frame.byteLength}`);
  copyIn(frame, HEADER_BYTES, obs, 0, n);
  const bad = firstNonFinite(obs, 0, n);
  if (bad >= 0) throw new ProtocolError(ErrorCode.NotFinite, `observation ${bad} is ${obs[bad]}, not finite`);
  return seq;
}

/** One slot whose episode ended on this step. */
export interface EndedSlot {
  slot: number;
  length: number;
  return: number;
  /** -1: the env does not report success; 0 / 1: failure / success. */
  success: -1 | 0 | 1;
}

/** What a step result carries; the arrays are the sender's (encode) or the receiver's (decode) buffers. */
export interface StepResultBuffers {
  obs: Float32Array;
  rewards: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  autoreset: Uint8Array;
  finalObs: Float32Array;
}

export function encodeStepResult(z: FrameSizes, seq: number, b: StepResultBuffers, ended: readonly EndedSlot[]): Buffer {
  const { numSlots: S, obsSize: O, numEnvs: E } = z;
  const fixed = stepResultFixedBytes(z);
  const frame = Buffer.alloc(fixed + ended.length * endedRecordBytes(z));
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  writeHeader(view, FrameType.StepResult, seq);
  let at = HEADER_BYTES;
  copyOut(b.obs, 0, S * O, frame, at);
  at += S * O * 4;
  copyOut(b.rewards, 0, S, frame, at);
  at += S * 4;
  frame.set(b.terminated.subarray(0, S), at);
  frame.set(b.truncated.subarray(0, S), at + S);
  frame.set(b.autoreset.subarray(0, E), at + 2 * S);
  at += pad4(2 * S + E);
  view.setUint32(at, ended.length, true);
  at += 4;
  for (const e of ended) {
    view.setUint32(at, e.slot, true);
    view.setUint32(at + 4, e.length, true);
    view.setFloat64(at + 8, e.return, true);
    view.setInt32(at + 16, e.success, true);
    copyOut(b.finalObs, e.slot * O, O, frame, at + 24);
    at += endedRecordBytes(z);
  }
  return frame;
}

/**
 * Decodes a step result into the receiver's buffers (rows of `finalObs` of the ended slots) and fills
 * `ended` (cleared first). Validates the length, flags (0/1, an ended slot has terminated or truncated
 * set, no slot listed twice) and that every float is finite. Nothing is trusted before the whole frame
 * has been checked, so decode into scratch buffers when a partial write would matter.
 */
export function decodeStepResult(z: FrameSizes, frame: Uint8Array, b: StepResultBuffers, ended: EndedSlot[]): number {
  const { type, seq } = readHeader(frame);
  if (type !== FrameType.StepResult) throw new ProtocolError(ErrorCode.UnknownType, `expected a step result, got type ${type}`);
  const { numSlots: S, obsSize: O, numEnvs: E } = z;
  const fixed = stepResultFixedBytes(z);
  if (frame.byteLength < fixed) throw new ProtocolError(ErrorCode.BadLength, `a step result has at least ${fixed} bytes, got ${frame.byteLength}`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let at = HEADER_BYTES;
  copyIn(frame, at, b.obs, 0, S * O);
  let bad = firstNonFinite(b.obs, 0, S * O);
  if (bad >= 0) throw new ProtocolError(ErrorCode.NotFinite, `observation ${bad} is ${b.obs[bad]}, not finite`);
  at += S * O * 4;
  copyIn(frame, at, b.rewards, 0, S);
  bad = firstNonFinite(b.rewards, 0, S);
  if (bad >= 0) throw new ProtocolError(ErrorCode.NotFinite, `reward of slot ${bad} is ${b.rewards[bad]}, not finite`);
  at += S * 4;
  for (let i = 0; i < 2 * S + E; i++) if (frame[at + i]! > 1) throw new ProtocolError(ErrorCode.BadFlags, `episode flag byte ${i} is ${frame[at + i]}, not 0 or 1`);
  b.terminated.set(frame.subarray(at, at + S));
  b.truncated.set(frame.subarray(at + S, at + 2 * S));
  b.autoreset.set(frame.subarray(at + 2 * S, at + 2 * S + E));
  at += pad4(2 * S + E);
  const count = view.getUint32(at, true);
  at += 4;
  if (count > S || frame.byteLength !== fixed + count * endedRecordBytes(z)) {
    throw new ProtocolError(ErrorCode.BadLength, `a step result with ${count} ended slots has ${fixed + Math.min(count, S) * endedRecordBytes(z)} bytes, got ${frame.byteLength}`);
  }
  ended.length = 0;
  let previous = -1;
  for (let k = 0; k < count; k++) {
    const slot = view.getUint32(at, true);
    const length = view.getUint32(at + 4, true);
    const ret = view.getFloat64(at + 8, true);
    const success = view.getInt32(at + 16, true);
    if (slot >= S || slot <= previous) throw new ProtocolError(ErrorCode.MalformedFrame, `ended slot ${slot} is out of range or out of order`);
    if (!b.terminated[slot] && !b.truncated[slot]) throw new ProtocolError(ErrorCode.BadFlags, `slot ${slot} is listed as ended but neither terminated nor truncated`);
    if (!Number.isFinite(ret)) throw new ProtocolError(ErrorCode.NotFinite, `episode return of slot ${slot} is ${ret}`);
    if (success !== -1 && success !== 0 && success !== 1) throw new ProtocolError(ErrorCode.BadFlags, `success of slot ${slot} is ${success}, not -1, 0 or 1`);
    if (view.getUint32(at + 20, true) !== 0) throw new ProtocolError(ErrorCode.MalformedFrame, 'ended-slot reserved bytes must be 0');
    copyIn(frame, at + 24, b.finalObs, slot * O, O);
    bad = firstNonFinite(b.finalObs, slot * O, (slot + 1) * O);
    if (bad >= 0) throw new ProtocolError(ErrorCode.NotFinite, `final observation of slot ${slot} is not finite`);
    ended.push({ slot, length, return: ret, success: success as -1 | 0 | 1 });
    previous = slot;
    at += endedRecordBytes(z);
  }
  for (let s = 0; s < S; s++) {
    if ((b.terminated[s] || b.truncated[s]) && !ended.some((e) => e.slot === s)) throw new ProtocolError(ErrorCode.BadFlags, `slot ${s} ended without an episode record`);
  }
  return seq;
}

export function encodeError(seq: number, code: ErrorCodeValue, message: string): Buffer {
  let text = Buffer.from(message, 'utf8');
  if (text.byteLength > MAX_ERROR_MESSAGE_BYTES) text = text.subarray(0, MAX_ERROR_MESSAGE_BYTES);
  const frame = Buffer.alloc(HEADER_BYTES + 4 + text.byteLength);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  writeHeader(view, FrameType.Error, seq);
  view.setUint16(8, code, true);
  text.copy(frame, HEADER_BYTES + 4);
  return frame;
}

export function decodeError(frame: Uint8Array): { seq: number; code: number; message: string } {
  const { type, seq } = readHeader(frame);
  if (type !== FrameType.Error) throw new ProtocolError(ErrorCode.UnknownType, `expected an error frame, got type ${type}`);
  if (frame.byteLength < HEADER_BYTES + 4 || frame.byteLength > HEADER_BYTES + 4 + MAX_ERROR_MESSAGE_BYTES) throw new ProtocolError(ErrorCode.BadLength, `error frame of ${frame.byteLength} bytes`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return { seq, code: view.getUint16(8, true), message: Buffer.from(frame.buffer, frame.byteOffset + HEADER_BYTES + 4, frame.byteLength - HEADER_BYTES - 4).toString('utf8') };
}
