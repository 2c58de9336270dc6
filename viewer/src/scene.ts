/**
 * Scene building, apart from playback: `buildScene` turns a replay's scene description into three.js
 * objects once; `ReplayScene3D.applyFrame` poses the dynamic bodies at a (fractional) frame. Bodies that
 * share shape, colour and opacity become one InstancedMesh (one draw call for all cars of a team, all
 * boost pads), materials are Lambert (cheap under software WebGL) and nothing casts shadows.
 */
import * as THREE from 'three';
import { TRANSFORM_SIZE, type Replay, type ReplayScene, type ReplayShape } from './replay-loader';

function shapeKey(shape: ReplayShape): string {
  switch (shape.kind) {
    case 'box':
      return `box:${shape.halfExtents.join(',')}`;
    case 'sphere':
      return `sphere:${shape.radius}`;
    case 'capsule':
    case 'cylinder':
      return `${shape.kind}:${shape.radius},${shape.halfLength}`;
  }
}

/** Geometry in the body's frame; capsules and cylinders lie along local z as the format says (three builds them along y). */
function shapeGeometry(shape: ReplayShape): THREE.BufferGeometry {
  switch (shape.kind) {
    case 'box':
      return new THREE.BoxGeometry(shape.halfExtents[0] * 2, shape.halfExtents[1] * 2, shape.halfExtents[2] * 2);
    case 'sphere':
      return new THREE.SphereGeometry(shape.radius, 24, 16);
    case 'capsule':
      return new THREE.CapsuleGeometry(shape.radius, shape.halfLength * 2, 4, 12).rotateX(Math.PI / 2);
    case 'cylinder':
      return new THREE.CylinderGeometry(shape.radius, shape.radius, shape.halfLength * 2, 20).rotateX(Math.PI / 2);
  }
}

/**
 * The lights, stated once: a hemisphere light (sky white, ground dark grey) and a sun above and to the
 * side. Moving bodies are lit by three.js; static bodies get the same light baked into vertex colours
 * (flat faces under fixed lights have fixed colours), so the large floor and walls draw with the
 * cheapest shader — what keeps software WebGL at 30 fps.
 */
const LIGHT = { sky: new THREE.Color('#ffffff'), ground: new THREE.Color('#404040'), hemiIntensity: 2.2, sunIntensity: 1.6 };

function sunDirection(up: THREE.Vector3): THREE.Vector3 {
  const side = up.z === 1 ? new THREE.Vector3(0.35, -0.45, 0) : new THREE.Vector3(0.35, 0, 0.45);
  return up.clone().multiplyScalar(1).add(side).normalize();
}

/** Lambert shading of `albedo` (linear) for a surface with normal `n`, as three.js computes it for these lights. */
function bakedColor(albedo: THREE.Color, n: THREE.Vector3, up: THREE.Vector3, sun: THREE.Vector3, out: THREE.Color): THREE.Color {
  const hemi = LIGHT.ground.clone().lerp(LIGHT.sky, 0.5 * n.dot(up) + 0.5).multiplyScalar(LIGHT.hemiIntensity);
  const direct = LIGHT.sunIntensity * Math.max(0, n.dot(sun));
  return out.setRGB(((hemi.r + direct) * albedo.r) / Math.PI, ((hemi.g + direct) * albedo.g) / Math.PI, ((hemi.b + direct) * albedo.b) / Math.PI);
}

interface BodySlot {
  mesh: THREE.InstancedMesh;
  index: number;
}

const tmpMatrix = new THREE.Matrix4();
const tmpPos = new THREE.Vector3();
const tmpQuat = new THREE.Quaternion();
const tmpQuatB = new THREE.Quaternion();
const unitScale = new THREE.Vector3(1, 1, 1);
const zeroScale = new THREE.Vector3(0, 0, 0);

/**
 * A scene with the same lights and material kinds as every replay scene (lit instanced bodies, baked
 * instanced statics), for compiling the shaders while the replay is still downloading and decoding:
 * under software WebGL the first compile costs a few hundred milliseconds.
 */
export function shaderWarmUpScene(up = new THREE.Vector3(0, 0, 1)): THREE.Scene {
  const scene = new THREE.Scene();
  const hemi = new THREE.HemisphereLight(LIGHT.sky, LIGHT.ground, LIGHT.hemiIntensity);
  const sun = new THREE.DirectionalLight('#ffffff', LIGHT.sunIntensity);
  sun.position.copy(sunDirection(up));
  const box = new THREE.BoxGeometry(1, 1, 1);
  box.setAttribute('color', new THREE.BufferAttribute(new Float32Array(box.getAttribute('position').count * 3), 3));
  scene.add(
    hemi,
    sun,
    new THREE.InstancedMesh(box, new THREE.MeshLambertMaterial({ color: '#ffffff' }), 1),
    new THREE.InstancedMesh(box, new THREE.MeshBasicMaterial({ vertexColors: true }), 1),
    new THREE.InstancedMesh(box, new THREE.MeshBasicMaterial({ vertexColors: true, transparent: true, opacity: 0.5, depthWrite: false }), 1),
  );
  return scene;
}

