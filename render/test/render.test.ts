/**
 * The frame renderer in the real browser (Debian's Chromium, software WebGL2): frames are legible
 * (the ball, each car in its team's colour, pads lit and dimmed, goal frames where the camera
 * projection puts them), deterministic, independent of the batch they are drawn in, and bad input or
 * a dying browser gives a clear error without taking the process down.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOOST_PADS, CARBALL, CARBALL_COLORS, CLASSIC_COLORS, VecEnv, carballScene, cartPoleScene, makeEnv, yawQuat, type AnyEnv, type CarballState, type SceneCamera } from '@rewardlab/sim';
import { FrameRenderer, PixelObservation, PixelObservationVec, RenderInputError, RendererCrashedError, RendererUnavailableError, decodePng, encodePng, projectPoint, resolveCamera, withRenderMode } from '../src';

const CHROMIUM = process.env.REWARDLAB_CHROMIUM ?? '/usr/bin/chromium';
function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  if (process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but ${CHROMIUM} is missing (run .ci/install-chromium)`);
  return `${CHROMIUM} is missing`;
}
const missing = chromiumMissing();
if (missing) console.warn(`skipping the renderer suite: ${missing}`);

type Rgb = [number, number, number];
function pixel(frames: Uint8Array, frame: number, width: number, height: number, x: number, y: number): Rgb {
  const i = ((frame * height + Math.round(y)) * width + Math.round(x)) * 3;
  return [frames[i]!, frames[i + 1]!, frames[i + 2]!];
}
const hex = (c: string): Rgb => [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)];
const blueish = ([r, , b]: Rgb): boolean => b > r + 60 && b > 110;
const orangeish = ([r, g, b]: Rgb): boolean => r > b + 80 && r > 140 && g > b;

/** A 2v2 kickoff-free state: cars and ball where a close top-down camera sees them, one pad respawning. */
function knownState(ballX = 0, ballY = 0): CarballState {
  const car = (id: number, team: 0 | 1, x: number, y: number) => ({ id, team, pos: [x, y, CARBALL.car.restHeight] as [number, number, number], vel: [0, 0, 0] as [number, number, number], angVel: [0, 0, 0] as [number, number, number], quat: [...yawQuat(0)] as [number, number, number, number], boost: 33, onGround: true, demolished: false });
  const boostPads = BOOST_PADS.map((p) => (p.x === 1024 && p.y === 0 ? 3 : 0));
  return {
    tick: 0,
    score: [0, 0],
    ball: { pos: [ballX, ballY, CARBALL.ball.restHeight], vel: [0, 0, 0], angVel: [0, 0, 0] },
    cars: [car(0, 0, -1500, -1200), car(1, 0, -1500, 1200), car(2, 1, 1500, -1200), car(3, 1, 1500, 1200)],
    boostPads,
  };
}

/** Straight down from 4 km, +y at the top of the frame. */
const CLOSE_TOP: SceneCamera = { position: [0, 0, 4000], target: [0, 0, 0], fovDeg: 60, up: [0, 1, 0] };
const W = 256;

