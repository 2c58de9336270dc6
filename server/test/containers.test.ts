/**
 * The container images and the Compose stack, for real (docker/Dockerfile, docker/compose.yaml):
 * each image runs as uid 10001 and turns healthy on its real endpoint; a sim worker drains and exits 0
 * on `docker stop`; and the stack (PostgreSQL, Redis, API, a trainer agent, two sim-worker replicas
 * found through `dns://sim-worker:9100`) trains CartPole-v1, also while one worker container is killed.
 *
 * Where no registry is reachable the base images come from docker/base/build-base.sh (local stand-ins
 * tagged with the official names). Skips with a reason where no Docker engine answers, and fails
 * instead under REQUIRE_SERVICES=1 (.ci/run). Set REWARDLAB_TEST_REUSE_IMAGES=1 to take images that
 * are already tagged as they are instead of rebuilding them (the layer cache makes a rebuild of
 * unchanged sources quick anyway).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const COMPOSE_FILE = join(ROOT, 'docker', 'compose.yaml');
const IMAGES = { simWorker: 'rewardlab/sim-worker:0.1.0', trainer: 'rewardlab/trainer:0.1.0', api: 'rewardlab/api:0.1.0' } as const;
const TARGETS: Record<string, string> = { [IMAGES.simWorker]: 'sim-worker', [IMAGES.trainer]: 'trainer', [IMAGES.api]: 'api' };
const BASE_IMAGES = ['node:20-bookworm-slim', 'postgres:16-bookworm', 'redis:7-bookworm'];
const UID = '10001';
const TAG = `rltest${process.pid}`;
const PROJECT = `${TAG}${Date.now().toString(36)}`;
/** CartPole-v1's return is capped at 500 (its 500-step time limit); "solved" is ≥ 475 (Gymnasium). */
const SOLVED_RETURN = 475;
/** PPO reaches 500 within this many steps with seed 1 over two workers (agents/test/remote.test.ts). */
const RUN_STEPS = 50_000;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command (no shell) to its end; never throws. */
function run(cmd: string, args: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Result> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      stderr += `\n(timed out after ${options.timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      done({ code: null, stdout, stderr: stderr + err.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** Like run, but a non-zero exit is an error carrying the output's tail. */
async function must(cmd: string, args: readonly string[], options: Parameters<typeof run>[2] = {}): Promise<string> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${(r.stdout + r.stderr).slice(-3000)}`);
  return r.stdout;
}

const docker = (args: readonly string[], timeoutMs?: number) => must('docker', args, timeoutMs ? { timeoutMs } : {});

function onPath(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

/** Why the suite cannot run here, or null. Checked synchronously, so that `describe.skipIf` can use it. */
function whyNot(): string | null {
  if (!onPath('docker')) return 'no docker client on PATH';
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 30_000 });
  if (info.status !== 0) return `no Docker engine answers (docker info: ${(info.stderr || info.error?.message || '').trim().split('\n')[0]})`;
  if (!onPath('docker-compose') && spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status !== 0) return 'neither docker-compose nor `docker compose` is installed';
  return null;
}

