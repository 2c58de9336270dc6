/**
 * Captioned states for training a contrastive image–text model on our own renders: seeded samplers per
 * env that give the scene, the frames to draw, every caption that is true of each state (written from
 * the simulator state, never from pixels) and the task's progress.
 *
 * - `door-open`: the door angle (rad) is the progress. The arm is driven by a smoothed random walk of
 *   the env's own actions (the fingers opening and closing at random), from fresh seeded resets every
 *   few dozen steps, so the arm and gripper poses vary as in episodes. Random arm motion rarely moves the
 *   door, so after the steps the drawn hinge angle is set through the world: `world.doorAngle`, which
 *   the scene's transforms read, becomes max(sampled angle, the physical angle). The door swings away
 *   from the arm as it opens, so a door opened further than physics left it seldom cuts through the
 *   gripper (only when the gripper has reached past the door's plane); the next control step reads the
 *   physical angle back. Angles: 25 % in [0, 0.1], the rest
 *   uniform in [0, 1.25] rad (the arm sometimes pushes the door further). Drawn with the scene's `top`
 *   camera: from above the panel is a line whose angle is the hinge's, where the over-the-shoulder
 *   default sees a foreshortened panel that changes little past half open at 64×64.
 * - `CartPole-v1`: progress is uprightness −|θ|. 65 % of the states have |θ| ≤ 0.21 rad (the env's own
 *   range before termination), the rest |θ| ≤ 0.6 rad; cart x uniform in [−1, 1]. θ > 0 leans right (the
 *   pole's tip at x + sin θ; the camera looks along +y, +x to the right of the picture). Drawn with
 *   `CARTPOLE_CLOSE_CAMERA`, not the scene's Gymnasium framing: at 64×64 that one shows the whole
 *   4.8 m track, the pole is a line one pixel wide and |θ| = 0.21 moves its tip under 3 pixels, too little
 *   to rank uprightness; the close camera sees x ∈ [−1.47, 1.47] m (the cart stays in it for
 *   |x| ≤ 1.2), a pole 2–3 pixels wide and about 22 long. The captions speak of the pole only.
 * - `carball-1v1`: progress is the ball's y (team 0, blue, attacks the orange goal at y = +5120). A
 *   fifth of the balls lie in each goal, the rest anywhere on the field, a third of those in the air;
 *   the two cars stand at random places and headings.
 */
import { CARBALL, Rng, assertSeed, makeEnv, yawQuat, type CarballState, type ManipulationEnv, type ReplayScene } from '@rewardlab/sim';
import { frameOf, framesOfStates, sceneSourceOf, type CameraOption, type RenderFrame } from '@rewardlab/render';

export interface CaptionedFrames {
  envId: string;
  scene: ReplayScene;
  frames: RenderFrame[];
  /** Every caption true of each state. */
  captions: string[][];
  /**
   * How often training draws each of a state's captions (relative weights, parallel to `captions`).
   * Graded so that the share of the goal captions ("the door is open", "the pole is upright") follows
   * progress within their buckets: the image embedding then moves towards the goal text continuously, not
   * in steps, which is what ranks states by a goal − baseline reward.
   */
  weights: number[][];
  /** Task progress per state (door-open: door angle, rad; CartPole-v1: −|θ|; carball-1v1: ball y, uu). */
  progress: number[];
  /** The camera the frames are meant to be drawn with (undefined: the scene's first camera). */
  camera?: CameraOption;
}

// ---------------------------------------------------------------------------------------------- door

/** Door angle buckets (rad, lower bounds) and their captions; "the door is open" is true past 0.35 rad. */
export const DOOR_BUCKETS: readonly { from: number; captions: readonly string[] }[] = [
  { from: 0, captions: ['the door is closed', 'the door is shut'] },
  { from: 0.08, captions: ['the door is barely open', 'the door is almost closed'] },
  { from: 0.2, captions: ['the door is slightly open', 'the door is ajar'] },
  { from: 0.35, captions: ['the door is half open', 'the door is open'] },
  { from: 0.6, captions: ['the door is mostly open', 'the door is open'] },
  { from: 0.85, captions: ['the door is wide open', 'the door is open', 'the door is fully open'] },
];