describe.skipIf(missing !== null)('frame renderer', () => {
  let renderer: FrameRenderer;
  beforeAll(async () => {
    renderer = new FrameRenderer({ maxFramesPerBatch: 16 });
    await renderer.start();
  });
  afterAll(async () => renderer?.close());

  it('draws the ball, each car in its team colour, a lit and a dimmed boost pad where the projection puts them', async () => {
    const state = knownState();
    const frames = await renderer.render([state], { env: 'carball-2v2', width: W, height: W, camera: CLOSE_TOP });
    const scene = carballScene(state);
    const at = (p: ArrayLike<number>): Rgb => {
      const q = projectPoint(scene, CLOSE_TOP, p, W, W)!;
      return pixel(frames, 0, W, W, q.x, q.y);
    };
    const ball = at([0, 0, CARBALL.ball.restHeight + CARBALL.ball.radius]);
    expect(Math.min(...ball)).toBeGreaterThan(190);
    for (const car of state.cars) {
      // The roof of the chassis, ahead of the cabin.
      const roof = at([car.pos[0] + 40, car.pos[1], car.pos[2] + 19]);
      expect(car.team === 0 ? blueish(roof) : orangeish(roof), `car ${car.id} at ${JSON.stringify(roof)}`).toBe(true);
    }
    const lit = at([0, 1024, 12]);
    const dimmed = at([1024, 0, 12]);
    const on = hex(CARBALL_COLORS.padOn);
    expect(lit[0]).toBeGreaterThan(180);
    expect(lit[2]).toBeLessThan(90);
    expect(lit[0] - lit[2]).toBeGreaterThan(on[0] - on[2] - 80);
    expect(Math.max(...dimmed)).toBeLessThan(120);
    // Beside the pads: the pitch, green.
    const grass = at([0, 600, 0]);
    expect(grass[1]).toBeGreaterThan(grass[0] + 30);
  });

  it('draws each goal frame in its team colour (the crossbar seen from behind that goal)', async () => {
    const state = knownState();
    const scene = carballScene(state);
    for (const [team, camera] of [[0, 'behind-blue'], [1, 'behind-orange']] as const) {
      const frames = await renderer.render([state], { env: 'carball-2v2', width: W, height: W, camera });
      const s = team === 0 ? -1 : 1;
      const bar = projectPoint(scene, resolveCamera(scene, camera), [300, s * (CARBALL.arena.backWallY + 32), CARBALL.goal.height + 32], W, W)!;
      const rgb = pixel(frames, 0, W, W, bar.x, bar.y);
      expect(team === 0 ? blueish(rgb) : orangeish(rgb), `${camera}: ${JSON.stringify(rgb)}`).toBe(true);
    }
  });

  it('moves the ball in the picture the way the camera projection says', async () => {
    // Off the halfway line and inside the centre circle, so that no white marking is near the ball.
    const states = [knownState(0, 400), knownState(500, 400)];
    const frames = await renderer.render(states, { env: 'carball-2v2', width: W, height: W, camera: CLOSE_TOP });
    const scene = carballScene(states[0]!);
    const centre = (x: number) => projectPoint(scene, CLOSE_TOP, [x, 400, CARBALL.ball.restHeight], W, W)!;
    /** Centroid of the white pixels within 12 px of where the ball should be. */
    const centroid = (f: number, around: { x: number; y: number }): { x: number; y: number; n: number } => {
      let sx = 0, sy = 0, n = 0;
      for (let y = Math.floor(around.y - 12); y <= around.y + 12; y++) for (let x = Math.floor(around.x - 12); x <= around.x + 12; x++) {
        const [r, g, b] = pixel(frames, f, W, W, x, y);
        if (r > 200 && g > 200 && b > 200) (sx += x + 0.5), (sy += y + 0.5), n++;
      }
      return { x: sx / n, y: sy / n, n };
    };
    const seen = [centroid(0, centre(0)), centroid(1, centre(500))];
    // A ball of radius 91.25 uu at 0.0554 px/uu covers about π·5² ≈ 80 pixels.
    for (const c of seen) expect(c.n).toBeGreaterThan(40);
    for (const [f, x] of [[0, 0], [1, 500]] as const) {
      expect(Math.abs(seen[f]!.x - centre(x).x)).toBeLessThan(1);
      expect(Math.abs(seen[f]!.y - centre(x).y)).toBeLessThan(1);
    }
    // 500 uu at the ball's depth is 500 / (2 · (4000 − 93.15) · tan 30°) of the frame's width; y stays.
    expect(seen[1]!.x - seen[0]!.x).toBeCloseTo((500 / (2 * (4000 - CARBALL.ball.restHeight) * Math.tan(Math.PI / 6))) * W, 0);
    expect(Math.abs(seen[1]!.y - seen[0]!.y)).toBeLessThan(0.5);
  });

  it('renders the same states to the same pixels, and a frame alone as in a batch up to edge rounding', async () => {
    const env = await makeEnv<AnyEnv>('carball-2v2');
    await env.reset({ seed: 3 });
    const carball = env as unknown as { getState(): CarballState };
    const states: CarballState[] = [];
    for (let i = 0; i < 20; i++) {
      states.push(carball.getState());
      await env.step(Array(4).fill(i % 30) as never);
    }
    env.close();
    const size = { env: 'carball-2v2', width: 96, height: 96 };
    const a = await renderer.render(states, size);
    const b = await renderer.render(states, size);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    // Drawn alone, frame 13 sits in another cell of the page's grid: the same picture, up to the
    // rounding of edge pixels where a triangle's edge passes exactly through a pixel centre.
    const alone = await renderer.render([states[13]!], size);
    const bytes = 96 * 96 * 3;
    let differing = 0;
    for (let i = 0; i < bytes; i += 3) if (a[13 * bytes + i] !== alone[i] || a[13 * bytes + i + 1] !== alone[i + 1] || a[13 * bytes + i + 2] !== alone[i + 2]) differing++;
    expect(differing / (96 * 96)).toBeLessThan(0.005);
    // Twenty frames were split into page batches of 16 and 4: frames differ from each other.
    expect(Buffer.from(a.subarray(0, bytes)).equals(Buffer.from(a.subarray(19 * bytes)))).toBe(false);
  });

  it('draws CartPole as Gymnasium does: white background, black cart, tan pole along θ', async () => {
    const W2 = 200;
    const state = [0.5, 0, 0.3, 0];
    const frames = await renderer.render([state], { env: 'CartPole-v1', width: W2, height: W2 });
    const scene = cartPoleScene();
    const cam = resolveCamera(scene);
    expect(pixel(frames, 0, W2, W2, 5, 5)).toEqual(hex(CLASSIC_COLORS.background));
    const cart = projectPoint(scene, cam, [0.5, -0.1, 0], W2, W2)!;
    expect(Math.max(...pixel(frames, 0, W2, W2, cart.x, cart.y))).toBeLessThan(30);
    // Pole middle: the axle (0.06 m above the cart's centre) plus 0.5 m along θ.
    const pole = projectPoint(scene, cam, [0.5 + 0.5 * Math.sin(0.3), -0.14, 0.06 + 0.5 * Math.cos(0.3)], W2, W2)!;
    const rgb = pixel(frames, 0, W2, W2, pole.x, pole.y);
    hex(CLASSIC_COLORS.pole).forEach((c, i) => expect(Math.abs(rgb[i]! - c)).toBeLessThanOrEqual(3));
  });

  it('draws a manipulation env from its instance: the cube in red where the projection puts it', async () => {
    const env = await makeEnv<AnyEnv>('pick-place');
    await env.reset({ seed: 0 });
    const source = (env as unknown as { unwrapped: { replaySource(): { scene(): ReturnType<typeof cartPoleScene>; transforms(): Float32Array } } }).unwrapped.replaySource();
    const scene = source.scene();
    const cube = scene.dynamicBodies.findIndex((b) => b.name === 'cube');
    const t = source.transforms();
    const frames = await renderer.renderEnvs([env], { width: W, height: W });
    const q = projectPoint(scene, resolveCamera(scene), [t[cube * 7]!, t[cube * 7 + 1]!, t[cube * 7 + 2]! + 0.025], W, W)!;
    const [r, g, b] = pixel(frames, 0, W, W, q.x, q.y);
    expect(r).toBeGreaterThan(g + 60);
    expect(r).toBeGreaterThan(b + 60);
    env.close();
  });

  it('gives an env rgb_array render() and pixel observations with Gymnasium semantics', async () => {
    const env = await makeEnv<AnyEnv>('CartPole-v1');
    const size = { renderer, width: 64, height: 48 };
    const rendering = withRenderMode(env, size);
    await rendering.reset({ seed: 1 });
    const state = Array.from((env as unknown as { unwrapped: { state: Float32Array } }).unwrapped.state);
    const frame = await rendering.render();
    expect(frame).toMatchObject({ width: 64, height: 48 });
    expect(Buffer.from(frame.data).equals(Buffer.from(await renderer.render([state], { env: 'CartPole-v1', width: 64, height: 48 })))).toBe(true);

    const pixels = new PixelObservation(await makeEnv<AnyEnv>('CartPole-v1'), size);
    expect(pixels.observationSpace).toEqual({ kind: 'box', shape: [48, 64, 3], low: 0, high: 255 });
    const r = await pixels.reset({ seed: 1 });
    expect(r.obs).toBeInstanceOf(Float32Array);
    expect(Array.from(r.obs as Float32Array)).toEqual(Array.from(frame.data));

    const both = new PixelObservation(await makeEnv<AnyEnv>('CartPole-v1'), { ...size, renderOnly: false });
    expect(both.observationSpace.kind).toBe('dict');
    const s = (await both.step(1)) as unknown as { obs: { state: Float32Array; pixels: Float32Array } };
    expect(s.obs.state).toHaveLength(4);
    expect(s.obs.pixels).toHaveLength(64 * 48 * 3);
  });

  it('batches a vector env: each slot observes its own env’s frame', async () => {
    const vec = await VecEnv.make('CartPole-v1', 3);
    const pv = new PixelObservationVec(vec, { renderer, width: 32, height: 32 });
    expect(pv.obsSize).toBe(32 * 32 * 3);
    const { obs } = await pv.reset({ seed: 5 });
    const states = vec.envs.map((e) => Array.from((e as unknown as { unwrapped: { state: Float32Array } }).unwrapped.state));
    const expected = await renderer.render(states, { env: 'CartPole-v1', width: 32, height: 32 });
    expect(Array.from(obs)).toEqual(Array.from(expected));
    const r = await pv.step(Int32Array.of(0, 1, 1));
    expect(r.obs).toHaveLength(3 * 32 * 32 * 3);
    await pv.close();
  });

  it('refuses unknown cameras, bad sizes and states of another env, naming the problem', async () => {
    const state = knownState();
    await expect(renderer.render([state], { env: 'carball-2v2', width: 64, height: 64, camera: 'blimp' })).rejects.toThrow('unknown camera "blimp": this scene has "broadcast", "top", "behind-blue", "behind-orange"');
    await expect(renderer.render([state], { env: 'carball-2v2', width: 0, height: 64 })).rejects.toThrow('frame width must be an integer from 8 to 2048 pixels, got 0');
    await expect(renderer.render([state], { env: 'carball-2v2', width: 64, height: 100_000 })).rejects.toThrow('frame height must be an integer from 8 to 2048 pixels, got 100000');
    await expect(renderer.render([state], { env: 'carball-1v1', width: 64, height: 64 })).rejects.toThrow('state 0 is not a carball-1v1 state: it has 4 cars; carball-1v1 has 2');
    await expect(renderer.render([[0.1, 0]], { env: 'CartPole-v1', width: 64, height: 64 })).rejects.toThrow(RenderInputError);
    await expect(renderer.render([state], { env: 'rtb', width: 64, height: 64 })).rejects.toThrow('no state renderer for env "rtb"');
    await expect(renderer.renderFrames(carballScene(state), [{ transforms: [1, 2, 3] }], { width: 64, height: 64 })).rejects.toThrow(/frame 0 has 3 transform values/);
    // Nothing of that broke the renderer.
    expect((await renderer.render([state], { env: 'carball-2v2', width: 16, height: 16 })).length).toBe(16 * 16 * 3);
  });

  it('round-trips frames through PNG', () => {
    const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
    expect(Array.from(decodePng(encodePng(rgb, 5, 3)).rgb)).toEqual(Array.from(rgb));
  });
});

