/**
 * The rewardlab replay format (`.rlr`), version 2: one recorded episode with everything the viewer
 * and the frame renderer draw — a scene description (static and dynamic bodies with shapes, colours
 * and drawn parts, named cameras), per-frame body transforms and scene signals, and per-step reward
 * components, actions and events. Version 1 files (no signals) still decode.
 *
 * Browser-safe: no Node imports (the viewer imports this module); compression is fflate's deflate.
 *
 * Layout of a file:
 *   bytes 0–3   magic "RLRP"
 *   bytes 4–5   format version (uint16, little endian)
 *   bytes 6–7   reserved (0)
 *   bytes 8–    raw deflate of the payload:
 *     uint32    length L of the header JSON (UTF-8)
 *     L bytes   header JSON: { meta, scene, frameCount, componentNames, actionSize, events }
 *     padding   to a multiple of 4
 *     columns   float32 little endian, each byte-shuffled (all first bytes, then all second bytes…),
 *               which lets deflate find the slowly changing high bytes of smooth trajectories:
 *               transforms  frameCount × bodies × 7 (x, y, z, qx, qy, qz, qw), body-major
 *               rewards     frameCount × agents × components (frame, then agent, then component)
 *               actions     frameCount × agents × actionSize
               signals     frameCount × scene.signals (version 2; absent in version 1)
 * Frame 0 is the state after reset; frame i ≥ 1 is the state after step i, and the rewards, actions
 * and events at frame i belong to that step (frame 0's are zero).
 */
import { deflateSync, inflateSync } from 'fflate';

export const REPLAY_FORMAT_VERSION = 2;
/** Versions this build decodes. */
export const REPLAY_READABLE_VERSIONS = [1, 2] as const;
export const REPLAY_MAGIC = 'RLRP';
/** Floats per body per frame: position (3) and orientation quaternion x, y, z, w (4). */
export const TRANSFORM_SIZE = 7;

export type ReplayVec3 = [number, number, number];
export type ReplayQuat = [number, number, number, number];

export type ReplayShape =
  | { kind: 'box'; halfExtents: ReplayVec3 }
  | { kind: 'sphere'; radius: number }
  /** Along the body's local z axis; `halfLength` excludes the hemispherical caps. */
  | { kind: 'capsule'; radius: number; halfLength: number }
  /** Along the body's local z axis. */
  | { kind: 'cylinder'; radius: number; halfLength: number }
  /** A flat annulus in the body's local x–y plane (field circles, ground markers). */
  | { kind: 'ring'; innerRadius: number; outerRadius: number };

/**
 * A scene signal switches how a body or part is drawn from frame to frame: on when the frame's value
 * of the named signal is > 0.5 (a boost pad's availability, a car's boost). Signals are named in
 * `ReplayScene.signals`; their per-frame values are the replay's `signals` column.
 */
export interface SignalToggle {
  signal: string;
  /** Colour while the signal is off; without it, the body or part is hidden while off. */
  offColor?: string;
}

/** One drawn piece of a dynamic body, posed in the body's frame. */
export interface BodyPart {
  name: string;
  shape: ReplayShape;
  color: string;
  /** Offset in the body's frame. */
  position?: ReplayVec3;
  quat?: ReplayQuat;
  opacity?: number;
  toggle?: SignalToggle;
}

/** A fixed camera: where it is, what it looks at, its vertical field of view. */
export interface SceneCamera {
  position: ReplayVec3;
  target: ReplayVec3;
  fovDeg: number;
  /** The camera's up direction (default the scene's up axis; a top-down camera needs another). */
  up?: ReplayVec3;
}

export interface StaticBody {
  name: string;
  shape: ReplayShape;
  /** CSS colour, `#rrggbb`. */
  color: string;
  position: ReplayVec3;
  quat?: ReplayQuat;
  /** 0–1, default 1. */
  opacity?: number;
  toggle?: SignalToggle;
}

export interface DynamicBody {
  name: string;
  /** The body's physical shape (what cameras frame and loaders check). */
  shape: ReplayShape;
  color: string;
  /** The agent slot this body belongs to, if any (cars, the cart). */
  agent?: number;
  opacity?: number;
  /** What is drawn instead of `shape` (a car's chassis, cabin, wheels and boost flame). */
  parts?: BodyPart[];
}

