/** The runs' replay recorder keeps a scene's per-frame signals: a recorded carball episode's pads and boost flames. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOOST_PADS, LOOKUP_TABLE, LOOKUP_TABLE_SIZE, NUM_CONTROLS, decodeReplay, frameSignals, makeEnv, type AnyEnv, type CarballEnv } from '@rewardlab/sim';
import { ReplayRecorder } from '../src/runs/replay-recorder';

describe('ReplayRecorder', () => {
  it('records each frame’s signals from the env: every pad available after reset, a car’s flame while it boosts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rewardlab-recorder-'));
    try {
      const base = await makeEnv<AnyEnv>('carball-1v1', { timeoutSeconds: 1 });
      const carball = base as unknown as CarballEnv;
      const env = ReplayRecorder.wrap(base, { dir, every: 1, kind: 'test', meta: () => ({ step: 0 }) });
      await env.reset({ seed: 0 });
      const boosting: boolean[] = [];
      // The lookup row that drives straight ahead on boost (controls: throttle, steer, …, jump, boost, handbrake).
      const boostRow = Array.from({ length: LOOKUP_TABLE_SIZE }, (_, i) => LOOKUP_TABLE.subarray(i * NUM_CONTROLS, (i + 1) * NUM_CONTROLS)).findIndex((c) => c[1] === 0 && c[5] === 0 && c[6] === 1 && c[7] === 0);
      expect(boostRow).toBeGreaterThanOrEqual(0);
      for (let step = 0; ; step++) {
        // Boost for the first half second, then coast: the flame goes on, then off.
        const r = await env.step([step < 8 ? boostRow : 0, 0] as never);
        boosting.push(Boolean(carball.getState().cars[0]!.boosting));
        if (r.terminated || r.truncated) break;
      }
      env.close();
      const file = readdirSync(dir).find((f) => f.endsWith('.rlr'))!;
      const replay = decodeReplay(new Uint8Array(readFileSync(join(dir, file))));
      expect(replay.scene.signals).toHaveLength(BOOST_PADS.length + 2);
      expect(Array.from(frameSignals(replay, 0).subarray(0, BOOST_PADS.length))).toEqual(BOOST_PADS.map(() => 1));
      // Frame i + 1 is the state after step i: its flame signal is whether car 0 boosted then.
      expect(boosting.some(Boolean) && !boosting.every(Boolean)).toBe(true);
      boosting.forEach((b, i) => expect(frameSignals(replay, i + 1)[BOOST_PADS.length]).toBe(b ? 1 : 0));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
