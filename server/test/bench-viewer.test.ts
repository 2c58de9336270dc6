import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli as lastJson } from './cli-helpers';

const bin = join(__dirname, '..', '..', 'bin', 'rewardlab.js');
const viewerDist = join(__dirname, '..', '..', 'viewer', 'dist', 'index.html');


function missing(): string | null {
  const reasons = [existsSync('/usr/bin/chromium') ? null : '/usr/bin/chromium is missing (run .ci/install-chromium)', existsSync(viewerDist) ? null : 'viewer/dist is not built (npm run build)'].filter(Boolean);
  if (!reasons.length) return null;
  if (process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but ${reasons.join('; ')}`);
  return reasons.join('; ');
}

const skip = missing();
if (skip) console.warn(`bench viewer suite skipped: ${skip}`);

describe('rewardlab bench viewer', () => {
  it.skipIf(skip !== null)('reports load time and frames per second for a recorded carball replay at 1280×720', () => {
    const r = lastJson(['bench', 'viewer', '--episode-seconds', '10', '--seconds', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = r.last as { loadMs: number; fps: number; frames: number; hz: number; components: number; width: number; height: number; renderer: string };
    // 10 s at 15 Hz: the frame after reset plus 150 steps.
    expect(res).toMatchObject({ frames: 10 * 15 + 1, hz: 15, width: 1280, height: 720 });
    expect(res.components).toBeGreaterThan(1);
    expect(res.loadMs).toBeGreaterThan(0);
    expect(res.fps).toBeGreaterThan(0);
    expect(res.renderer.length).toBeGreaterThan(0);
  }, 120_000);

  it('says in one line that the viewer is not built', () => {
    const r = lastJson(['bench', 'viewer', '--viewer', join(__dirname, 'no-such-viewer'), '--json']);
    expect(r.code).toBe(1);
    expect((r.last as { error: { message: string } }).error.message).toMatch(/^bench viewer: no built viewer at .*no-such-viewer \(run npm run build\)$/);
  });
});
