/**
 * Cameras after RLViser's: a free orbit camera, a ball cam (behind the followed car, looking through
 * it at the ball), a car cam (behind the followed car, looking where it drives) and a top-down view.
 * Each frame `CameraRig.update` places the camera from the bodies' current poses; only the orbit
 * camera answers the mouse.
 */
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import type { ReplayScene3D } from '@rewardlab/scene3d';

export const CAMERA_MODES = ['orbit', 'ball', 'car', 'top'] as const;
export type CameraMode = (typeof CAMERA_MODES)[number];

export function isCameraMode(s: string | undefined): s is CameraMode {
  return (CAMERA_MODES as readonly string[]).includes(s ?? '');
}

const tmp = new THREE.Vector3();
const tmpB = new THREE.Vector3();
const forward = new THREE.Vector3();

export class CameraRig {
  readonly camera: THREE.PerspectiveCamera;
  readonly controls: OrbitControls;
  mode: CameraMode = 'orbit';
  /** The dynamic body the ball and car cams follow. */
  followBody = -1;
  private ballBody = -1;
  private scale = 1;
  private scene: ReplayScene3D | null = null;

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.camera = new THREE.PerspectiveCamera(60, 16 / 9, 0.01, 1000);
    this.controls = new OrbitControls(this.camera, canvas);
    this.controls.enableDamping = false;
  }

  /** Frames a new scene: the orbit camera from the scene's hint, the followed car the first agent's body. */
  attach(scene: ReplayScene3D): void {
    this.scene = scene;
    const desc = scene.description;
    this.camera.up.copy(scene.up);
    // OrbitControls reads camera.up when built, so a z-up scene needs fresh controls.
    this.controls.dispose();
    (this as { controls: OrbitControls }).controls = new OrbitControls(this.camera, this.canvas);
    const { center, radius } = scene.bounds();
    const distance = desc.camera?.distance ?? radius * 2.2;
    this.scale = distance;
    this.camera.near = distance / 2000;
    this.camera.far = distance * 20;
    this.camera.updateProjectionMatrix();
    const target = desc.camera ? tmp.fromArray(desc.camera.target) : center;
    this.controls.target.copy(target);
    // Look from the side and above: 35° elevation, from −y (z up) or +z (y up).
    const elevation = (35 * Math.PI) / 180;
    const side = desc.up === 'z' ? new THREE.Vector3(0, -1, 0) : new THREE.Vector3(0, 0, 1);
    this.camera.position.copy(target).addScaledVector(side, Math.cos(elevation) * distance).addScaledVector(scene.up, Math.sin(elevation) * distance);
    this.controls.update();
    this.ballBody = desc.dynamicBodies.findIndex((b) => b.shape.kind === 'sphere' && b.agent === undefined);
    if (this.followBody < 0 || this.followBody >= desc.dynamicBodies.length || desc.dynamicBodies[this.followBody]!.agent === undefined) {
      this.followBody = desc.dynamicBodies.findIndex((b) => b.agent !== undefined);
    }
    this.setMode(this.mode);
  }

  /** Agent-owned bodies, in order (what Tab cycles through). */
  followableBodies(): number[] {
    return (this.scene?.description.dynamicBodies ?? []).flatMap((b, i) => (b.agent !== undefined ? [i] : []));
  }

  setMode(mode: CameraMode): void {
    this.mode = mode;
    this.controls.enabled = mode === 'orbit';
  }

  followNext(step = 1): void {
    const bodies = this.followableBodies();
    if (!bodies.length) return;
    const i = bodies.indexOf(this.followBody);
    this.followBody = bodies[(((i < 0 ? 0 : i + step) % bodies.length) + bodies.length) % bodies.length]!;
  }

  resize(width: number, height: number): void {
    this.camera.aspect = width / Math.max(1, height);
    this.camera.updateProjectionMatrix();
  }

  /** Places the camera for the current mode from the bodies' poses at the applied frame. */
  update(): void {
    const scene = this.scene;
    if (!scene) return;
    const up = scene.up;
    const s = this.scale;
    if (this.mode === 'orbit') {
      this.controls.update();
      return;
    }
    if (this.mode === 'top') {
      const { center, radius } = scene.bounds();
      const fov = (this.camera.fov * Math.PI) / 180;
      const height = (radius / Math.tan(fov / 2)) * 0.75;
      this.camera.position.copy(center).addScaledVector(up, height);
      // Looking straight down: screen-up is the field's long axis (y when z is up).
      this.camera.up.set(0, 1, 0);
      if (up.y === 1) this.camera.up.set(0, 0, -1);
      this.camera.lookAt(center);
      this.camera.up.copy(up);
      return;
    }
    const body = this.followBody >= 0 ? this.followBody : this.ballBody;
    if (body < 0) return;
    const car = scene.positions[body]!;
    // Distances as fractions of the scene's framing distance (9000 uu on a carball field → ≈ 280 uu back).
    const back = s * 0.031;
    const lift = s * 0.012;
    if (this.mode === 'ball' && this.ballBody >= 0 && this.ballBody !== body) {
      const ball = scene.positions[this.ballBody]!;
      forward.subVectors(ball, car);
      forward.addScaledVector(up, -forward.dot(up));
      if (forward.lengthSq() < 1e-9) forward.set(1, 0, 0).applyQuaternion(scene.quaternions[body]!);
      forward.normalize();
      this.camera.position.copy(car).addScaledVector(forward, -back).addScaledVector(up, lift);
      this.camera.lookAt(tmpB.copy(ball));
      return;
    }
    // Car cam: behind the car along its heading (local +x), flattened onto the ground plane.
    forward.set(1, 0, 0).applyQuaternion(scene.quaternions[body]!);
    forward.addScaledVector(up, -forward.dot(up));
    if (forward.lengthSq() < 1e-9) forward.set(1, 0, 0);
    forward.normalize();
    this.camera.position.copy(car).addScaledVector(forward, -back).addScaledVector(up, lift);
    this.camera.lookAt(tmpB.copy(car).addScaledVector(forward, back).addScaledVector(up, lift * 0.3));
  }
}
