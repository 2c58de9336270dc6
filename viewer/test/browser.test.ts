/**
 * End to end in headless Chromium (software WebGL2): the built viewer served by the real API server
 * (or a static server when the server is not built), a replay recorded by the carball env opened
 * through the page's file picker, and what a person would check by eye — the ball and both teams'
 * colours on the canvas, the score after the goal, the reward components in the plot, a clear message
 * for a bad file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { COMPONENTS, recordCarballReplay, type CarballFixture } from './support/carball-replay';
import { chromiumMissing, launchChromium } from './support/browser';
import { countPixels, decodePng, type Image } from './support/png';
import { serveApi, serveStatic, VIEWER_DIST, type Served } from './support/servers';

const ARTIFACTS = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', 'test-artifacts');
const skipReason = chromiumMissing();
if (skipReason) console.warn(`viewer browser suite skipped: ${skipReason}`);

// Colour classes of the lit scene: team blue (#1f6feb), team orange (#f0883e), the white ball (#e6edf3).
const isBlue = (r: number, g: number, b: number): boolean => b > 140 && b > r + 60 && b > g + 15;
const isOrange = (r: number, g: number, b: number): boolean => r > 160 && r > b + 70 && g > 50 && g < r - 25;
const isWhite = (r: number, g: number, b: number): boolean => r > 205 && g > 205 && b > 205;

describe.skipIf(skipReason !== null)('viewer in headless Chromium', () => {
  let browser: Browser;
  let served: Served;
  let page: Page;
  let fixture: CarballFixture;

  beforeAll(async () => {
    fixture = await recordCarballReplay();
    const api = await serveApi();
    if (!api && process.env.REQUIRE_SERVICES === '1') throw new Error('REQUIRE_SERVICES=1 but `rewardlab serve` did not start (is the server built?)');
    if (!api) console.warn('viewer browser suite: `rewardlab serve` did not start; serving viewer/dist statically (runs and live tests skip)');
    served = api ?? (await serveStatic(VIEWER_DIST, { '/fixtures/carball.rlr': fixture.bytes }));
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
    await page.goto(served.url);
    await page.waitForFunction(() => window.rewardlab !== undefined);
    await page.setInputFiles('#file-input', { name: 'carball-2v2.rlr', mimeType: 'application/octet-stream', buffer: Buffer.from(fixture.bytes) });
    await page.waitForFunction(() => window.rewardlab!.loadMs !== null);
  });

  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  /** Renders the current state and decodes the 3D view's pixels. */
  async function viewPixels(): Promise<Image> {
    await page.evaluate(() => window.rewardlab!.render());
    return decodePng(await page.locator('#view canvas').screenshot());
  }

  it('opens a carball replay from a file', async () => {
    expect(await page.evaluate(() => window.rewardlab!.replayName)).toBe('carball-2v2.rlr');
    expect(await page.locator('#replay-title').textContent()).toContain('carball-2v2');
    expect(await page.locator('#scrubber').getAttribute('max')).toBe(String(fixture.frames - 1));
  });

  it('draws the ball and both teams’ cars', async () => {
    await page.evaluate(() => {
      window.rewardlab!.seek(0);
      window.rewardlab!.setCamera('top');
    });
    const all = await viewPixels();
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-carball-top.png') });
    // The same view without the cars, then without the ball: what disappears is what they drew.
    await page.evaluate(() => [1, 2, 3, 4].forEach((b) => window.rewardlab!.setBodyVisible(b, false)));
    const noCars = await viewPixels();
    await page.evaluate(() => {
      [1, 2, 3, 4].forEach((b) => window.rewardlab!.setBodyVisible(b, true));
      window.rewardlab!.setBodyVisible(0, false);
    });
    const noBall = await viewPixels();
    await page.evaluate(() => window.rewardlab!.setBodyVisible(0, true));
    const blueCars = countPixels(all, isBlue) - countPixels(noCars, isBlue);
    const orangeCars = countPixels(all, isOrange) - countPixels(noCars, isOrange);
    const ball = countPixels(all, isWhite) - countPixels(noBall, isWhite);
    expect(blueCars, 'blue car pixels').toBeGreaterThan(20);
    expect(orangeCars, 'orange car pixels').toBeGreaterThan(20);
    expect(ball, 'ball pixels').toBeGreaterThan(20);
  });

  it('shows the score change after scrubbing to the goal marker', async () => {
    await page.evaluate(() => window.rewardlab!.seek(0));
    expect(await page.locator('#score-blue').textContent()).toBe('0');
    const marker = page.locator('.marker-goal');
    expect(await marker.count()).toBe(1);
    await marker.click();
    expect(await page.evaluate(() => window.rewardlab!.frame())).toBe(fixture.goalFrame);
    expect(await page.locator('#score-blue').textContent()).toBe('1');
    expect(await page.locator('#score-orange').textContent()).toBe('0');
    await page.evaluate(() => window.rewardlab!.setCamera('ball'));
    await viewPixels();
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-carball-goal.png') });
  });

  it('plots the reward components named in the replay, per step and summed', async () => {
    const names = await page.locator('.reward-toggle').evaluateAll((labels) => labels.map((l) => (l as HTMLElement).dataset.component));
    expect(names).toEqual([...COMPONENTS]);
    // Paused at the goal: blue-0's goal component reads 1 at that step, and 1 summed so far.
    expect(await page.locator('.reward-toggle[data-component="goal"] .reward-value').textContent()).toBe(' 1 (Σ 1)');
    expect(await page.locator('.reward-plot canvas').count()).toBe(2);
    // Turning a component off hides it in both plots.
    await page.locator('.reward-toggle', { hasText: 'ballSpeed' }).locator('input').uncheck();
    expect(await page.locator('.reward-toggle', { hasText: 'ballSpeed' }).locator('input').isChecked()).toBe(false);
  });

  it('steps, jumps and plays from the keyboard', async () => {
    await page.locator('#view canvas').focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate(() => window.rewardlab!.frame())).toBe(1);
    await page.keyboard.press('End');
    expect(await page.evaluate(() => window.rewardlab!.frame())).toBe(fixture.frames - 1);
    await page.keyboard.press('Home');
    await page.keyboard.press(']');
    expect(await page.locator('#speed').inputValue()).toBe('2');
    await page.keyboard.press(' ');
    await page.waitForFunction(() => window.rewardlab!.frame() > 5);
    await page.keyboard.press(' ');
    expect(await page.locator('#play').textContent()).toBe('▶');
  });

  it('says why a bad file cannot be opened and keeps showing the replay', async () => {
    await page.setInputFiles('#file-input', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a replay at all') });
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 15_000 }).toBe('Cannot open notes.txt: not a rewardlab replay: the file does not start with "RLRP"');
    expect(await page.locator('#message').isVisible()).toBe(true);
    const future = Buffer.from(fixture.bytes);
    future.writeUInt16LE(99, 4);
    await page.setInputFiles('#file-input', { name: 'future.rlr', mimeType: 'application/octet-stream', buffer: future });
    await expect.poll(() => page.locator('#message').textContent(), { timeout: 15_000 }).toContain('unsupported replay format version 99');
    expect(await page.evaluate(() => window.rewardlab!.replayName)).toBe('carball-2v2.rlr');
    await page.evaluate(() => window.rewardlab!.seek(3));
    await viewPixels();
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-bad-file.png') });
  });

  it('opens a replay dropped on the page', async () => {
    const dataTransfer = await page.evaluateHandle((bytes) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(bytes)], 'dropped.rlr'));
      return dt;
    }, Array.from(fixture.bytes));
    await page.dispatchEvent('#view', 'drop', { dataTransfer });
    await page.waitForFunction(() => window.rewardlab!.replayName === 'dropped.rlr');
    expect(await page.locator('#message').isVisible()).toBe(false);
  });

  it('lists the API’s runs when served by the API server', async () => {
    if (served.kind !== 'api-server') return;
    await page.locator('#toggle-runs').click();
    await expect.poll(() => page.locator('.runs-status').textContent(), { timeout: 15_000 }).toMatch(/No runs yet/);
  });

  /** Starts a short CartPole training through the API; resolves to its id. */
  async function startRun(steps: number, replayEvery: number): Promise<string> {
    const res = await fetch(`${served.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ env: 'CartPole-v1', steps, replayEvery, seed: 1 }) });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  it('follows a running training live, then deep-links to one of its episodes and compares two runs', async () => {
    if (served.kind !== 'api-server') return;
    const live = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    try {
      const runId = await startRun(4096, 2);
      await live.goto(`${served.url}/#run=${runId}&live=1`);
      // Live: the first episode recorded by the trainer is downloaded and played as the stream announces it.
      await live.waitForFunction(() => /episode \d+/.test(window.rewardlab?.replayName ?? ''), undefined, { timeout: 60_000 });
      expect(await live.locator('#live-badge').isVisible()).toBe(true);
      expect(await live.locator(`.run-item[data-run="${runId}"]`).count()).toBe(1);
      await expect.poll(async () => (await fetch(`${served.url}/api/runs/${runId}`).then((r) => r.json()) as { status: string }).status, { timeout: 60_000, interval: 500 }).toBe('succeeded');
      const replays = ((await fetch(`${served.url}/api/runs/${runId}/replays`).then((r) => r.json())) as { replays: { episode: number }[] }).replays;
      const episode = replays[0]!.episode;
      // A deep link opens that episode at a time: CartPole records 50 frames per second, so t = 0.1 s is frame 5.
      await live.goto(`${served.url}/#run=${runId}&episode=${episode}&t=0.1`);
      await live.reload();
      await live.waitForFunction((e) => window.rewardlab?.replayName?.endsWith(`episode ${e}`) && window.rewardlab.loadMs !== null, episode, { timeout: 30_000 });
      await expect.poll(() => live.evaluate(() => window.rewardlab!.frame()), { timeout: 15_000 }).toBe(5);
      expect(await live.locator('#live-badge').isVisible()).toBe(false);
      // The training curve, and a second run's curve beside it.
      await live.locator('.run-curve canvas').first().waitFor();
      const other = await startRun(512, 0);
      await live.locator('.runs-refresh').click();
      await live.locator(`.run-item[data-run="${other}"] .run-compare input`).check();
      await expect.poll(() => live.locator('.run-curve .u-legend .u-series').count(), { timeout: 15_000 }).toBe(3);
      await live.screenshot({ path: join(ARTIFACTS, 'viewer-runs.png') });
    } finally {
      await live.close();
    }
  }, 120_000);
});
