/**
 * The one three.js scene builder that the replay viewer and the frame renderer share: `ReplayScene3D`
 * turns a replay scene description into three.js objects once; `applyFrame` (the viewer: a fractional
 * replay frame, interpolated) and `applyPose` (the renderer: one frame's transforms and signals) pose
 * the dynamic bodies and switch the signal toggles.
 *
 * Drawing cost is what keeps software WebGL fast: every piece that shares shape, colour and opacity
 * becomes one InstancedMesh (all cars' wheels, all boost pads are one draw call each); moving pieces
 * use Lambert materials, static ones have the same light baked into vertex colours and draw unlit;
 * nothing casts shadows.
 */
import * as THREE from 'three';
import { mergeGeometries } from 'three/examples/jsm/utils/BufferGeometryUtils.js';
import { TRANSFORM_SIZE, type BodyPart, type Replay, type ReplayQuat, type ReplayScene, type ReplayShape, type ReplayVec3, type SignalToggle } from '@rewardlab/replay';

export function shapeKey(shape: ReplayShape): string {
  switch (shape.kind) {
    case 'box':
      return `box:${shape.halfExtents.join(',')}`;
    case 'sphere':
      return `sphere:${shape.radius}`;
    case 'capsule':
    case 'cylinder':
      return `${shape.kind}:${shape.radius},${shape.halfLength}`;
    case 'ring':
      return `ring:${shape.innerRadius},${shape.outerRadius}`;
  }
}

/** Geometry in the body's frame; capsules and cylinders lie along local z as the format says (three builds them along y). */
export function shapeGeometry(shape: ReplayShape): THREE.BufferGeometry {
  switch (shape.kind) {
    case 'box':
      return new THREE.BoxGeometry(shape.halfExtents[0] * 2, shape.halfExtents[1] * 2, shape.halfExtents[2] * 2);
    case 'sphere':
      return new THREE.SphereGeometry(shape.radius, 24, 16);
    case 'capsule':
      return new THREE.CapsuleGeometry(shape.radius, shape.halfLength * 2, 4, 12).rotateX(Math.PI / 2);
    case 'cylinder':
      return new THREE.CylinderGeometry(shape.radius, shape.radius, shape.halfLength * 2, 20).rotateX(Math.PI / 2);
    case 'ring':
      // RingGeometry lies in x–y facing +z already; a zero inner radius is a disc.
      return shape.innerRadius > 0 ? new THREE.RingGeometry(shape.innerRadius, shape.outerRadius, 48) : new THREE.CircleGeometry(shape.outerRadius, 32);
  }
}

/**
 * The lights, stated once: a hemisphere light (sky white, ground dark grey) and a sun above and to the
 * side. Moving pieces are lit by three.js; static bodies get the same light baked into vertex colours
 * (flat faces under fixed lights have fixed colours), so the large floor and walls draw with the
 * cheapest shader.
 */
const LIGHT = { sky: new THREE.Color('#ffffff'), ground: new THREE.Color('#404040'), hemiIntensity: 2.2, sunIntensity: 1.6 };
export const DEFAULT_BACKGROUND = '#0d1117';

function sunDirection(up: THREE.Vector3): THREE.Vector3 {
  const side = up.z === 1 ? new THREE.Vector3(0.35, -0.45, 0) : new THREE.Vector3(0.35, 0, 0.45);
  return up.clone().add(side).normalize();
}

/** Lambert shading of `albedo` (linear) for a surface with normal `n`, as three.js computes it for these lights. */
function bakedColor(albedo: THREE.Color, n: THREE.Vector3, up: THREE.Vector3, sun: THREE.Vector3, out: THREE.Color): THREE.Color {
  const hemi = LIGHT.ground.clone().lerp(LIGHT.sky, 0.5 * n.dot(up) + 0.5).multiplyScalar(LIGHT.hemiIntensity);
  const direct = LIGHT.sunIntensity * Math.max(0, n.dot(sun));
  return out.setRGB(((hemi.r + direct) * albedo.r) / Math.PI, ((hemi.g + direct) * albedo.g) / Math.PI, ((hemi.b + direct) * albedo.b) / Math.PI);
}