export function doorCaptions(angle: number): string[] {
  let bucket = DOOR_BUCKETS[0]!;
  for (const b of DOOR_BUCKETS) if (angle >= b.from) bucket = b;
  return [...bucket.captions];
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** Training weights of `doorCaptions(angle)`: "the door is open" from 1 to 5 (vs 1 for each other caption) as the angle goes 0.35 → 1.2 rad; "the door is closed" 2 at 0 rad, falling to 1 at 0.08. */
export function doorCaptionWeights(angle: number): number[] {
  return doorCaptions(angle).map((c) => (c === 'the door is open' ? 1 + 4 * clamp01((angle - 0.35) / 0.85) : c === 'the door is closed' ? 2 - clamp01(angle / 0.08) : 1));
}

async function sampleDoor(count: number, seed: number): Promise<CaptionedFrames> {
  const rng = new Rng(seed);
  const wrapped = await makeEnv('door-open');
  const env = ('unwrapped' in wrapped ? (wrapped as unknown as { unwrapped: ManipulationEnv }).unwrapped : wrapped) as unknown as ManipulationEnv;
  const source = sceneSourceOf(env);
  const scene = source.scene();
  const frames: RenderFrame[] = [];
  const captions: string[][] = [];
  const weights: number[][] = [];
  const progress: number[] = [];
  const action = new Float32Array(4);
  const drift = new Float64Array(4);
  let stepsLeft = 0;
  while (frames.length < count) {
    if (stepsLeft <= 0) {
      env.reset({ seed: rng.nextSeed() });
      stepsLeft = 20 + rng.integer(40);
      for (let i = 0; i < 4; i++) drift[i] = rng.uniform(-1, 1);
    }
    const steps = 1 + rng.integer(3);
    for (let s = 0; s < steps; s++) {
      for (let i = 0; i < 4; i++) {
        drift[i] = 0.8 * drift[i]! + 0.2 * rng.uniform(-1, 1) * 2.5;
        action[i] = Math.max(-1, Math.min(1, drift[i]!));
      }
      env.step(action);
    }
    stepsLeft -= steps;
    const sampled = rng.random() < 0.25 ? rng.uniform(0, 0.1) : rng.uniform(0, 1.25);
    const angle = Math.max(sampled, env.world.doorAngle);
    env.world.doorAngle = angle;
    frames.push(frameOf(source));
    captions.push(doorCaptions(angle));
    weights.push(doorCaptionWeights(angle));
    progress.push(angle);
  }
  env.close?.();
  return { envId: 'door-open', scene, frames, captions, weights, progress, camera: 'top' };
}

// ------------------------------------------------------------------------------------------ CartPole

/** CartPole's pole buckets by |θ| (rad, lower bounds; θ > 0 leans right). */
export const POLE_BUCKETS = [0, 0.04, 0.1, 0.21, 0.4] as const;

/**
 * The pole's captions for angle θ (rad, > 0 leans right) and the cart's for position x (m): buckets by
 * |θ| (upright < 0.04 ≤ nearly upright < 0.1 ≤ tilted / leans < 0.21 ≤ falling left/right < 0.4 ≤ fallen),
 * plus "the pole is falling" from 0.15 rad on (past 0.2095 rad the env terminates).
 */
export function cartPoleCaptions(theta: number): string[] {
  const a = Math.abs(theta);
  const side = theta > 0 ? 'right' : 'left';
  const out: string[] = [];
  if (a < 0.04) out.push('the pole is upright', 'the pole is balanced', 'the pole is vertical');
  else if (a < 0.1) out.push('the pole is nearly upright', `the pole tilts slightly ${side}`);
  else if (a < 0.21) out.push('the pole is tilted', `the pole leans ${side}`);
  else if (a < 0.4) out.push(`the pole is falling ${side}`);
  else out.push('the pole has almost fallen', `the pole has fallen ${side}`);
  if (a >= 0.15) out.push('the pole is falling');
  return out;
}

/**
 * Training weights of `cartPoleCaptions(θ)`: "the pole is upright" 3 at θ = 0 falling to 1 at the
 * bucket's edge, "the pole is nearly upright" 2 → 1 across its bucket, "the pole is falling" 0.25 → 3 as
 * |θ| goes 0.15 → 0.6; the others 1. (No captions about the cart: where it stands is an easy shortcut
 * that let a model retrieve true captions without learning the pole at all.)
 */
export function cartPoleCaptionWeights(theta: number): number[] {
  const a = Math.abs(theta);
  return cartPoleCaptions(theta).map((c) => {
    if (c === 'the pole is upright') return 3 - 2 * clamp01(a / 0.04);
    if (c === 'the pole is nearly upright') return 2 - clamp01((a - 0.04) / 0.06);
    if (c === 'the pole is falling') return 0.25 + 2.75 * clamp01((a - 0.15) / 0.45);
    return 1;
  });
}

/** The camera CartPole's captioned frames are drawn with (config.json's `rewardlab.cameras` records it). */
export const CARTPOLE_CLOSE_CAMERA = { position: [0, -60, 0.5] as [number, number, number], target: [0, 0, 0.5] as [number, number, number], fovDeg: 2.8, up: [0, 0, 1] as [number, number, number] };

function sampleCartPole(count: number, seed: number): CaptionedFrames {
  const rng = new Rng(seed);
  const states: number[][] = [];
  const captions: string[][] = [];
  const weights: number[][] = [];
  const progress: number[] = [];
  for (let i = 0; i < count; i++) {
    const limit = rng.random() < 0.65 ? 0.21 : 0.6;
    const theta = rng.uniform(-limit, limit);
    const x = rng.uniform(-1, 1);
    states.push([x, rng.uniform(-1, 1), theta, rng.uniform(-1, 1)]);
    captions.push(cartPoleCaptions(theta));
    weights.push(cartPoleCaptionWeights(theta));
    progress.push(-Math.abs(theta));
  }
  const { scene, frames } = framesOfStates('CartPole-v1', states);
  return { envId: 'CartPole-v1', scene, frames, captions, weights, progress, camera: CARTPOLE_CLOSE_CAMERA };
}

// ------------------------------------------------------------------------------------------- carball

/** Where the ball is, in words: the goal it is in or near (orange: y = +5120, blue: y = −5120), and whether it flies. */
export function carballCaptions(ball: readonly number[]): string[] {
  const [x, y, z] = ball as [number, number, number];
  const out: string[] = [];
  const line = CARBALL.arena.backWallY;
  const inGoal = Math.abs(x) < CARBALL.goal.halfWidth && z < CARBALL.goal.height;
  if (y > line && inGoal) out.push('the ball is in the orange goal', 'the orange team conceded');
  else if (y < -line && inGoal) out.push('the ball is in the blue goal', 'the blue team conceded');
  else if (y > 2800) out.push('the ball is near the orange goal');
  else if (y < -2800) out.push('the ball is near the blue goal');
  else if (Math.abs(y) < 1200) out.push('the ball is at midfield');
  else out.push(y > 0 ? 'the ball is in the orange half' : 'the ball is in the blue half');
  out.push(z > 400 ? 'the ball is in the air' : 'the ball is on the ground');
  return out;
}

function sampleCarball(count: number, seed: number): CaptionedFrames {
  const rng = new Rng(seed);
  const R = CARBALL.ball.radius;
  const states: CarballState[] = [];
  const captions: string[][] = [];
  const progress: number[] = [];
  const zero = (): [number, number, number] => [0, 0, 0];
  for (let i = 0; i < count; i++) {
    const u = rng.random();
    let pos: [number, number, number];
    if (u < 0.4) {
      const sign = u < 0.2 ? 1 : -1;
      const gx = CARBALL.goal.halfWidth - R - 20;
      pos = [rng.uniform(-gx, gx), sign * rng.uniform(CARBALL.arena.backWallY + R + 20, CARBALL.goal.netBackY - R - 20), rng.random() < 0.7 ? CARBALL.ball.restHeight : rng.uniform(R, CARBALL.goal.height - R - 20)];
    } else {
      pos = [rng.uniform(-3800, 3800), rng.uniform(-4900, 4900), rng.random() < 2 / 3 ? CARBALL.ball.restHeight : rng.uniform(450, 1600)];
    }
    const car = (id: number, team: 0 | 1) => ({
      id,
      team,
      pos: [rng.uniform(-3500, 3500), rng.uniform(-4500, 4500), CARBALL.car.restHeight] as [number, number, number],
      vel: zero(),
      angVel: zero(),
      quat: [...yawQuat(rng.uniform(-Math.PI, Math.PI))] as [number, number, number, number],
      boost: 33,
      onGround: true,
      demolished: false,
    });
    states.push({ tick: 0, score: [0, 0], ball: { pos, vel: zero(), angVel: zero() }, cars: [car(0, 0), car(1, 1)] });
    captions.push(carballCaptions(pos));
    progress.push(pos[1]);
  }
  const { scene, frames } = framesOfStates('carball-1v1', states);
  return { envId: 'carball-1v1', scene, frames, captions, weights: captions.map((c) => c.map(() => 1)), progress };
}

// -------------------------------------------------------------------------------------------- common

/** The envs with captioned samplers. */
export const CAPTIONED_ENVS = ['door-open', 'CartPole-v1', 'carball-1v1'] as const;
export type CaptionedEnv = (typeof CAPTIONED_ENVS)[number];

/** Every caption each env's sampler can give (its caption vocabulary of sentences), in a fixed order. */
export const CAPTION_VOCABULARY: Record<CaptionedEnv, readonly string[]> = {
  'door-open': [...new Set(DOOR_BUCKETS.flatMap((b) => b.captions))],
  'CartPole-v1': [
    ...new Set(
      [0, 0.05, -0.05, 0.15, -0.15, 0.3, -0.3, 0.5, -0.5].flatMap((t) => cartPoleCaptions(t)),
    ),
  ],
  'carball-1v1': [
    ...new Set(
      [
        [0, 5500, 93],
        [0, -5500, 93],
        [0, 4000, 93],
        [0, -4000, 93],
        [0, 0, 93],
        [0, 2000, 93],
        [0, -2000, 1000],
      ].flatMap((p) => carballCaptions(p)),
    ),
  ],
};

export class CaptionError extends Error {
  override name = 'CaptionError';
}

export function assertCaptionedEnv(envId: unknown): asserts envId is CaptionedEnv {
  if (!CAPTIONED_ENVS.includes(envId as CaptionedEnv)) {
    throw new CaptionError(`no captioned states for env ${JSON.stringify(envId)}: the envs with captions are ${CAPTIONED_ENVS.join(', ')}`);
  }
}

/** The words of the captions of `envs` (lowercase, split as the exported WordLevel tokenizer splits), in order of first use. */
export function captionWords(envs: readonly string[]): string[] {
  const words = new Set<string>();
  for (const env of envs) {
    assertCaptionedEnv(env);
    for (const c of CAPTION_VOCABULARY[env]) for (const w of splitWords(c)) words.add(w);
  }
  return [...words];
}

/** The WordLevel tokenizer's normaliser (Lowercase) and pre-tokenizer (Whitespace: `\w+|[^\w\s]+`). */
export function splitWords(text: string): string[] {
  return text.toLowerCase().match(/\w+|[^\w\s]+/gu) ?? [];
}

/**
 * `count` captioned states of `envId` from `seed` (same seed, same states, captions and frames). The
 * frames are for `FrameRenderer.renderFrames(scene, frames, { width, height, camera })`.
 */
export async function sampleCaptionedFrames(envId: string, count: number, seed: number): Promise<CaptionedFrames> {
  assertCaptionedEnv(envId);
  if (!(Number.isInteger(count) && count > 0)) throw new RangeError(`sampleCaptionedFrames: count must be a positive integer, got ${count}`);
  assertSeed(seed, 'sampleCaptionedFrames seed');
  let out: CaptionedFrames;
  if (envId === 'door-open') out = await sampleDoor(count, seed);
  else if (envId === 'CartPole-v1') out = sampleCartPole(count, seed);
  else out = sampleCarball(count, seed);
  for (const c of out.captions) for (const t of c) if (!CAPTION_VOCABULARY[envId].includes(t)) throw new Error(`caption "${t}" of ${envId} is missing from CAPTION_VOCABULARY`);
  return out;
}
