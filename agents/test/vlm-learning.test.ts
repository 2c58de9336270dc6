/**
 * The short version of the VLM-reward learning check: PPO on door-open with the vision-language reward
 * alone (the project's own model, goal "the door is open" against baseline "the door is closed"; no
 * native reward) against PPO with the env's dense reward, the same steps, seed and preset. The issue's
 * target is a success rate at least half of the native one; the full run (250k steps, ~13 min here)
 * is a command in agents/README.md, this one is 16k steps.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend, train } from '../src';

const chromium = process.env.REWARDLAB_CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(chromium) ? null : `no Chromium at ${chromium}`;
if (skip && process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but ${skip}`);
if (skip) console.warn(`skipping the VLM learning check: ${skip}`);

const tmp = mkdtempSync(join(tmpdir(), 'rl-vlm-learning-'));
const STEPS = 16_384;
const VLM_SPEC = { components: { open: { vlm: { model: 'rewardlab-small', goal: ['the door is open'], baseline: ['the door is closed'], alpha: 0.5 } } } };

beforeAll(async () => {
  await selectBackend('wasm');
});

describe.skipIf(skip !== null)('PPO on door-open with the VLM reward alone', () => {
  it('reaches at least half the success rate of the native dense reward with the same steps and seed', async () => {
    const native = await train({ env: 'door-open', steps: STEPS, seed: 0, backend: 'wasm', out: join(tmp, 'native') });
    const vlm = await train({ env: 'door-open', reward: VLM_SPEC, steps: STEPS, seed: 0, backend: 'wasm', out: join(tmp, 'vlm') });
    console.log(`door-open at ${STEPS} steps: native success ${native.finalSuccessRate}, VLM reward success ${vlm.finalSuccessRate}`);
    // The comparison means something only where the native reward has learned.
    expect(native.finalSuccessRate).toBeGreaterThan(0.5);
    expect(vlm.finalSuccessRate).toBeGreaterThanOrEqual(0.5 * native.finalSuccessRate!);
  }, 600_000);
});
