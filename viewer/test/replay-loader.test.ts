import { beforeAll, describe, expect, it } from 'vitest';
import { ReplayBuilder, cartPoleScene, cartPoleTransforms, encodeReplay, type Replay } from '@rewardlab/sim';
import { ReplayLoadError, agentRewardSeries, loadReplay, scoreTimeline, timelineMarkers, validateReplay } from '../src/replay-loader';
import { COMPONENTS, recordCarballReplay, type CarballFixture } from './support/carball-replay';

let carball: CarballFixture;
beforeAll(async () => {
  carball = await recordCarballReplay();
});

function cartPoleReplay(frames: number): Replay {
  const builder = new ReplayBuilder(cartPoleScene(), { envId: 'CartPole-v1', hz: 50 }, 1);
  for (let f = 0; f < frames; f++) builder.addFrame(cartPoleTransforms([f * 0.01, 0, 0.02 * f, 0]), f === 0 ? {} : { rewards: { alive: [1] }, actions: [f % 2] });
  return builder.build();
}

describe('loading a replay recorded by the carball env', () => {
  it('decodes the scene, the frames and the reward components', () => {
    const replay = loadReplay(carball.bytes);
    expect(replay.frameCount).toBe(carball.frames);
    expect(replay.scene.dynamicBodies.map((b) => b.name)).toEqual(['ball', 'car-0', 'car-1', 'car-2', 'car-3', 'ball-marker']);
    expect(replay.scene.agents).toEqual(['blue-0', 'blue-1', 'orange-2', 'orange-3']);
    expect(replay.componentNames).toEqual([...COMPONENTS]);
  });

  it('counts one goal for blue from the frame of the goal on, though both blue agents report it', () => {
    const replay = loadReplay(carball.bytes);
    const score = scoreTimeline(replay)!;
    const g = carball.goalFrame;
    expect(g).toBeGreaterThan(0);
    expect([score[(g - 1) * 2], score[(g - 1) * 2 + 1]]).toEqual([0, 0]);
    expect([score[g * 2], score[g * 2 + 1]]).toEqual([1, 0]);
    const last = replay.frameCount - 1;
    expect([score[last * 2], score[last * 2 + 1]]).toEqual([1, 0]);
  });

  it('marks the goal once on the timeline', () => {
    const goals = timelineMarkers(loadReplay(carball.bytes)).filter((m) => m.type === 'goal');
    expect(goals).toEqual([{ frame: carball.goalFrame, type: 'goal', agent: 0, label: 'goal blue' }]);
  });

  it('sums each component over the episode for the chosen agent', () => {
    const replay = loadReplay(carball.bytes);
    const { perStep, cumulative } = agentRewardSeries(replay, 3);
    const agents = replay.scene.agents.length;
    const c = COMPONENTS.indexOf('ballSpeed');
    let sum = 0;
    for (let f = 0; f < replay.frameCount; f++) sum += replay.rewards[(f * agents + 3) * COMPONENTS.length + c]!;
    expect(cumulative[c]![replay.frameCount - 1]).toBeCloseTo(sum, 9);
    expect(perStep[c]![0]).toBe(0);
    // Orange conceded blue's goal: its env reward at that step is −1.
    expect(perStep[COMPONENTS.indexOf('goal')]![carball.goalFrame]).toBe(-1);
  });
});

describe('bad input', () => {
  it('says a file that is not a replay is not one', () => {
    expect(() => loadReplay(new TextEncoder().encode('{"hello": "world"}'))).toThrow(new ReplayLoadError('not a rewardlab replay: the file does not start with "RLRP"'));
  });

  it('says a damaged payload is corrupt', () => {
    const bytes = carball.bytes.slice();
    for (let i = 40; i < bytes.length; i += 7) bytes[i] = bytes[i]! ^ 0x5a;
    expect(() => loadReplay(bytes)).toThrow(/^corrupt replay/);
  });

  it('names an unknown format version', () => {
    const bytes = carball.bytes.slice();
    new DataView(bytes.buffer).setUint16(4, 9, true);
    expect(() => loadReplay(bytes)).toThrow('unsupported replay format version 9 (this build reads versions 1 and 2)');
  });

  it('rejects frames with non-finite transforms, naming the frame and the body', () => {
    const replay = cartPoleReplay(5);
    replay.transforms[2 * 14 + 7] = Number.NaN; // frame 2, body 1 (the pole), x
    expect(() => loadReplay(encodeReplay(replay))).toThrow('frames do not match the scene: frame 2 has a non-finite transform for "pole"');
  });

  it('rejects a body that belongs to an agent the scene does not have', () => {
    const replay = cartPoleReplay(3);
    replay.scene.dynamicBodies[1]!.agent = 4;
    expect(() => validateReplay(replay)).toThrow('frames do not match the scene: body "pole" belongs to agent 4, but the scene has 1 agents');
  });

  it('rejects a shape the viewer cannot draw', () => {
    const replay = cartPoleReplay(3);
    (replay.scene.dynamicBodies[0] as { shape: unknown }).shape = { kind: 'torus', radius: 1 };
    expect(() => validateReplay(replay)).toThrow('frames do not match the scene: body "cart" has unknown shape "torus"');
  });

  it('rejects events outside the recorded frames', () => {
    const replay = cartPoleReplay(3);
    replay.events.push({ frame: 3, agent: 0, type: 'touch' });
    expect(() => validateReplay(replay)).toThrow('an event "touch" is at frame 3, outside the replay’s 3 frames');
  });

  it('has no score for a scene without teams', () => {
    expect(scoreTimeline(loadReplay(encodeReplay(cartPoleReplay(4))))).toBeNull();
  });
});