/** One instance of an instanced mesh that follows a dynamic body (with the piece's offset in the body's frame). */
interface PieceSlot {
  mesh: THREE.InstancedMesh;
  index: number;
  /** Instances per view in `mesh` (view v's copy of this piece is instance `index + v · stride`). */
  stride: number;
  body: number;
  local: THREE.Matrix4 | null;
  toggle: ToggleRef | null;
}

/** A toggled instance: which signal, and its on / off colours (null off colour: hidden while off). */
interface ToggleRef {
  signal: number;
  on: THREE.Color;
  off: THREE.Color | null;
}

interface StaticToggleSlot {
  mesh: THREE.InstancedMesh;
  index: number;
  stride: number;
  matrix: THREE.Matrix4;
  toggle: ToggleRef;
}

const tmpMatrix = new THREE.Matrix4();
const tmpPos = new THREE.Vector3();
const tmpQuat = new THREE.Quaternion();
const tmpQuatB = new THREE.Quaternion();
const unitScale = new THREE.Vector3(1, 1, 1);
const zeroMatrix = new THREE.Matrix4().makeScale(0, 0, 0);
const WHITE = new THREE.Color('#ffffff');

function localMatrix(position?: ReplayVec3, quat?: ReplayQuat): THREE.Matrix4 | null {
  if (!position && !quat) return null;
  return new THREE.Matrix4().compose(tmpPos.fromArray(position ?? [0, 0, 0]), quat ? tmpQuat.fromArray(quat) : tmpQuat.identity(), unitScale);
}

/**
 * A scene with the same lights and material kinds as every replay scene (lit instanced bodies, baked
 * instanced statics, instance colours), for compiling the shaders before a replay arrives: under
 * software WebGL the first compile costs a few hundred milliseconds.
 */
export function shaderWarmUpScene(up = new THREE.Vector3(0, 0, 1)): THREE.Scene {
  const scene = new THREE.Scene();
  const hemi = new THREE.HemisphereLight(LIGHT.sky, LIGHT.ground, LIGHT.hemiIntensity);
  const sun = new THREE.DirectionalLight('#ffffff', LIGHT.sunIntensity);
  sun.position.copy(sunDirection(up));
  const box = new THREE.BoxGeometry(1, 1, 1);
  box.setAttribute('color', new THREE.BufferAttribute(new Float32Array(box.getAttribute('position').count * 3), 3));
  const coloured = new THREE.InstancedMesh(box, new THREE.MeshBasicMaterial({ vertexColors: true }), 1);
  coloured.setColorAt(0, WHITE);
  scene.add(
    hemi,
    sun,
    new THREE.InstancedMesh(box, new THREE.MeshLambertMaterial({ color: '#ffffff' }), 1),
    new THREE.InstancedMesh(box, new THREE.MeshBasicMaterial({ vertexColors: true }), 1),
    new THREE.InstancedMesh(box, new THREE.MeshBasicMaterial({ vertexColors: true, transparent: true, opacity: 0.5, depthWrite: false }), 1),
    coloured,
  );
  return scene;
}

export interface ReplayScene3DOptions {
  /**
   * Copies of the scene drawn at once, each into its own cell of a grid of equal viewports (the frame
   * renderer's batches): every mesh holds `views` copies of its instances, and its shader moves copy v
   * into cell v and discards what falls outside it. One draw call per mesh then draws the whole batch.
   * Default 1 (the viewer): a plain scene.
   */
  views?: number;
}

/** The uniforms the multi-view shaders share: grid (columns, rows, cells in use) and cell size (width, height) in pixels. */
interface ViewUniforms {
  viewGrid: { value: THREE.Vector3 };
  viewCell: { value: THREE.Vector2 };
}

