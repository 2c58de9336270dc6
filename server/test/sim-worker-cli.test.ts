import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { checkVecEnv, MultiVecEnv, RemoteVecEnv, WorkerRefusedError } from '@rewardlab/sim';
import { makeRemoteVecEnvFactory } from '@rewardlab/agents';

const bin = join(__dirname, '..', '..', 'bin', 'rewardlab.js');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function startCli(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; info: Record<string, unknown> & { url: string } }> {
  const child = spawn(process.execPath, [bin, 'sim-worker', ...args, '--port', '0', '--json', '--quiet'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, info: JSON.parse(line) }));
    child.once('exit', (code) => reject(new Error(`sim-worker exited with ${code}`)));
  });
}

describe('rewardlab sim-worker', () => {
  it('serves a vector env on loopback until SIGTERM, refusing a wrong token', async () => {
    const { child, info: raw } = await startCli(['--env', 'CartPole-v1', '--num-envs', '3'], { REWARDLAB_WORKER_TOKEN: 'cli-token' });
    const info = raw as { url: string; host: string; env: string; numEnvs: number; groups: number; token: boolean };
    // Two env groups by default (2 + 1 envs), one session each.
    expect(info).toMatchObject({ host: '127.0.0.1', env: 'CartPole-v1', numEnvs: 3, groups: 2, token: true });
    expect(info.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    await expect(RemoteVecEnv.connect(info.url, { token: 'nope' })).rejects.toBeInstanceOf(WorkerRefusedError);
    const vec = await RemoteVecEnv.connect(info.url, { token: 'cli-token' });
    expect([vec.numEnvs, vec.spec.group, vec.spec.groups]).toEqual([2, 0, 2]);
    await checkVecEnv(vec);
    await vec.close();
    const multi = await MultiVecEnv.connect([info.url], { token: 'cli-token' });
    expect([multi.numEnvs, multi.parts.length]).toEqual([3, 2]);
    await checkVecEnv(multi);
    // The same port answers the container probes.
    const port = new URL(info.url).port;
    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', env: 'CartPole-v1', numEnvs: 3, groups: 2, sessions: 2 });
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    // Drained: the two sessions of the trainer were closed (and said so even under --quiet).
    expect(stderr).toMatch(/SIGTERM: finishing the frame in progress and closing the sessions/);
    expect(stderr).toMatch(/drained after \d+ steps; closed 2 sessions/);
    await multi.close();
  });

  it("pays the reward spec given with --reward, and a trainer with another reward is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rewardlab-worker-reward-'));
    const specFile = join(dir, 'half.json');
    writeFileSync(specFile, JSON.stringify({ components: { half: { term: 'native', weight: 0.5 } } }));
    const { info } = await startCli(['--env', 'CartPole-v1', '--num-envs', '2', '--reward', specFile]);
    expect(info.reward).toBe(true);
    await expect(makeRemoteVecEnvFactory([info.url])('CartPole-v1', 2)).rejects.toThrow(/--reward/);
    const vec = await makeRemoteVecEnvFactory([info.url], { reward: specFile })('CartPole-v1', 2);
    await vec.reset({ seed: 0 });
    const r = await vec.step(vec.createActionBuffer());
    expect(Array.from(r.rewards)).toEqual([0.5, 0.5]); // CartPole pays 1 per step; the spec pays half of it
    await vec.close();
  });

  it('refuses more groups than envs', () => {
    const r = spawnSync(process.execPath, [bin, 'sim-worker', '--env', 'CartPole-v1', '--num-envs', '3', '--groups', '4', '--port', '0', '--json'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ error: { message: expect.stringMatching(/--groups must be at most --num-envs \(3\), got 4/) } });
  });

  it('needs an env', () => {
    const r = spawnSync(process.execPath, [bin, 'sim-worker', '--port', '0', '--json'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ error: { message: expect.stringMatching(/--env/) } });
  });
});

describe('rewardlab bench stream', () => {
  it('prints local, one-worker and two-worker rates with their ratio and speedup as one JSON line', () => {
    const r = spawnSync(process.execPath, [bin, 'bench', 'stream', '--env', 'CartPole-v1', '--num-envs', '4', '--seconds', '1', '--rounds', '1', '--json'], { encoding: 'utf8', timeout: 90_000 });
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    for (const key of ['localStepsPerSec', 'remoteStepsPerSec', 'remoteSyncStepsPerSec', 'twoWorkersStepsPerSec']) expect(result[key]).toBeGreaterThan(0);
    expect(result.groups).toBe(2);
    expect(result.ratio).toBeCloseTo(result.remoteStepsPerSec! / result.localStepsPerSec!, 10);
    expect(result.syncRatio).toBeCloseTo(result.remoteSyncStepsPerSec! / result.localStepsPerSec!, 10);
    expect(result.twoWorkerSpeedup).toBeCloseTo(result.twoWorkersStepsPerSec! / result.remoteStepsPerSec!, 10);
  }, 120_000);
});
