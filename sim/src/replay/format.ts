/**
 * The rewardlab replay format (`.rlr`), version 1: one recorded episode with everything the viewer
 * draws — a scene description (static and dynamic bodies with shapes and colours), per-frame body
 * transforms, and per-step reward components, actions and events.
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
 * Frame 0 is the state after reset; frame i ≥ 1 is the state after step i, and the rewards, actions
 * and events at frame i belong to that step (frame 0's are zero).
 */
import { deflateSync, inflateSync } from 'fflate';

export const REPLAY_FORMAT_VERSION = 1;
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
  | { kind: 'cylinder'; radius: number; halfLength: number };

export interface StaticBody {
  name: string;
  shape: ReplayShape;
  /** CSS colour, `#rrggbb`. */
  color: string;
  position: ReplayVec3;
  quat?: ReplayQuat;
  /** 0–1, default 1. */
  opacity?: number;
}

export interface DynamicBody {
  name: string;
  shape: ReplayShape;
  color: string;
  /** The agent slot this body belongs to, if any (cars, the cart). */
  agent?: number;
  opacity?: number;
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
function columnSizes(r: Pick<Replay, 'frameCount' | 'scene' | 'componentNames' | 'actionSize'>): [number, number, number] {
  const agents = r.scene.agents.length;
  return [r.frameCount * r.scene.dynamicBodies.length * TRANSFORM_SIZE, r.frameCount * agents * r.componentNames.length, r.frameCount * agents * r.actionSize];
}

export function encodeReplay(replay: Replay, level: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 = 6): Uint8Array {
  if (!littleEndian) throw new ReplayFormatError('encoding replays needs a little-endian platform');
  const sizes = columnSizes(replay);
  const columns = [replay.transforms, replay.rewards, replay.actions];
  const names = ['transforms', 'rewards', 'actions'];
  for (let i = 0; i < 3; i++) {
    if (columns[i]!.length !== sizes[i]) throw new ReplayFormatError(`replay ${names[i]} has ${columns[i]!.length} values, expected ${sizes[i]}`);
  }
  const header = new TextEncoder().encode(
    JSON.stringify({ meta: replay.meta, scene: replay.scene, frameCount: replay.frameCount, componentNames: replay.componentNames, actionSize: replay.actionSize, events: replay.events }),
  );
  const headerEnd = 4 + header.length;
  const columnsStart = Math.ceil(headerEnd / 4) * 4;
  const payload = new Uint8Array(columnsStart + (sizes[0] + sizes[1] + sizes[2]) * 4);
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
  if (version !== REPLAY_FORMAT_VERSION) {
    throw new ReplayFormatError(`unsupported replay format version ${version} (this build reads version ${REPLAY_FORMAT_VERSION})`);
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
  let header: Omit<Replay, 'version' | 'transforms' | 'rewards' | 'actions'>;
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
  const sizes = columnSizes(header);
  let offset = Math.ceil((4 + headerLength) / 4) * 4;
  if (offset + (sizes[0] + sizes[1] + sizes[2]) * 4 !== payload.length) {
    throw new ReplayFormatError(`corrupt replay: the payload has ${payload.length} bytes, the header describes ${offset + (sizes[0] + sizes[1] + sizes[2]) * 4}`);
  }
  const [transforms, rewards, actions] = sizes.map((n) => {
    const column = unshuffle(payload, offset, n);
    offset += n * 4;
    return column;
  }) as [Float32Array, Float32Array, Float32Array];
  return { version, ...header, transforms, rewards, actions };
}

/** Transform of body `body` at `frame`: a view of 7 floats (x, y, z, qx, qy, qz, qw). */
export function frameTransform(replay: Replay, frame: number, body: number): Float32Array {
  const bodies = replay.scene.dynamicBodies.length;
  const start = (frame * bodies + body) * TRANSFORM_SIZE;
  return replay.transforms.subarray(start, start + TRANSFORM_SIZE);
}

/** Reward component `component` of agent `agent` for the step that produced `frame`. */
export function frameReward(replay: Replay, frame: number, agent: number, component: number): number {
  const agents = replay.scene.agents.length;
  return replay.rewards[(frame * agents + agent) * replay.componentNames.length + component]!;
}