const MULTIVIEW_VERTEX_HEAD = `
in float viewIndex;
uniform vec3 viewGrid;
flat out vec2 vViewCell;
`;
// After three's projection: the cell's column c and row r (from the top); in clip space x' = x / cols +
// (−1 + (2c + 1) / cols)·w, which is the NDC map [−1, 1] → the cell's slice of it, linear in clip
// coordinates so that clipping against the near plane still works.
const MULTIVIEW_VERTEX_BODY = `
{
  float cols = viewGrid.x;
  float rows = viewGrid.y;
  float c = mod(viewIndex, cols);
  float r = floor(viewIndex / cols);
  gl_Position.x = gl_Position.x / cols + (-1.0 + (2.0 * c + 1.0) / cols) * gl_Position.w;
  gl_Position.y = gl_Position.y / rows + (1.0 - (2.0 * r + 1.0) / rows) * gl_Position.w;
  vViewCell = vec2(c, r);
}
`;
const MULTIVIEW_FRAGMENT_HEAD = `
uniform vec3 viewGrid;
uniform vec2 viewCell;
flat in vec2 vViewCell;
`;
// Fragments that a copy throws beyond its own cell (geometry outside that view's frustum) are dropped.
const MULTIVIEW_FRAGMENT_BODY = `
{
  vec2 cell = vec2(floor(gl_FragCoord.x / viewCell.x), floor((viewGrid.y * viewCell.y - gl_FragCoord.y) / viewCell.y));
  if (cell != vViewCell) discard;
}
`;

export class ReplayScene3D {
  readonly root = new THREE.Group();
  readonly views: number;
  private readonly viewUniforms: ViewUniforms = { viewGrid: { value: new THREE.Vector3(1, 1, 1) }, viewCell: { value: new THREE.Vector2(1, 1) } };
  /** Every mesh with its instances per view. */
  private readonly meshStrides = new Map<THREE.InstancedMesh, number>();
  private readonly pieces: PieceSlot[] = [];
  private readonly staticToggles: StaticToggleSlot[] = [];
  private readonly dynamicMeshes: THREE.InstancedMesh[] = [];
  private readonly toggledStaticMeshes = new Set<THREE.InstancedMesh>();
  private readonly hidden = new Set<number>();
  private readonly geometries = new Map<string, THREE.BufferGeometry>();
  private readonly materials = new Map<string, THREE.Material>();
  private readonly signalIndex = new Map<string, number>();
  /** World position and orientation of every dynamic body at the last applied frame. */
  readonly positions: THREE.Vector3[] = [];
  readonly quaternions: THREE.Quaternion[] = [];
  readonly up: THREE.Vector3;
  readonly flat: boolean;
  readonly background: THREE.Color;

  constructor(
    readonly description: ReplayScene,
    options: ReplayScene3DOptions = {},
  ) {
    this.views = options.views ?? 1;
    if (!(Number.isInteger(this.views) && this.views >= 1)) throw new Error(`views must be a positive integer, got ${options.views}`);
    this.up = description.up === 'z' ? new THREE.Vector3(0, 0, 1) : new THREE.Vector3(0, 1, 0);
    this.flat = description.lighting === 'flat';
    this.background = new THREE.Color(description.background ?? DEFAULT_BACKGROUND);
    (description.signals ?? []).forEach((name, i) => this.signalIndex.set(name, i));
    if (!this.flat) {
      const hemi = new THREE.HemisphereLight(LIGHT.sky, LIGHT.ground, LIGHT.hemiIntensity);
      hemi.position.copy(this.up);
      const sun = new THREE.DirectionalLight('#ffffff', LIGHT.sunIntensity);
      sun.position.copy(sunDirection(this.up));
      this.root.add(hemi, sun);
    }
    this.buildStatic();
    this.buildDynamic();
  }

  /** An instanced mesh of `n` instances per view; with several views, its own geometry copy carries each instance's view. */
  private instancedMesh(geometry: THREE.BufferGeometry, material: THREE.Material, n: number): THREE.InstancedMesh {
    let g = geometry;
    if (this.views > 1) {
      g = geometry.clone();
      const view = new Float32Array(n * this.views);
      for (let i = 0; i < view.length; i++) view[i] = Math.floor(i / n);
      g.setAttribute('viewIndex', new THREE.InstancedBufferAttribute(view, 1));
      this.geometries.set(`view:${this.geometries.size}`, g);
      this.patchMultiview(material);
    }
    const mesh = new THREE.InstancedMesh(g, material, n * this.views);
    this.meshStrides.set(mesh, n);
    return mesh;
  }

