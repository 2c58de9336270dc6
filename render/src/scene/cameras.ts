/** Posing a three.js camera from a scene camera (named in `ReplayScene.cameras`, or given in full). */
import * as THREE from 'three';
import type { ReplayScene, SceneCamera } from '@rewardlab/replay';

/** Places a three.js perspective camera as `camera` says, for an image of `aspect` width / height. */
export function poseCamera(out: THREE.PerspectiveCamera, scene: ReplayScene, camera: SceneCamera, aspect: number): THREE.PerspectiveCamera {
  out.fov = camera.fovDeg;
  out.aspect = aspect;
  const distance = Math.hypot(camera.position[0] - camera.target[0], camera.position[1] - camera.target[1], camera.position[2] - camera.target[2]);
  const extent = scene.camera?.distance ?? distance;
  out.near = Math.max(distance, extent) / 1000;
  out.far = (distance + extent) * 4;
  out.up.fromArray(camera.up ?? (scene.up === 'z' ? [0, 0, 1] : [0, 1, 0]));
  out.position.fromArray(camera.position);
  out.lookAt(new THREE.Vector3().fromArray(camera.target));
  out.updateProjectionMatrix();
  out.updateMatrixWorld();
  return out;
}
