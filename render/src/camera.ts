/**
 * Camera options of the frame renderer: a name from the scene's cameras (`ReplayScene.cameras`, the
 * first is the default), or a camera given in full.
 */
import type { ReplayScene, SceneCamera } from '@rewardlab/sim';
import { RenderInputError } from './errors';

export type CameraOption = string | SceneCamera;

const finite3 = (v: unknown): v is [number, number, number] => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** The scene's camera for `option`; throws a RenderInputError naming the scene's cameras when it knows none by that name. */
export function resolveCamera(scene: ReplayScene, option?: CameraOption): SceneCamera {
  const named = scene.cameras ?? {};
  const names = Object.keys(named);
  if (option === undefined || option === 'default') {
    if (names.length) return named[names[0]!]!;
    // No named cameras: the viewer's opening view (35° up, from −y in a z-up scene, +z in a y-up one).
    const target = scene.camera?.target ?? [0, 0, 0];
    const d = scene.camera?.distance ?? 5;
    const e = (35 * Math.PI) / 180;
    const position: [number, number, number] = scene.up === 'z' ? [target[0], target[1] - Math.cos(e) * d, target[2] + Math.sin(e) * d] : [target[0], target[1] + Math.sin(e) * d, target[2] + Math.cos(e) * d];
    return { position, target, fovDeg: 60 };
  }
  if (typeof option === 'string') {
    const camera = named[option];
    if (!camera) throw new RenderInputError(`unknown camera "${option}": this scene has ${names.length ? names.map((n) => `"${n}"`).join(', ') : 'no named cameras'} (or pass { position, target, fovDeg })`);
    return camera;
  }
  if (!option || typeof option !== 'object') throw new RenderInputError(`a camera is a name or { position, target, fovDeg }, got ${JSON.stringify(option)}`);
  if (!finite3(option.position) || !finite3(option.target)) throw new RenderInputError('a camera needs position and target as three finite numbers each');
  if (!(typeof option.fovDeg === 'number' && option.fovDeg > 0 && option.fovDeg < 180)) throw new RenderInputError(`a camera's fovDeg must be in (0, 180), got ${String(option.fovDeg)}`);
  if (option.up !== undefined && !finite3(option.up)) throw new RenderInputError("a camera's up must be three finite numbers");
  if (option.position.every((x, i) => x === option.target[i])) throw new RenderInputError('a camera cannot look at its own position');
  return { position: [...option.position], target: [...option.target], fovDeg: option.fovDeg, ...(option.up ? { up: [...option.up] as [number, number, number] } : {}) };
}

/** Where a world point lands in a width × height image from `camera` (pixels from the top left), or null behind the camera. */
export function projectPoint(scene: ReplayScene, camera: SceneCamera, point: ArrayLike<number>, width: number, height: number): { x: number; y: number } | null {
  const sub = (a: ArrayLike<number>, b: ArrayLike<number>): number[] => [a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!];
  const dot = (a: number[], b: number[]): number => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;
  const cross = (a: number[], b: number[]): number[] => [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
  const norm = (a: number[]): number[] => {
    const l = Math.hypot(a[0]!, a[1]!, a[2]!);
    return [a[0]! / l, a[1]! / l, a[2]! / l];
  };
  // A look-at frame as three.js builds it: forward towards the target, right = forward × up, up' = right × forward.
  const forward = norm(sub(camera.target, camera.position));
  const upHint = camera.up ?? (scene.up === 'z' ? [0, 0, 1] : [0, 1, 0]);
  const right = norm(cross(forward, upHint));
  const up = cross(right, forward);
  const rel = sub(point, camera.position);
  const depth = dot(rel, forward);
  if (depth <= 0) return null;
  const f = 1 / Math.tan(((camera.fovDeg / 2) * Math.PI) / 180);
  const aspect = width / height;
  const ndcX = (f / aspect) * (dot(rel, right) / depth);
  const ndcY = f * (dot(rel, up) / depth);
  return { x: ((ndcX + 1) / 2) * width, y: ((1 - ndcY) / 2) * height };
}