export interface ReplayScene {
  /** Which world axis is up. */
  up: 'y' | 'z';
  /** Length unit of positions and shapes (`m` or `uu`). */
  units: string;
  /** A point and distance for a default camera. */
  camera?: { target: ReplayVec3; distance: number };
  staticBodies: StaticBody[];
  dynamicBodies: DynamicBody[];
  /** Agent slot names, in slot order. */
  agents: string[];
  /** Background colour, `#rrggbb` (default the viewer's dark grey). */
  background?: string;
  /** `lit` (default): a sky light and a sun shade the bodies; `flat`: every body in its plain colour (Gymnasium's 2-D renders). */
  lighting?: 'lit' | 'flat';
  /** Named fixed cameras (the frame renderer's `camera` option; the first is its default). */
  cameras?: Record<string, SceneCamera>;
  /** Names of the per-frame scalar signals that toggles read. */
  signals?: string[];
}

export interface ReplayMeta {
  envId: string;
  /** Frames per second of env time. */
  hz: number;
  runId?: string;
  episode?: number;
  /** Global training step when the episode was recorded. */
  step?: number;
  seed?: number;
  /** `train` or `eval`. */
  kind?: string;
  reward?: string;
  createdAt?: string;
  [key: string]: unknown;
}

export interface ReplayEvent {
  frame: number;
  /** Agent slot, or −1 for the whole env. */
  agent: number;
  type: string;
  value?: number;
}

export interface Replay {
  version: number;
  meta: ReplayMeta;
  scene: ReplayScene;
  frameCount: number;
  /** frameCount × dynamicBodies × 7. */
  transforms: Float32Array;
  componentNames: string[];
  /** frameCount × agents × componentNames. */
  rewards: Float32Array;
  actionSize: number;
  /** frameCount × agents × actionSize. */
  actions: Float32Array;
  /** frameCount × scene.signals (empty when the scene has none). */
  signals: Float32Array;
  events: ReplayEvent[];
}

export class ReplayFormatError extends Error {
  override name = 'ReplayFormatError';
}

function shuffleInto(src: Float32Array, out: Uint8Array, offset: number): void {
  const bytes = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  const n = src.length;
  for (let b = 0; b < 4; b++) {
    const plane = offset + b * n;
    for (let i = 0; i < n; i++) out[plane + i] = bytes[i * 4 + b]!;
  }
}