export class ReplayScene3D {
  readonly root = new THREE.Group();
  private readonly slots: BodySlot[] = [];
  private readonly dynamicMeshes: THREE.InstancedMesh[] = [];
  private readonly hidden = new Set<number>();
  private readonly geometries = new Map<string, THREE.BufferGeometry>();
  private readonly materials = new Map<string, THREE.Material>();
  /** World position and orientation of every dynamic body at the last applied frame. */
  readonly positions: THREE.Vector3[] = [];
  readonly quaternions: THREE.Quaternion[] = [];
  readonly up: THREE.Vector3;

  constructor(readonly description: ReplayScene) {
    this.up = description.up === 'z' ? new THREE.Vector3(0, 0, 1) : new THREE.Vector3(0, 1, 0);
    const hemi = new THREE.HemisphereLight(LIGHT.sky, LIGHT.ground, LIGHT.hemiIntensity);
    hemi.position.copy(this.up);
    const sun = new THREE.DirectionalLight('#ffffff', LIGHT.sunIntensity);
    sun.position.copy(sunDirection(this.up));
    this.root.add(hemi, sun);
    this.buildStatic();
    this.buildDynamic();
  }

  private geometry(shape: ReplayShape): THREE.BufferGeometry {
    const key = shapeKey(shape);
    let g = this.geometries.get(key);
    if (!g) this.geometries.set(key, (g = shapeGeometry(shape)));
    return g;
  }

  private material(color: string, opacity = 1): THREE.Material {
    const key = `${color}:${opacity}`;
    let m = this.materials.get(key);
    if (!m) {
      const transparent = opacity < 1;
      m = new THREE.MeshLambertMaterial({ color: new THREE.Color(color), transparent, opacity, depthWrite: !transparent });
      this.materials.set(key, m);
    }
    return m;
  }

  /** The body's geometry with its lighting in vertex colours (bodies of one group share shape, colour and orientation). */
  private bakedGeometry(body: ReplayScene['staticBodies'][number]): THREE.BufferGeometry {
    const g = shapeGeometry(body.shape);
    const normals = g.getAttribute('normal');
    const quat = new THREE.Quaternion(...(body.quat ?? [0, 0, 0, 1]));
    const albedo = new THREE.Color(body.color);
    const sun = sunDirection(this.up);
    const colors = new Float32Array(normals.count * 3);
    const n = new THREE.Vector3();
    const c = new THREE.Color();
    for (let i = 0; i < normals.count; i++) {
      n.fromBufferAttribute(normals, i).applyQuaternion(quat);
      bakedColor(albedo, n, this.up, sun, c).toArray(colors, i * 3);
    }
    g.setAttribute('color', new THREE.BufferAttribute(colors, 3));
    this.geometries.set(`baked:${this.geometries.size}`, g);
    return g;
  }

  private bakedMaterial(opacity = 1): THREE.Material {
    const key = `baked:${opacity}`;
    let m = this.materials.get(key);
    if (!m) {
      const transparent = opacity < 1;
      m = new THREE.MeshBasicMaterial({ vertexColors: true, transparent, opacity, depthWrite: !transparent });
      this.materials.set(key, m);
    }
    return m;
  }

  private buildStatic(): void {
    const groups = new Map<string, ReplayScene['staticBodies']>();
    for (const body of this.description.staticBodies ?? []) {
      const key = `${shapeKey(body.shape)}|${body.color}|${body.opacity ?? 1}|${(body.quat ?? [0, 0, 0, 1]).join(',')}`;
      const list = groups.get(key) ?? [];
      list.push(body);
      groups.set(key, list);
    }
    for (const bodies of groups.values()) {
      const first = bodies[0]!;
      const mesh = new THREE.InstancedMesh(this.bakedGeometry(first), this.bakedMaterial(first.opacity), bodies.length);
      mesh.name = bodies.length === 1 ? first.name : `${first.name}×${bodies.length}`;
      bodies.forEach((body, i) => {
        tmpPos.fromArray(body.position);
        if (body.quat) tmpQuat.fromArray(body.quat);
        else tmpQuat.identity();
        mesh.setMatrixAt(i, tmpMatrix.compose(tmpPos, tmpQuat, unitScale));
      });
      mesh.computeBoundingSphere();
      // Transparent walls and goals draw after the opaque field and bodies.
      if ((first.opacity ?? 1) < 1) mesh.renderOrder = 1;
      this.root.add(mesh);
    }
  }

