import { describe, expect, it } from 'vitest';
import { makeEnv, type AnyEnv } from '../src';

describe('reset without a seed', () => {
  // Node's crypto.randomInt takes ranges under 2⁴⁸: the fresh seed is drawn from [0, 2⁴⁸ − 1).
  for (const id of ['door-open', 'carball-1v1', 'CartPole-v1']) {
    it(`${id} draws a fresh seed and resets`, async () => {
      const env = await makeEnv<AnyEnv>(id);
      const r = await env.reset();
      expect(r.obs).toBeDefined();
      await env.close();
    });
  }
});
