/**
 * The frame renderer's page, run in headless Chromium (software WebGL2 through SwiftShader). It
 * connects back to the Node process that opened it over a WebSocket, builds scenes with the viewer's
 * scene code, and answers each render request with every frame of the batch: one canvas holds the
 * batch as a grid of viewports, and one `readPixels` reads them all back.
 *
 * Messages from Node: text `{ type: "scene", id, scene }` (answered `{ type: "scene-ready", id }`), and
 * binary render requests: uint32 header length, header JSON `{ id, scene, count, width, height,
 * camera }`, padding to 4 bytes, then float32 transforms (count × bodies × 7) and signals
 * (count × signals). Answers: binary uint32 request id then count × height × width × 3 RGB bytes, rows
 * top to bottom; or text `{ type: "error", id, message }`.
 */
import * as THREE from 'three';
import type { ReplayScene, SceneCamera } from '@rewardlab/replay';
import { poseCamera, ReplayScene3D, shaderWarmUpScene } from '../scene';

interface SceneEntry {
  scene: THREE.Scene;
  scene3d: ReplayScene3D;
}

interface RenderHeader {
  id: number;
  scene: number;
  count: number;
  width: number;
  height: number;
  camera: SceneCamera;
  compress?: boolean;
}

const canvas = document.createElement('canvas');
document.body.append(canvas);
const renderer = new THREE.WebGLRenderer({ canvas, antialias: false, preserveDrawingBuffer: false, powerPreference: 'high-performance' });
renderer.setPixelRatio(1);
renderer.autoClear = false;
renderer.shadowMap.enabled = false;
const gl = renderer.getContext() as WebGL2RenderingContext;
const maxSize = Math.min(gl.getParameter(gl.MAX_TEXTURE_SIZE) as number, (gl.getParameter(gl.MAX_VIEWPORT_DIMS) as Int32Array)[0]!, 4096);
const scenes = new Map<number, SceneEntry>();
const camera = new THREE.PerspectiveCamera();
let readBuffer = new Uint8Array(0);

const socket = new WebSocket(`ws://${location.host}/ws`);
socket.binaryType = 'arraybuffer';

function fail(id: number, err: unknown): void {
  socket.send(JSON.stringify({ type: 'error', id, message: err instanceof Error ? err.message : String(err) }));
}

function addScene(id: number, description: ReplayScene, views: number): void {
  const scene3d = new ReplayScene3D(description, { views });
  const scene = new THREE.Scene();
  scene.add(scene3d.root);
  scenes.get(id)?.scene3d.dispose();
  scenes.set(id, { scene, scene3d });
  // Compile the scene's shaders now, not in the first timed batch.
  renderer.compile(scene, camera);
}

/** Columns and rows of the viewport grid for `count` frames of `width` × `height`. */
function grid(count: number, width: number, height: number): { cols: number; rows: number } {
  const cols = Math.max(1, Math.min(count, Math.floor(maxSize / width)));
  const rows = Math.ceil(count / cols);
  if (rows * height > maxSize) throw new Error(`a batch of ${count} frames of ${width}×${height} does not fit a ${maxSize}-pixel canvas`);
  return { cols, rows };
}

function render(data: ArrayBuffer): void {
  const view = new DataView(data);
  const headerLength = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(data, 4, headerLength))) as RenderHeader;
  try {
    const entry = scenes.get(header.scene);
    if (!entry) throw new Error(`no scene ${header.scene} on the renderer page`);
    const { count, width, height } = header;
    const desc = entry.scene3d.description;
    const bodyFloats = desc.dynamicBodies.length * 7;
    const signalCount = desc.signals?.length ?? 0;
    const start = Math.ceil((4 + headerLength) / 4) * 4;
    const transforms = new Float32Array(data, start, count * bodyFloats);
    const signals = new Float32Array(data, start + count * bodyFloats * 4, count * signalCount);
    const { cols, rows } = grid(count, width, height);
    const cw = cols * width;
    const ch = rows * height;
    if (canvas.width !== cw || canvas.height !== ch) renderer.setSize(cw, ch, false);
    poseCamera(camera, desc, header.camera, width / height);
    renderer.setClearColor(entry.scene3d.background, 1);
    // Frame k is view k: column k % cols, row ⌊k / cols⌋ counted from the top; one draw per mesh for all.
    if (count > entry.scene3d.views) throw new Error(`a batch of ${count} frames for a scene built for ${entry.scene3d.views}`);
    entry.scene3d.setViewGrid(cols, count, width, height);
    for (let k = 0; k < count; k++) entry.scene3d.applyPose(transforms, signals, k * bodyFloats, k * signalCount, k);
    renderer.setViewport(0, 0, cw, ch);
    renderer.clear(true, true, false);
    renderer.render(entry.scene, camera);
    if (readBuffer.length < cw * ch * 4) readBuffer = new Uint8Array(cw * ch * 4);
    gl.readPixels(0, 0, cw, ch, gl.RGBA, gl.UNSIGNED_BYTE, readBuffer);
    const out = new Uint8Array(4 + count * width * height * 3);
    new DataView(out.buffer).setUint32(0, header.id, true);
    const rgba = readBuffer;
    let o = 4;
    for (let k = 0; k < count; k++) {
      const x0 = (k % cols) * width;
      const yTop = ch - Math.floor(k / cols) * height;
      for (let r = 0; r < height; r++) {
        let i = ((yTop - 1 - r) * cw + x0) * 4;
        for (let c = 0; c < width; c++, i += 4) {
          out[o++] = rgba[i]!;
          out[o++] = rgba[i + 1]!;
          out[o++] = rgba[i + 2]!;
        }
      }
    }
    if (header.compress) {
      // Frames are large flat colours: zlib (native in the browser) shrinks them many times over, which
      // is what the browser-to-Node pipe needs (it carries a few tens of MB/s).
      const body = new Blob([out.subarray(4)]).stream().pipeThrough(new CompressionStream('deflate-raw'));
      void new Response(body).arrayBuffer().then((packed) => {
        const msg = new Uint8Array(4 + packed.byteLength);
        msg.set(out.subarray(0, 4));
        msg.set(new Uint8Array(packed), 4);
        socket.send(msg);
      });
    } else socket.send(out);
  } catch (err) {
    fail(header.id, err);
  }
}

socket.addEventListener('message', (event) => {
  if (typeof event.data === 'string') {
    const msg = JSON.parse(event.data) as { type: string; id: number; scene?: ReplayScene; views?: number };
    if (msg.type === 'scene') {
      try {
        addScene(msg.id, msg.scene!, msg.views ?? 1);
        socket.send(JSON.stringify({ type: 'scene-ready', id: msg.id }));
      } catch (err) {
        fail(msg.id, err);
      }
    } else if (msg.type === 'drop-scene') {
      scenes.get(msg.id)?.scene3d.dispose();
      scenes.delete(msg.id);
    }
    return;
  }
  render(event.data as ArrayBuffer);
});

socket.addEventListener('open', () => {
  renderer.compile(shaderWarmUpScene(), camera);
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const glRenderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : String(gl.getParameter(gl.RENDERER));
  socket.send(JSON.stringify({ type: 'hello', maxSize, glRenderer }));
});
