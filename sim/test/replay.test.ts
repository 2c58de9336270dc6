import { describe, expect, it } from 'vitest';
import {
  REPLAY_FORMAT_VERSION,
  ReplayBuilder,
  ReplayFormatError,
  carballScene,
  carballSignals,
  carballTransforms,
  cartPoleScene,
  cartPoleTransforms,
  decodeReplay,
  encodeReplay,
  frameReward,
  frameSignals,
  frameTransform,
  pendulumTransforms,
  replaySourceFor,
  type Replay,
} from '../src/replay';
import type { CarballState, CarState } from '../src/envs/carball/state';

function cartPoleReplay(frames: number): Replay {
  const builder = new ReplayBuilder(cartPoleScene(), { envId: 'CartPole-v1', hz: 50 }, 1);
  for (let f = 0; f < frames; f++) {
    const state = [0.01 * f, 0, 0.002 * f, 0];
    builder.addFrame(cartPoleTransforms(state), f === 0 ? {} : { rewards: { alive: [1] }, actions: [f % 2], events: f === 3 ? [{ agent: 0, type: 'touch', value: 1 }] : [] });
  }
  return builder.build();
}

/** A 2v2 carball state at time t: smooth drives around the field, the ball bouncing. */
function syntheticCarballState(t: number, jitter: () => number): CarballState {
  const cars: CarState[] = [0, 1, 2, 3].map((i) => {
    const phase = t * (0.3 + 0.05 * i) + i;
    const yaw = phase + Math.PI / 2;
    return {
      id: i,
      team: (i < 2 ? 0 : 1) as 0 | 1,
      pos: [3000 * Math.cos(phase) + jitter(), 4000 * Math.sin(phase) + jitter(), 17 + Math.max(0, 300 * Math.sin(t * 0.7 + i)) + jitter()],
      vel: [0, 0, 0],
      angVel: [0, 0, 0],
      quat: [0, 0, Math.sin(yaw / 2), Math.cos(yaw / 2)],
      boost: 50,
      onGround: true,
      demolished: false,
    };
  });
  return {
    tick: Math.round(t * 120),
    score: [0, 0],
    ball: { pos: [2000 * Math.sin(t * 0.5), 3000 * Math.cos(t * 0.4), 93 + Math.abs(800 * Math.sin(t * 1.3))], vel: [0, 0, 0], angVel: [0, 0, 0] },
    cars,
  };
}

