/**
 * Rendered frames to files: PNG images (pngjs) and episode videos encoded by ffmpeg (Debian's
 * `ffmpeg`, H.264 in MP4 or VP9 in WebM), fed raw RGB frames on its standard input.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { RendererUnavailableError, RenderInputError } from './errors';

export const VIDEO_FORMATS = ['mp4', 'webm'] as const;
export type VideoFormat = (typeof VIDEO_FORMATS)[number];

/** Encodes one height × width × 3 RGB frame as PNG bytes. */
export function encodePng(rgb: Uint8Array, width: number, height: number): Buffer {
  if (rgb.length !== width * height * 3) throw new RenderInputError(`a ${width}×${height} RGB frame has ${width * height * 3} bytes, got ${rgb.length}`);
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

export function writePng(path: string, rgb: Uint8Array, width: number, height: number): void {
  writeFileSync(path, encodePng(rgb, width, height));
}

/** Decodes a PNG into RGB bytes (alpha dropped). */
export function decodePng(bytes: Uint8Array): { rgb: Uint8Array; width: number; height: number } {
  const png = PNG.sync.read(Buffer.from(bytes));
  const rgb = new Uint8Array(png.width * png.height * 3);
  for (let i = 0; i < png.width * png.height; i++) {
    rgb[3 * i] = png.data[4 * i]!;
    rgb[3 * i + 1] = png.data[4 * i + 1]!;
    rgb[3 * i + 2] = png.data[4 * i + 2]!;
  }
  return { rgb, width: png.width, height: png.height };
}

/** The ffmpeg to run (`REWARDLAB_FFMPEG`, else `ffmpeg` on the PATH), or null when there is none. */
export function findFfmpeg(): string | null {
  const bin = process.env.REWARDLAB_FFMPEG ?? 'ffmpeg';
  const probe = spawnSync(bin, ['-hide_banner', '-version'], { stdio: 'ignore' });
  return probe.status === 0 ? bin : null;
}

export interface VideoOptions {
  width: number;
  height: number;
  fps: number;
  format?: VideoFormat;
}

/**
 * Encodes `frames` (each height × width × 3 RGB bytes) into a video at `path`. H.264 wants even sides:
 * odd ones are padded by one black pixel.
 */
export async function encodeVideo(path: string, frames: Iterable<Uint8Array>, options: VideoOptions): Promise<void> {
  const format = options.format ?? 'mp4';
  if (!VIDEO_FORMATS.includes(format)) throw new RenderInputError(`unknown video format "${format}" (expected ${VIDEO_FORMATS.join(' or ')})`);
  if (!(options.fps > 0 && options.fps <= 240)) throw new RenderInputError(`video fps must be in (0, 240], got ${options.fps}`);
  const ffmpeg = findFfmpeg();
  if (!ffmpeg) throw new RendererUnavailableError('no ffmpeg to encode the video: install Debian\'s ffmpeg (apt-get install ffmpeg) or set REWARDLAB_FFMPEG, or write frames only');
  const codec = format === 'mp4' ? ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-movflags', '+faststart'] : ['-c:v', 'libvpx-vp9', '-b:v', '0', '-crf', '32', '-deadline', 'realtime', '-row-mt', '1'];
  const args = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${options.width}x${options.height}`, '-r', String(options.fps), '-i', '-', '-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', ...codec, '-pix_fmt', 'yuv420p', path];
  const child = spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(new RendererUnavailableError(`ffmpeg did not start: ${err.message}`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new RendererUnavailableError(`ffmpeg failed (exit ${code}): ${stderr.trim().split('\n').slice(-2).join(' ')}`))));
  });
  const frameBytes = options.width * options.height * 3;
  try {
    for (const frame of frames) {
      if (frame.length !== frameBytes) throw new RenderInputError(`a ${options.width}×${options.height} frame has ${frameBytes} bytes, got ${frame.length}`);
      if (!child.stdin.write(frame)) await new Promise<void>((resolve) => child.stdin.once('drain', resolve));
    }
  } catch (err) {
    child.kill('SIGKILL');
    await done.catch(() => undefined);
    throw err;
  }
  child.stdin.end();
  await done;
}