function unshuffle(src: Uint8Array, offset: number, n: number): Float32Array {
  const out = new Float32Array(n);
  const bytes = new Uint8Array(out.buffer);
  for (let b = 0; b < 4; b++) {
    const plane = offset + b * n;
    for (let i = 0; i < n; i++) bytes[i * 4 + b] = src[plane + i]!;
  }
  return out;
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The expected column lengths of a replay, checked on encode and decode. */
function columnSizes(r: Pick<Replay, 'frameCount' | 'scene' | 'componentNames' | 'actionSize'>, version = REPLAY_FORMAT_VERSION): number[] {
  const agents = r.scene.agents.length;
  const sizes = [r.frameCount * r.scene.dynamicBodies.length * TRANSFORM_SIZE, r.frameCount * agents * r.componentNames.length, r.frameCount * agents * r.actionSize];
  if (version >= 2) sizes.push(r.frameCount * (r.scene.signals?.length ?? 0));
  return sizes;
}

const COLUMN_NAMES = ['transforms', 'rewards', 'actions', 'signals'] as const;
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

export function encodeReplay(replay: Replay, level: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 = 6): Uint8Array {
  if (!littleEndian) throw new ReplayFormatError('encoding replays needs a little-endian platform');
  const sizes = columnSizes(replay);
  const columns = [replay.transforms, replay.rewards, replay.actions, replay.signals ?? new Float32Array(0)];
  for (let i = 0; i < columns.length; i++) {
    if (columns[i]!.length !== sizes[i]) throw new ReplayFormatError(`replay ${COLUMN_NAMES[i]} has ${columns[i]!.length} values, expected ${sizes[i]}`);
  }
  const header = new TextEncoder().encode(
    JSON.stringify({ meta: replay.meta, scene: replay.scene, frameCount: replay.frameCount, componentNames: replay.componentNames, actionSize: replay.actionSize, events: replay.events }),
  );
  const headerEnd = 4 + header.length;
  const columnsStart = Math.ceil(headerEnd / 4) * 4;
  const payload = new Uint8Array(columnsStart + sum(sizes) * 4);
  new DataView(payload.buffer).setUint32(0, header.length, true);
  payload.set(header, 4);
  let offset = columnsStart;
  for (const column of columns) {
    shuffleInto(column, payload, offset);
    offset += column.length * 4;
  }
  const compressed = deflateSync(payload, { level });
  const out = new Uint8Array(8 + compressed.length);
  for (let i = 0; i < 4; i++) out[i] = REPLAY_MAGIC.charCodeAt(i);
  new DataView(out.buffer).setUint16(4, REPLAY_FORMAT_VERSION, true);
  out.set(compressed, 8);
  return out;
}

export function decodeReplay(bytes: Uint8Array): Replay {
  if (bytes.length < 8) throw new ReplayFormatError(`not a rewardlab replay: ${bytes.length} bytes is shorter than the 8-byte header`);
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== REPLAY_MAGIC.charCodeAt(i)) throw new ReplayFormatError('not a rewardlab replay: the file does not start with "RLRP"');
  }
  const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(4, true);
  if (!(REPLAY_READABLE_VERSIONS as readonly number[]).includes(version)) {
    throw new ReplayFormatError(`unsupported replay format version ${version} (this build reads versions ${REPLAY_READABLE_VERSIONS.join(' and ')})`);
  }
  let payload: Uint8Array;
  try {
    payload = inflateSync(bytes.subarray(8));
  } catch (err) {
    throw new ReplayFormatError(`corrupt replay: the compressed payload does not inflate (${(err as Error).message})`);
  }
  if (payload.length < 4) throw new ReplayFormatError('corrupt replay: the payload is truncated');
  const headerLength = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0, true);
  if (4 + headerLength > payload.length) throw new ReplayFormatError('corrupt replay: the header runs past the end of the payload');
  let header: Omit<Replay, 'version' | 'transforms' | 'rewards' | 'actions' | 'signals'>;
  try {
    header = JSON.parse(new TextDecoder().decode(payload.subarray(4, 4 + headerLength)));
  } catch {
    throw new ReplayFormatError('corrupt replay: the header is not valid JSON');
  }
  if (
    !header ||
    typeof header.frameCount !== 'number' ||
    !header.scene ||
    !Array.isArray(header.scene.dynamicBodies) ||
    !Array.isArray(header.scene.agents) ||
    !Array.isArray(header.componentNames) ||
    typeof header.actionSize !== 'number' ||
    !Array.isArray(header.events)
  ) {
    throw new ReplayFormatError('corrupt replay: the header lacks frameCount, scene, componentNames, actionSize or events');
  }
  if (header.scene.signals !== undefined && !(Array.isArray(header.scene.signals) && header.scene.signals.every((n) => typeof n === 'string'))) {
    throw new ReplayFormatError('corrupt replay: the scene\'s signals are not a list of names');
  }
  if (version < 2) header.scene.signals = undefined;
  const sizes = columnSizes(header, version);
  let offset = Math.ceil((4 + headerLength) / 4) * 4;
  if (offset + sum(sizes) * 4 !== payload.length) {
    throw new ReplayFormatError(`corrupt replay: the payload has ${payload.length} bytes, the header describes ${offset + sum(sizes) * 4}`);
  }
  const [transforms, rewards, actions, signals = new Float32Array(0)] = sizes.map((n) => {
    const column = unshuffle(payload, offset, n);
    offset += n * 4;
    return column;
  }) as [Float32Array, Float32Array, Float32Array, Float32Array?];
  return { version, ...header, transforms, rewards, actions, signals };
}

/** Transform of body `body` at `frame`: a view of 7 floats (x, y, z, qx, qy, qz, qw). */
export function frameTransform(replay: Replay, frame: number, body: number): Float32Array {
  const bodies = replay.scene.dynamicBodies.length;
  const start = (frame * bodies + body) * TRANSFORM_SIZE;
  return replay.transforms.subarray(start, start + TRANSFORM_SIZE);
}

/** Writes body `body`'s transform (position x, y, z and quaternion q) into a frame's transforms. */
export function writeTransform(out: Float32Array, body: number, x: number, y: number, z: number, q: ArrayLike<number>): void {
  const o = body * TRANSFORM_SIZE;
  out[o] = x;
  out[o + 1] = y;
  out[o + 2] = z;
  out[o + 3] = q[0]!;
  out[o + 4] = q[1]!;
  out[o + 5] = q[2]!;
  out[o + 6] = q[3]!;
}

/** The scene signals at `frame`: a view of `scene.signals.length` floats. */
export function frameSignals(replay: Replay, frame: number): Float32Array {
  const n = replay.scene.signals?.length ?? 0;
  return replay.signals.subarray(frame * n, frame * n + n);
}

/** Reward component `component` of agent `agent` for the step that produced `frame`. */
export function frameReward(replay: Replay, frame: number, agent: number, component: number): number {
  const agents = replay.scene.agents.length;
  return replay.rewards[(frame * agents + agent) * replay.componentNames.length + component]!;
}