describe('replay format', () => {
  it('round-trips scene, transforms, rewards, actions and events', () => {
    const replay = cartPoleReplay(20);
    const decoded = decodeReplay(encodeReplay(replay));
    expect(decoded.version).toBe(REPLAY_FORMAT_VERSION);
    expect(decoded.meta).toEqual(replay.meta);
    expect(decoded.scene).toEqual(replay.scene);
    expect(decoded.frameCount).toBe(20);
    expect(Array.from(decoded.transforms)).toEqual(Array.from(replay.transforms));
    expect(decoded.componentNames).toEqual(['alive']);
    expect(frameReward(decoded, 0, 0, 0)).toBe(0);
    expect(frameReward(decoded, 5, 0, 0)).toBe(1);
    expect(Array.from(decoded.actions)).toEqual(Array.from(replay.actions));
    expect(decoded.events).toEqual([{ frame: 3, agent: 0, type: 'touch', value: 1 }]);
  });

  it('rejects a file that is not a replay', () => {
    expect(() => decodeReplay(new TextEncoder().encode('{"json": true}'))).toThrow(/does not start with "RLRP"/);
    expect(() => decodeReplay(new Uint8Array(3))).toThrow(ReplayFormatError);
  });

  it('rejects a corrupt payload with a clear error', () => {
    const bytes = encodeReplay(cartPoleReplay(50));
    const truncated = bytes.slice(0, bytes.length - 40);
    expect(() => decodeReplay(truncated)).toThrow(/corrupt replay/);
    const flipped = bytes.slice();
    for (let i = 20; i < 60; i++) flipped[i] = flipped[i]! ^ 0xa5;
    expect(() => decodeReplay(flipped)).toThrow(ReplayFormatError);
  });

  it('names the unsupported version', () => {
    const bytes = encodeReplay(cartPoleReplay(5));
    new DataView(bytes.buffer).setUint16(4, 99, true);
    expect(() => decodeReplay(bytes)).toThrow('unsupported replay format version 99 (this build reads versions 1 and 2)');
  });

  it('round-trips scene signals (carball: pads, then boost flames) frame by frame', () => {
    const state = syntheticCarballState(1, () => 0);
    const builder = new ReplayBuilder(carballScene(state), { envId: 'carball-2v2', hz: 15 }, 1);
    const pads = Array.from({ length: 34 }, (_, p) => (p === 5 ? 3.5 : 0));
    for (let f = 0; f < 3; f++) {
      const s: CarballState = { ...state, boostPads: f === 1 ? pads : undefined, cars: state.cars.map((c, i) => ({ ...c, boosting: f === 2 && i === 3 })) };
      builder.addFrame(carballTransforms(s), {}, carballSignals(s));
    }
    const decoded = decodeReplay(encodeReplay(builder.build()));
    expect(decoded.scene.signals).toHaveLength(34 + 4);
    // Signal = 1 while the pad is available (timer 0), 0 while it respawns; a car's flame only while it boosts.
    expect(frameSignals(decoded, 0)[5]).toBe(1);
    expect(frameSignals(decoded, 1)[5]).toBe(0);
    expect(frameSignals(decoded, 1)[4]).toBe(1);
    expect(Array.from(frameSignals(decoded, 2).subarray(34))).toEqual([0, 0, 0, 1]);
  });

  it('still decodes version 1 files (no signal column)', () => {
    const replay = cartPoleReplay(4);
    const bytes = encodeReplay(replay);
    // A version 1 file is the same layout without the (here empty) signal column.
    new DataView(bytes.buffer).setUint16(4, 1, true);
    const decoded = decodeReplay(bytes);
    expect(decoded.version).toBe(1);
    expect(decoded.signals).toHaveLength(0);
    expect(Array.from(decoded.transforms)).toEqual(Array.from(replay.transforms));
  });

  it('refuses a frame whose signals do not match the scene', () => {
    const state = syntheticCarballState(0, () => 0);
    const builder = new ReplayBuilder(carballScene(state), { envId: 'carball-2v2', hz: 15 }, 1);
    expect(() => builder.addFrame(carballTransforms(state), {}, new Float32Array(3))).toThrow('a frame needs 38 signal values, got 3');
  });

  it('refuses to encode columns that do not match the scene', () => {
    const replay = cartPoleReplay(5);
    expect(() => encodeReplay({ ...replay, transforms: replay.transforms.subarray(1) })).toThrow(/transforms has 69 values, expected 70/);
  });

  it('keeps a 5-minute 2v2 carball replay at 15 Hz within 2 MB', () => {
    const frames = 5 * 60 * 15;
    let seed = 1;
    const jitter = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return (seed / 2 ** 31 - 0.5) * 2;
    };
    const components = ['goal', 'concede', 'touch', 'shot', 'save', 'demo', 'velocityBallToGoal', 'velocityPlayerToBall', 'faceBall', 'boost', 'aerial', 'kickoff'];
    const first = syntheticCarballState(0, jitter);
    const builder = new ReplayBuilder(carballScene(first), { envId: 'carball-2v2', hz: 15 }, 8);
    for (let f = 0; f < frames; f++) {
      const t = f / 15;
      const state = syntheticCarballState(t, jitter);
      const rewards: Record<string, number[]> = {};
      for (const [c, name] of components.entries()) {
        rewards[name] = [0, 1, 2, 3].map((a) => (c >= 6 ? Math.sin(t * 0.9 + a + c) * 0.1 + jitter() * 0.01 : f % (97 + c * 13 + a) === 0 ? 1 : 0));
      }
      const actions = Array.from({ length: 32 }, (_, k) => [-1, 0, 1][Math.floor((Math.sin(t * 0.2 + k) + 1) * 1.5) % 3]!);
      builder.addFrame(carballTransforms(state), f === 0 ? {} : { rewards, actions, events: f % 150 === 0 ? [{ agent: f % 4, type: 'touch', value: 1 }] : [] });
    }
    const replay = builder.build();
    expect(replay.frameCount).toBe(4500);
    // The ball, four cars and the ball's ground marker.
    expect(replay.scene.dynamicBodies).toHaveLength(6);
    const bytes = encodeReplay(replay);
    expect(bytes.length).toBeLessThanOrEqual(2 * 1024 * 1024);
    if (process.env.REPLAY_SIZE_LOG) console.log(`4,500-frame 2v2 replay: ${bytes.length} bytes`);
    const decoded = decodeReplay(bytes);
    expect(Array.from(frameTransform(decoded, 4499, 3))).toEqual(Array.from(frameTransform(replay, 4499, 3)));
  }, 60_000);
});

describe('built-in env scenes', () => {
  it('puts CartPole’s pole tip half a pole length above the pivot along θ', () => {
    const theta = 0.3;
    const t = cartPoleTransforms([1, 0, theta, 0]);
    // Pole centre = pivot + 0.5 (sin θ, 0, cos θ); the pivot (Gymnasium's axle) is 0.06 m above the cart's centre at x = 1.
    expect(t[7]).toBeCloseTo(1 + 0.5 * Math.sin(theta), 6);
    expect(t[9]).toBeCloseTo(0.06 + 0.5 * Math.cos(theta), 6);
    // Rotation about +y by θ: (0, sin θ/2, 0, cos θ/2).
    expect(t[11]).toBeCloseTo(Math.sin(theta / 2), 6);
  });

  it('hangs Pendulum’s rod from the pivot with θ = 0 upright', () => {
    const up = pendulumTransforms([0, 0]);
    expect(up[0]).toBeCloseTo(0, 6);
    expect(up[2]).toBeCloseTo(0.5, 6);
    const down = pendulumTransforms([Math.PI, 0]);
    expect(down[2]).toBeCloseTo(-0.5, 6);
  });

  it('finds a source for the built-in envs from their public state', () => {
    const cartpole = replaySourceFor('CartPole-v1', { state: new Float64Array([0, 0, 0, 0]) }, 0.02);
    expect(cartpole?.hz).toBeCloseTo(50);
    expect(cartpole?.transforms()).toHaveLength(14);
    expect(replaySourceFor('MyEnv-v0', {})).toBeNull();
  });
});