const skip = whyNot();
if (skip && process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but ${skip}`);
if (skip) console.warn(`skipping the container suite: ${skip}`);

/** docker-compose v1 where installed (Debian's), else the compose plugin. */
const COMPOSE: readonly string[] = onPath('docker-compose') ? ['docker-compose'] : ['docker', 'compose'];

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null | undefined>, everyMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const value = await probe();
      if (value !== null && value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const healthOf = async (container: string): Promise<string> => (await docker(['inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}', container])).trim();

async function waitHealthy(container: string, timeoutMs = 120_000): Promise<void> {
  await until(`${container} to turn healthy`, timeoutMs, async () => {
    const status = await healthOf(container);
    if (status === 'unhealthy') throw new Error(`${container} is unhealthy: ${(await run('docker', ['logs', '--tail', '30', container])).stderr}`);
    return status === 'healthy' ? true : null;
  }, 2000);
}

/** GET from inside a container with its own node (the images have no curl): status and JSON body. */
async function getInside(container: string, url: string): Promise<{ status: number; body: unknown }> {
  const script = `fetch(${JSON.stringify(url)}).then(async (r) => { const t = await r.text(); let b; try { b = JSON.parse(t); } catch { b = t.slice(0, 200); } console.log(JSON.stringify({ status: r.status, body: b })); })`;
  const out = await docker(['exec', container, 'node', '-e', script]);
  return JSON.parse(out.trim().split('\n').pop()!) as { status: number; body: unknown };
}

describe.skipIf(skip !== null)('containers', () => {
  const started: string[] = [];

  beforeAll(async () => {
    // Base images: the official ones where they are already here (pulled), else the local stand-ins.
    const missing = [];
    for (const image of BASE_IMAGES) if ((await run('docker', ['image', 'inspect', image])).code !== 0) missing.push(image);
    if (missing.length && process.getuid?.() === 0 && onPath('debootstrap')) {
      await must(join(ROOT, 'docker', 'base', 'build-base.sh'), [], { timeoutMs: 15 * 60_000 });
    }
    // The three targets of one Dockerfile: the shared stages build once, the later targets from cache.
    // --network host: npm ci and apt-get inside the build reach the registry and the mirror through the
    // host's network (here the only way; harmless where the default bridge has internet).
    for (const [image, target] of Object.entries(TARGETS)) {
      if (process.env.REWARDLAB_TEST_REUSE_IMAGES === '1' && (await run('docker', ['image', 'inspect', image])).code === 0) continue;
      await must('docker', ['build', '--network', 'host', '-f', 'docker/Dockerfile', '--target', target, '-t', image, '.'], { timeoutMs: 20 * 60_000 });
    }
  }, 30 * 60_000);

  afterAll(async () => {
    for (const name of started) await run('docker', ['rm', '-f', '-v', name]);
  });

  it('runs every image as the unprivileged uid 10001', async () => {
    for (const image of Object.values(IMAGES)) {
      expect((await docker(['image', 'inspect', '-f', '{{.Config.User}}', image])).trim()).toBe(`${UID}:${UID}`);
      expect((await docker(['run', '--rm', '--entrypoint', 'id', image, '-u'])).trim(), image).toBe(UID);
    }
  });

  it('sim-worker: its HEALTHCHECK turns healthy, it answers /healthz and /readyz, and docker stop drains it (exit 0)', async () => {
    const name = `${TAG}-sim-worker`;
    started.push(name);
    await run('docker', ['rm', '-f', '-v', name]);
    await docker(['run', '-d', '--name', name, '-e', 'REWARDLAB_WORKER_TOKEN=test-token', IMAGES.simWorker, 'sim-worker', '--env', 'CartPole-v1', '--num-envs', '2', '--host', '0.0.0.0', '--port', '9100']);
    await waitHealthy(name);
    const health = await getInside(name, 'http://127.0.0.1:9100/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', env: 'CartPole-v1', numEnvs: 2 });
    expect((await getInside(name, 'http://127.0.0.1:9100/readyz')).status).toBe(200);
    await docker(['stop', '-t', '30', name], 60_000);
    expect((await docker(['inspect', '-f', '{{.State.ExitCode}}', name])).trim()).toBe('0');
    const logs = await run('docker', ['logs', name]);
    expect(logs.stderr).toMatch(/SIGTERM/);
    expect(logs.stderr).toMatch(/drained/i);
  });

  it('api: its HEALTHCHECK on /api/health turns healthy, and it serves the viewer at /', async () => {
    const name = `${TAG}-api`;
    started.push(name);
    await run('docker', ['rm', '-f', '-v', name]);
    await docker(['run', '-d', '--name', name, IMAGES.api]);
    await waitHealthy(name);
    const health = await getInside(name, 'http://127.0.0.1:3000/api/health');
    expect(health).toMatchObject({ status: 200, body: { status: 'ok', database: 'sqlite' } });
    const page = await getInside(name, 'http://127.0.0.1:3000/');
    expect(page.status).toBe(200);
    expect(String(page.body)).toMatch(/<!doctype html>/i);
    await docker(['stop', '-t', '30', name], 60_000);
    expect((await docker(['inspect', '-f', '{{.State.ExitCode}}', name])).trim()).toBe('0');
  });

  it('trainer: `rewardlab train` runs in the image (wasm backend) and writes its policy under /data', async () => {
    const out = await docker(['run', '--rm', IMAGES.trainer, 'train', '--env', 'CartPole-v1', '--steps', '2048', '--backend', 'wasm', '--seed', '1', '--json'], 180_000);
    const result = JSON.parse(out.trim().split('\n').pop()!) as { steps: number; backend: string; policyDir: string };
    expect(result.backend).toBe('wasm');
    expect(result.steps).toBeGreaterThanOrEqual(2048);
    expect(result.policyDir.startsWith('/data/')).toBe(true);
  });

  describe('the compose stack (CartPole-v1 on two sim-worker containers)', () => {
    let apiUrl = '';
    let env: NodeJS.ProcessEnv = process.env;
    const compose = (args: readonly string[], timeoutMs = 300_000) => must(COMPOSE[0]!, [...COMPOSE.slice(1), '-p', PROJECT, '-f', COMPOSE_FILE, ...args], { env, timeoutMs });
    const logs = async () => (await run(COMPOSE[0]!, [...COMPOSE.slice(1), '-p', PROJECT, '-f', COMPOSE_FILE, 'logs', '--no-color', '--tail', '40', 'trainer', 'sim-worker', 'api'], { env })).stdout.slice(-6000);

    async function api<T>(path: string, init?: { method: string; body: unknown }): Promise<T> {
      const res = await fetch(apiUrl + path, init ? { method: init.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) } : undefined);
      const body = (await res.json()) as T;
      if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${res.status} ${JSON.stringify(body)}`);
      return body;
    }

    interface RunRecord {
      id: string;
      status: string;
      step: number;
      meanReturn: number | null;
      error: string | null;
      workerStats: { parts: number; live: number; losses: number; rejoins: number; joined: number; left: number } | null;
    }
    const TERMINAL = ['succeeded', 'failed', 'stopped', 'interrupted'];

    const createRun = () => api<RunRecord>('/api/runs', { method: 'POST', body: { env: 'CartPole-v1', steps: RUN_STEPS, seed: 1, simWorkers: 'dns://sim-worker:9100' } });
    const settled = (id: string) => until(`run ${id} to finish`, 300_000, async () => {
      const r = await api<RunRecord>(`/api/runs/${id}`);
      return TERMINAL.includes(r.status) ? r : null;
    }, 2000);
    const workerContainers = async () => (await compose(['ps', '-q', 'sim-worker'])).split('\n').map((s) => s.trim()).filter(Boolean);

    beforeAll(async () => {
      if (!existsSync(COMPOSE_FILE)) throw new Error(`${COMPOSE_FILE} is missing`);
      const port = await freePort();
      env = { ...process.env, REWARDLAB_ENV: 'CartPole-v1', REWARDLAB_REWARD: 'native', REWARDLAB_NUM_ENVS: '4', REWARDLAB_PORT: String(port), REWARDLAB_WORKER_TOKEN: 'compose-test-token' };
      apiUrl = `http://127.0.0.1:${port}`;
      // Everything but the one-shot `submit` (the tests submit their own runs). `up -d` waits for the
      // health conditions of depends_on (postgres, redis before the API; the API before the trainer).
      await compose(['up', '-d', '--no-build', 'postgres', 'redis', 'api', 'sim-worker', 'trainer'], 600_000);
      const workers = await workerContainers();
      expect(workers).toHaveLength(2);
      for (const id of workers) await waitHealthy(id);
      await until('the API on the published port', 60_000, async () => ((await fetch(`${apiUrl}/api/health`)).ok ? true : null));
    }, 15 * 60_000);

    afterAll(async () => {
      await run(COMPOSE[0]!, [...COMPOSE.slice(1), '-p', PROJECT, '-f', COMPOSE_FILE, 'down', '-v', '--remove-orphans', '-t', '10'], { env, timeoutMs: 180_000 });
    }, 240_000);

    it(`trains to a mean return of at least ${SOLVED_RETURN} across both workers, and the API reads the agent's checkpoints`, async () => {
      const created = await createRun();
      const done = await settled(created.id);
      const context = `run ${JSON.stringify(done)}\n${done.status === 'succeeded' ? '' : await logs()}`;
      expect(done.status, context).toBe('succeeded');
      expect(done.meanReturn, context).toBeGreaterThanOrEqual(SOLVED_RETURN);
      expect(done.step).toBeGreaterThanOrEqual(RUN_STEPS);
      expect(done.workerStats, context).toMatchObject({ parts: 2, live: 2, losses: 0 });
      // The trainer agent wrote the checkpoints into the shared /data volume; the API serves them.
      const { checkpoints } = await api<{ checkpoints: { id: string; kind: string }[] }>(`/api/runs/${created.id}/checkpoints`);
      const final = checkpoints.find((c) => c.kind === 'final');
      expect(final, JSON.stringify(checkpoints)).toBeDefined();
      const download = await fetch(`${apiUrl}/api/checkpoints/${final!.id}/download`);
      expect(download.status).toBe(200);
      expect((await download.arrayBuffer()).byteLength).toBeGreaterThan(1000);
      // The trainer's own env (beside the workers') is recorded: the viewer plays the run's episodes.
      const { replays } = await api<{ replays: { frames: number }[] }>(`/api/runs/${created.id}/replays`);
      expect(replays.length, JSON.stringify(replays)).toBeGreaterThan(0);
      expect(replays[0]!.frames).toBeGreaterThan(0);
    }, 360_000);

    it('finishes a run when one worker container is killed mid-run, and counts the loss', async () => {
      const created = await createRun();
      // Kill once the run is well under way (a fifth of its steps) but far from done.
      await until('the run to pass a fifth of its steps', 180_000, async () => {
        const r = await api<RunRecord>(`/api/runs/${created.id}`);
        if (TERMINAL.includes(r.status)) throw new Error(`the run ended before the kill: ${JSON.stringify(r)}`);
        return r.step >= RUN_STEPS / 5 ? r : null;
      }, 500);
      const workers = await workerContainers();
      await docker(['kill', workers[workers.length - 1]!]);
      const done = await settled(created.id);
      const context = `run ${JSON.stringify(done)}\n${await logs()}`;
      expect(done.status, context).toBe('succeeded');
      expect(done.error).toBeNull();
      expect(done.step).toBeGreaterThanOrEqual(RUN_STEPS);
      expect(Number.isFinite(done.meanReturn), context).toBe(true);
      expect(done.workerStats, context).not.toBeNull();
      expect(done.workerStats!.losses + done.workerStats!.left, context).toBeGreaterThanOrEqual(1);
      expect(done.workerStats!.live, context).toBe(1);
    }, 420_000);
  });
});
