/**
 * What the browser suite talks to: the real API server (`rewardlab serve` with a throwaway SQLite
 * database, serving viewer/dist at `/`) when the server package is built, else a static server of
 * viewer/dist. Either also serves extra files (replays for `#src=` links) through the static server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
export const VIEWER_DIST = resolve(here, '..', '..', 'dist');
const REPO = resolve(here, '..', '..', '..');

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };

export interface Served {
  url: string;
  kind: 'api-server' | 'static';
  close(): Promise<void>;
}

/** A static server of `dir`, plus `extra` files by path (e.g. `/fixtures/a.rlr`). */
export async function serveStatic(dir: string, extra: Record<string, Uint8Array> = {}): Promise<Served> {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const body = extra[path];
    if (body) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
      return;
    }
    if (path.startsWith('/api/')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"statusCode":404,"message":"no API on the static server"}');
      return;
    }
    const file = normalize(join(dir, path === '/' ? 'index.html' : path));
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, kind: 'static', close: () => new Promise((done) => server.close(() => done())) };
}

/** `rewardlab serve` on a free port with a fresh SQLite database, or null when it does not start within `timeoutMs`. */
export async function serveApi(timeoutMs = 30_000): Promise<Served | null> {
  const bin = join(REPO, 'bin', 'rewardlab.js');
  if (!existsSync(join(REPO, 'server', 'dist', 'cli', 'serve.js'))) return null;
  const dir = mkdtempSync(join(tmpdir(), 'rewardlab-viewer-e2e-'));
  const child: ChildProcess = spawn(process.execPath, [bin, 'serve', '--port', '0', '--host', '127.0.0.1', '--db', `sqlite:${join(dir, 'db.sqlite')}`, '--viewer', VIEWER_DIST], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = await new Promise<string | null>((done) => {
    let out = '';
    const timer = setTimeout(() => done(null), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{') && l.includes('listening'));
      if (line) {
        clearTimeout(timer);
        done((JSON.parse(line) as { listening: string }).listening);
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      done(null);
    });
  });
  if (!url) {
    await stop();
    if (stderr.trim()) process.stderr.write(`rewardlab serve did not start: ${stderr.trim().split('\n').slice(-3).join(' | ')}\n`);
    return null;
  }
  return { url, kind: 'api-server', close: stop };
}