  private buildDynamic(): void {
    const groups = new Map<string, number[]>();
    this.description.dynamicBodies.forEach((body, i) => {
      const key = `${shapeKey(body.shape)}|${body.color}|${body.opacity ?? 1}`;
      const list = groups.get(key) ?? [];
      list.push(i);
      groups.set(key, list);
      this.positions.push(new THREE.Vector3());
      this.quaternions.push(new THREE.Quaternion());
    });
    for (const indices of groups.values()) {
      const first = this.description.dynamicBodies[indices[0]!]!;
      const mesh = new THREE.InstancedMesh(this.geometry(first.shape), this.material(first.color, first.opacity), indices.length);
      mesh.name = indices.map((i) => this.description.dynamicBodies[i]!.name).join(',');
      mesh.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
      // Instances move every frame; a bounding sphere from frame 0 would cull them wrongly.
      mesh.frustumCulled = false;
      indices.forEach((body, index) => (this.slots[body] = { mesh, index }));
      this.dynamicMeshes.push(mesh);
      this.root.add(mesh);
    }
  }

  /** Shows or hides one dynamic body (the camera's own car, the pixel tests). */
  setBodyVisible(body: number, visible: boolean): void {
    if (visible) this.hidden.delete(body);
    else this.hidden.add(body);
  }

  /** Poses every dynamic body at fractional `frame`: linear position, spherical orientation between frames. */
  applyFrame(replay: Replay, frame: number): void {
    const bodies = this.description.dynamicBodies.length;
    const f0 = Math.max(0, Math.min(replay.frameCount - 1, Math.floor(frame)));
    const f1 = Math.min(replay.frameCount - 1, f0 + 1);
    const alpha = Math.min(1, Math.max(0, frame - f0));
    const t = replay.transforms;
    for (let b = 0; b < bodies; b++) {
      const a = (f0 * bodies + b) * TRANSFORM_SIZE;
      const c = (f1 * bodies + b) * TRANSFORM_SIZE;
      const pos = this.positions[b]!;
      pos.set(t[a]!, t[a + 1]!, t[a + 2]!);
      const quat = this.quaternions[b]!;
      quat.set(t[a + 3]!, t[a + 4]!, t[a + 5]!, t[a + 6]!);
      if (alpha > 0 && f1 !== f0) {
        tmpPos.set(t[c]!, t[c + 1]!, t[c + 2]!);
        // A jump of more than a few body lengths is a teleport (kickoff reset, demolition respawn): no blending.
        if (pos.distanceToSquared(tmpPos) < this.teleportDistanceSquared) {
          pos.lerp(tmpPos, alpha);
          tmpQuatB.set(t[c + 3]!, t[c + 4]!, t[c + 5]!, t[c + 6]!);
          quat.slerp(tmpQuatB, alpha);
        }
      }
      if (quat.lengthSq() < 1e-12) quat.identity();
      else quat.normalize();
      const slot = this.slots[b]!;
      slot.mesh.setMatrixAt(slot.index, tmpMatrix.compose(pos, quat, this.hidden.has(b) ? zeroScale : unitScale));
    }
    for (const mesh of this.dynamicMeshes) mesh.instanceMatrix.needsUpdate = true;
  }

  /** Squared distance beyond which consecutive frames are not interpolated: a tenth of the scene's camera distance. */
  private get teleportDistanceSquared(): number {
    const d = (this.description.camera?.distance ?? 10) / 10;
    return d * d;
  }

  /** Centre and radius that frame the static bodies (or the camera hint). */
  bounds(): { center: THREE.Vector3; radius: number } {
    this.cachedBounds ??= this.computeBounds();
    return this.cachedBounds;
  }

  private cachedBounds: { center: THREE.Vector3; radius: number } | undefined;

  private computeBounds(): { center: THREE.Vector3; radius: number } {
    const box = new THREE.Box3();
    for (const child of this.root.children) {
      const mesh = child as THREE.InstancedMesh;
      if (!mesh.isInstancedMesh || mesh.instanceMatrix.usage === THREE.DynamicDrawUsage) continue;
      mesh.computeBoundingBox();
      if (mesh.boundingBox) box.union(mesh.boundingBox);
    }
    if (box.isEmpty()) {
      const target = this.description.camera?.target ?? [0, 0, 0];
      return { center: new THREE.Vector3().fromArray(target), radius: (this.description.camera?.distance ?? 5) / 2 };
    }
    const sphere = box.getBoundingSphere(new THREE.Sphere());
    return { center: sphere.center, radius: sphere.radius };
  }

  dispose(): void {
    for (const g of this.geometries.values()) g.dispose();
    for (const m of this.materials.values()) m.dispose();
    for (const child of this.root.children) (child as THREE.InstancedMesh).dispose?.();
    this.root.clear();
  }
}
