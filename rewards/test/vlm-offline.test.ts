/**
 * Nothing is fetched from a network, ever: a child process in a network namespace of its own (only a
 * loopback device, `unshare --net`) loads model directories, tokenises prompts and embeds frames, while
 * it counts every attempt to open a socket or call fetch. Runs against the built package (`dist`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeColourModel, SIZE } from './vlm-models';

const probe = spawnSync('unshare', ['--net', '--map-root-user', 'true']);
const canIsolate = probe.status === 0;
if (!canIsolate && process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but unshare --net does not work here: ${probe.stderr?.toString().trim() || probe.error?.message}`);
if (!canIsolate) console.warn('skipping the offline test: unshare --net is not permitted here');
const suite = canIsolate ? describe : describe.skip;

const dist = join(__dirname, '..', 'dist', 'index.js');
const bundled = join(__dirname, '..', 'models', 'vlm-small');

/** The child: instruments sockets and fetch, loads each model, embeds, and prints what it saw as JSON. */
const child = `
const net = require('node:net');
let attempts = [];
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) { attempts.push(JSON.stringify(args[0]).slice(0, 80)); return connect.apply(this, args); };
const realFetch = globalThis.fetch;
globalThis.fetch = (url, ...rest) => { attempts.push(String(url)); return realFetch(url, ...rest); };
const { loadVisionLanguageModel } = require(process.env.DIST);
(async () => {
  const out = [];
  for (const dir of JSON.parse(process.env.MODELS)) {
    const model = await loadVisionLanguageModel(dir);
    const side = model.imageSize.width;
    const text = await model.embedTexts(['the door is open', 'bright']);
    const image = await model.embedFrames(new Uint8Array(side * side * 3).fill(128), 1, side, side);
    out.push({ dir, dim: model.embeddingSize, text: text.length, image: image.length });
    await model.close();
  }
  console.log(JSON.stringify({ out, attempts }));
})().catch((err) => { console.log(JSON.stringify({ error: err.message, attempts })); process.exitCode = 1; });
`;

suite('offline model loading', () => {
  it('loads, tokenises and embeds with the network unreachable, and never tries to open a connection', () => {
    expect(existsSync(dist)).toBe(true);
    const colour = mkdtempSync(join(tmpdir(), 'rewardlab-vlm-offline-'));
    writeColourModel(colour);
    const models = [colour, ...(existsSync(bundled) ? [bundled] : [])];
    const r = spawnSync('unshare', ['--net', '--map-root-user', process.execPath, '-e', child], { env: { ...process.env, DIST: dist, MODELS: JSON.stringify(models) }, encoding: 'utf8', timeout: 60_000 });
    const last = r.stdout.trim().split('\n').pop() ?? '';
    const result = JSON.parse(last) as { out?: { dir: string; dim: number; text: number; image: number }[]; attempts: string[]; error?: string };
    expect(result.error).toBeUndefined();
    expect(result.attempts).toEqual([]);
    expect(result.out!.map((o) => o.dir)).toEqual(models);
    // Two prompt embeddings and one image embedding of D values each.
    for (const o of result.out!) {
      expect(o.text).toBe(2 * o.dim);
      expect(o.image).toBe(o.dim);
    }
    expect(result.out![0]!.dim).toBe(3);
    expect(SIZE).toBe(32);
  });
});
