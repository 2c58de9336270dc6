import { describe, expect, it } from 'vitest';
import { CarballVecEnv, Rng, type CarballState } from '@rewardlab/sim';
import { withVecReward } from '../src';

/** RLGym's VelocityPlayerToBall, written out here: (unit vector car → ball) · v_car / 2300. */
function approach(s: CarballState, slot: number): number {
  const car = s.cars[slot]!;
  const d = [0, 1, 2].map((k) => s.ball.pos[k]! - car.pos[k]!);
  const norm = Math.hypot(d[0]!, d[1]!, d[2]!);
  return (d[0]! * car.vel[0]! + d[1]! * car.vel[1]! + d[2]! * car.vel[2]!) / norm / 2300;
}

const copy = (s: CarballState): CarballState => JSON.parse(JSON.stringify(s)) as CarballState;
const GAMMA = 0.9;
const spec = { gamma: GAMMA, components: { approach: { term: 'velocityPlayerToBall', potential: true, weight: 2 }, touch: { term: 'event', touch: 1, weight: 0.1 }, outcome: { term: 'native', weight: 3 } } };

describe('withVecReward on CarballVecEnv (arenas of one world)', () => {
  it('pays the spec on each arena’s own transition, keeps the native reward, and masks reset steps', async () => {
    const inner = await CarballVecEnv.make(1, 3, { noTouchTimeoutSeconds: 2 });
    const vec = withVecReward(inner, spec);
    await vec.reset({ seed: 7 });
    const rng = new Rng(1);
    const actions = vec.createActionBuffer();
    let before = [0, 1, 2].map((i) => copy(inner.getState(i)));
    const returns = new Float64Array(vec.numSlots);
    let episodes = 0;
    let resets = 0;
    for (let t = 0; t < 80; t++) {
      for (let s = 0; s < vec.numSlots; s++) actions[s] = rng.integer(90);
      const r = await vec.step(actions);
      const after = [0, 1, 2].map((i) => copy(inner.getState(i)));
      for (let i = 0; i < 3; i++) {
        const info = r.info.envInfos[i] as { rewardComponents: Record<string, number[]>; nativeReward: number[]; agents: { events: { touch: number } }[] };
        if (r.info.autoreset[i]) {
          // A reset step is not a transition: nothing paid, nothing to score.
          resets += 1;
          expect([r.rewards[2 * i], r.rewards[2 * i + 1]]).toEqual([0, 0]);
          expect(info.rewardComponents).toBeUndefined();
          continue;
        }
        const terminated = r.terminated[2 * i] === 1;
        for (let a = 0; a < 2; a++) {
          const s = 2 * i + a;
          const shaping = 2 * (GAMMA * (terminated ? 0 : approach(after[i]!, a)) - approach(before[i]!, a));
          const touch = 0.1 * info.agents[a]!.events.touch;
          const outcome = 3 * info.nativeReward[a]!;
          expect(info.rewardComponents.approach![a]).toBeCloseTo(shaping, 9);
          expect(info.rewardComponents.touch![a]).toBeCloseTo(touch, 12);
          expect(info.rewardComponents.outcome![a]).toBeCloseTo(outcome, 12);
          expect(r.rewards[s]).toBeCloseTo(shaping + touch + outcome, 5); // float32 buffer
          returns[s]! += r.rewards[s]!;
        }
      }
      for (const e of r.info.episodes) {
        // Episode returns are the spec's, summed over the episode's transitions.
        expect(e.return).toBeCloseTo(returns[e.env * 2 + e.agent]!, 4);
        returns[e.env * 2 + e.agent] = 0;
        episodes += 1;
      }
      before = after;
    }
    // The no-touch timeout (2 s = 30 steps) ends episodes, so resets were crossed.
    expect(episodes).toBeGreaterThan(0);
    expect(resets).toBeGreaterThan(0);
    await vec.close();
  });

  it('snapshots carry the previous states: a restored vector pays exactly what the original pays', async () => {
    const a = withVecReward(await CarballVecEnv.make(1, 2), spec);
    const b = withVecReward(await CarballVecEnv.make(1, 2), spec);
    await a.reset({ seed: 3 });
    await b.reset({ seed: 99 });
    const actions = a.createActionBuffer();
    const rng = new Rng(5);
    for (let t = 0; t < 10; t++) {
      for (let s = 0; s < a.numSlots; s++) actions[s] = rng.integer(90);
      await a.step(actions);
    }
    await b.setSnapshot(JSON.parse(JSON.stringify(a.getSnapshot())));
    for (let t = 0; t < 10; t++) {
      for (let s = 0; s < a.numSlots; s++) actions[s] = rng.integer(90);
      const x = Array.from((await a.step(actions)).rewards);
      expect(Array.from((await b.step(actions)).rewards)).toEqual(x);
    }
    await expect(b.setSnapshot({ prev: [] })).rejects.toThrow(/not a snapshot of this reward vector/);
    await a.close();
    await b.close();
  });

  it('refuses a same-step vector, whose ending steps no longer hold the final state', async () => {
    const inner = await CarballVecEnv.make(1, 1, { autoreset: 'same-step' });
    expect(() => withVecReward(inner, spec)).toThrow(/next-step autoreset/);
    await inner.close();
  });
});