describe.skipIf(missing !== null)('frame renderer failures', () => {
  it('says which browser is missing', async () => {
    const r = new FrameRenderer({ executablePath: '/nonexistent/chromium' });
    await expect(r.render([knownState()], { env: 'carball-2v2', width: 32, height: 32 })).rejects.toThrow(RendererUnavailableError);
    await expect(r.render([knownState()], { env: 'carball-2v2', width: 32, height: 32 })).rejects.toThrow('no Chromium at /nonexistent/chromium');
  });

  it('fails the batch in flight when the browser dies, then starts a new one and carries on', async () => {
    const r = new FrameRenderer({ maxFramesPerBatch: 8 });
    try {
      const states = Array.from({ length: 64 }, (_, i) => knownState(i * 10));
      const before = await r.render([states[0]!], { env: 'carball-2v2', width: 64, height: 64 });
      const inFlight = r.render(states, { env: 'carball-2v2', width: 224, height: 224 });
      setTimeout(() => r.killBrowserForTesting(), 30);
      await expect(inFlight).rejects.toThrow(RendererCrashedError);
      const after = await r.render([states[0]!], { env: 'carball-2v2', width: 64, height: 64 });
      expect(r.restarts).toBe(1);
      expect(Buffer.from(after).equals(Buffer.from(before))).toBe(true);
    } finally {
      await r.close();
    }
  });
});