  private readonly patched = new Set<THREE.Material>();

  private patchMultiview(material: THREE.Material): void {
    if (this.patched.has(material)) return;
    this.patched.add(material);
    const uniforms = this.viewUniforms;
    material.onBeforeCompile = (shader) => {
      Object.assign(shader.uniforms, uniforms);
      shader.vertexShader = MULTIVIEW_VERTEX_HEAD + shader.vertexShader.replace('#include <project_vertex>', `#include <project_vertex>\n${MULTIVIEW_VERTEX_BODY}`);
      shader.fragmentShader = MULTIVIEW_FRAGMENT_HEAD + shader.fragmentShader.replace(/void main\(\)\s*\{/, (m) => `${m}\n${MULTIVIEW_FRAGMENT_BODY}`);
    };
    material.customProgramCacheKey = () => 'rewardlab-multiview';
  }

  /**
   * Lays the views out as a grid of `cols` × ⌈used / cols⌉ cells of `width` × `height` pixels (the
   * canvas must be exactly that size) and draws only the first `used` views.
   */
  setViewGrid(cols: number, used: number, width: number, height: number): void {
    if (used > this.views) throw new Error(`${used} views asked of a scene built for ${this.views}`);
    this.viewUniforms.viewGrid.value.set(cols, Math.ceil(used / cols), used);
    this.viewUniforms.viewCell.value.set(width, height);
    for (const [mesh, n] of this.meshStrides) mesh.count = n * used;
  }

  private toggleRef(toggle: SignalToggle | undefined, color: string): ToggleRef | null {
    if (!toggle) return null;
    const signal = this.signalIndex.get(toggle.signal);
    if (signal === undefined) throw new Error(`the scene toggles on signal "${toggle.signal}", which its signals do not name`);
    return { signal, on: new THREE.Color(color), off: toggle.offColor ? new THREE.Color(toggle.offColor) : null };
  }

  private geometry(shape: ReplayShape): THREE.BufferGeometry {
    const key = shapeKey(shape);
    let g = this.geometries.get(key);
    if (!g) this.geometries.set(key, (g = shapeGeometry(shape)));
    return g;
  }

  /** A moving piece's material: lit Lambert, or plain colour in a flat scene; white when instance colours carry the colour. */
  private material(color: string, opacity = 1): THREE.Material {
    const key = `${color}:${opacity}`;
    let m = this.materials.get(key);
    if (!m) {
      const transparent = opacity < 1;
      const params = { color: new THREE.Color(color), transparent, opacity, depthWrite: !transparent };
      m = this.flat ? new THREE.MeshBasicMaterial(params) : new THREE.MeshLambertMaterial(params);
      this.materials.set(key, m);
    }
    return m;
  }

  /** The body's geometry with its lighting in vertex colours (bodies of one group share shape, colour and orientation). */
  private bakedGeometry(shape: ReplayShape, quatArray: ReplayQuat | undefined, color: string): THREE.BufferGeometry {
    const g = shapeGeometry(shape);
    const normals = g.getAttribute('normal');
    const quat = new THREE.Quaternion(...(quatArray ?? [0, 0, 0, 1]));
    const albedo = new THREE.Color(color);
    const sun = sunDirection(this.up);
    const colors = new Float32Array(normals.count * 3);
    const n = new THREE.Vector3();
    const c = new THREE.Color();
    for (let i = 0; i < normals.count; i++) {
      if (this.flat) c.copy(albedo);
      else bakedColor(albedo, n.fromBufferAttribute(normals, i).applyQuaternion(quat), this.up, sun, c);
      c.toArray(colors, i * 3);
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

  /**
   * Static bodies that never change are merged, per opacity, into one geometry with their lighting
   * baked into vertex colours: the whole arena of a carball scene is three draw calls. Toggled bodies
   * (boost pads) stay instanced, baked in white and coloured per instance, so that on and off colours
   * share one mesh.
   */
  private buildStatic(): void {
    const merged = new Map<number, THREE.BufferGeometry[]>();
    const toggledGroups = new Map<string, ReplayScene['staticBodies']>();
    for (const body of this.description.staticBodies ?? []) {
      if (body.toggle) {
        const key = `${shapeKey(body.shape)}|${body.opacity ?? 1}|${(body.quat ?? [0, 0, 0, 1]).join(',')}`;
        const list = toggledGroups.get(key) ?? [];
        list.push(body);
        toggledGroups.set(key, list);
        continue;
      }
      const g = this.bakedGeometry(body.shape, body.quat, body.color);
      tmpPos.fromArray(body.position);
      if (body.quat) tmpQuat.fromArray(body.quat);
      else tmpQuat.identity();
      g.applyMatrix4(tmpMatrix.compose(tmpPos, tmpQuat, unitScale));
      // mergeGeometries needs the same attributes everywhere: drop uvs, make every geometry non-indexed.
      g.deleteAttribute('uv');
      const opacity = body.opacity ?? 1;
      const list = merged.get(opacity) ?? [];
      list.push(g.index ? g.toNonIndexed() : g);
      merged.set(opacity, list);
    }
    for (const [opacity, geometries] of merged) {
      const g = mergeGeometries(geometries);
      if (!g) throw new Error('the scene\'s static bodies could not be merged');
      this.geometries.set(`merged:${opacity}`, g);
      const mesh = this.instancedMesh(g, this.bakedMaterial(opacity), 1);
      mesh.name = opacity < 1 ? `static (opacity ${opacity})` : 'static';
      for (let v = 0; v < this.views; v++) mesh.setMatrixAt(v, new THREE.Matrix4());
      mesh.computeBoundingSphere();
      // Transparent walls and nets draw after the opaque field and bodies.
      if (opacity < 1) mesh.renderOrder = 1;
      this.root.add(mesh);
    }
    for (const bodies of toggledGroups.values()) {
      const first = bodies[0]!;
      const mesh = this.instancedMesh(this.bakedGeometry(first.shape, first.quat, '#ffffff'), this.bakedMaterial(first.opacity), bodies.length);
      mesh.name = bodies.length === 1 ? first.name : `${first.name}×${bodies.length}`;
      bodies.forEach((body, i) => {
        tmpPos.fromArray(body.position);
        if (body.quat) tmpQuat.fromArray(body.quat);
        else tmpQuat.identity();
        const matrix = new THREE.Matrix4().compose(tmpPos, tmpQuat, unitScale);
        const toggle = this.toggleRef(body.toggle, body.color)!;
        for (let v = 0; v < this.views; v++) {
          mesh.setMatrixAt(i + v * bodies.length, matrix);
          mesh.setColorAt(i + v * bodies.length, toggle.on);
        }
        this.staticToggles.push({ mesh, index: i, stride: bodies.length, matrix, toggle });
      });
      mesh.computeBoundingSphere();
      this.toggledStaticMeshes.add(mesh);
      if ((first.opacity ?? 1) < 1) mesh.renderOrder = 1;
      this.root.add(mesh);
    }
  }

  private buildDynamic(): void {
    interface Piece {
      body: number;
      shape: ReplayShape;
      color: string;
      opacity?: number;
      local: THREE.Matrix4 | null;
      toggle?: SignalToggle;
    }
    const groups = new Map<string, Piece[]>();
    this.description.dynamicBodies.forEach((body, i) => {
      const parts: (BodyPart | typeof body)[] = body.parts?.length ? body.parts : [body];
      for (const part of parts) {
        const p = part as BodyPart;
        const piece: Piece = { body: i, shape: p.shape, color: p.color, opacity: p.opacity, local: localMatrix(p.position, p.quat), toggle: p.toggle };
        // A toggle with an off colour needs instance colours; group those apart from plain pieces.
        const key = `${shapeKey(piece.shape)}|${piece.color}|${piece.opacity ?? 1}|${piece.toggle?.offColor ? 'recolour' : ''}`;
        const list = groups.get(key) ?? [];
        list.push(piece);
        groups.set(key, list);
      }
      this.positions.push(new THREE.Vector3());
      this.quaternions.push(new THREE.Quaternion());
    });
    for (const pieces of groups.values()) {
      const first = pieces[0]!;
      const recolour = first.toggle?.offColor !== undefined;
      const mesh = this.instancedMesh(this.geometry(first.shape), this.material(recolour ? '#ffffff' : first.color, first.opacity), pieces.length);
      mesh.name = [...new Set(pieces.map((p) => this.description.dynamicBodies[p.body]!.name))].join(',');
      mesh.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
      // Instances move every frame; a bounding sphere from frame 0 would cull them wrongly.
      mesh.frustumCulled = false;
      if ((first.opacity ?? 1) < 1) mesh.renderOrder = 1;
      pieces.forEach((piece, index) => {
        const toggle = this.toggleRef(piece.toggle, piece.color);
        if (recolour) for (let v = 0; v < this.views; v++) mesh.setColorAt(index + v * pieces.length, toggle!.on);
        this.pieces.push({ mesh, index, stride: pieces.length, body: piece.body, local: piece.local, toggle });
      });
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
    }
    const n = this.description.signals?.length ?? 0;
    // Signals switch at the frame they belong to (a pad is either there or not).
    const nearest = alpha < 0.5 ? f0 : f1;
    this.updateInstances(replay.signals.subarray(nearest * n, nearest * n + n));
  }

  /** Poses every dynamic body of view `view` from one frame's transforms (bodies × 7, from `offset`) and signals (from `signalOffset`). */
  applyPose(transforms: ArrayLike<number>, signals: ArrayLike<number>, offset = 0, signalOffset = 0, view = 0): void {
    const bodies = this.description.dynamicBodies.length;
    for (let b = 0; b < bodies; b++) {
      const a = offset + b * TRANSFORM_SIZE;
      this.positions[b]!.set(transforms[a]!, transforms[a + 1]!, transforms[a + 2]!);
      this.quaternions[b]!.set(transforms[a + 3]!, transforms[a + 4]!, transforms[a + 5]!, transforms[a + 6]!);
    }
    this.updateInstances(signals, signalOffset, view);
  }

  private updateInstances(signals: ArrayLike<number>, signalOffset = 0, view = 0): void {
    const on = (t: ToggleRef): boolean => (signals[signalOffset + t.signal] ?? 0) > 0.5;
    for (const quat of this.quaternions) {
      if (quat.lengthSq() < 1e-12) quat.identity();
      else quat.normalize();
    }
    for (const piece of this.pieces) {
      const lit = piece.toggle ? on(piece.toggle) : true;
      const index = piece.index + view * piece.stride;
      if (this.hidden.has(piece.body) || (!lit && !piece.toggle!.off)) {
        piece.mesh.setMatrixAt(index, zeroMatrix);
        continue;
      }
      tmpMatrix.compose(this.positions[piece.body]!, this.quaternions[piece.body]!, unitScale);
      if (piece.local) tmpMatrix.multiply(piece.local);
      piece.mesh.setMatrixAt(index, tmpMatrix);
      if (piece.toggle?.off) piece.mesh.setColorAt(index, lit ? piece.toggle.on : piece.toggle.off);
    }
    for (const mesh of this.dynamicMeshes) {
      mesh.instanceMatrix.needsUpdate = true;
      if (mesh.instanceColor) mesh.instanceColor.needsUpdate = true;
    }
    for (const slot of this.staticToggles) {
      const lit = on(slot.toggle);
      const index = slot.index + view * slot.stride;
      if (slot.toggle.off) slot.mesh.setColorAt(index, lit ? slot.toggle.on : slot.toggle.off);
      else slot.mesh.setMatrixAt(index, lit ? slot.matrix : zeroMatrix);
    }
    for (const mesh of this.toggledStaticMeshes) {
      mesh.instanceMatrix.needsUpdate = true;
      if (mesh.instanceColor) mesh.instanceColor.needsUpdate = true;
    }
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
