import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { MultiVecEnv, VecEnvLike, VecStepResult } from '@rewardlab/sim';
import { makeRemoteVecEnvFactory, parseWorkerUrls, train } from '../src';

/** A sim worker as a child process running the built `SimWorkerServer` (what `rewardlab sim-worker` runs). */
interface Worker {
  child: ChildProcess;
  port: number;
  url: string;
}
const workers: Worker[] = [];
const SCRIPT = `
const { SimWorkerServer } = require(${JSON.stringify(require.resolve('@rewardlab/sim'))});
SimWorkerServer.start(JSON.parse(process.argv[1])).then((s) => process.stdout.write(JSON.stringify({ port: s.port, url: s.url }) + '\\n'),
  (err) => { process.stderr.write(String(err) + '\\n'); process.exit(1); });
`;
function startWorker(options: { envId: string; numEnvs: number; port?: number }): Promise<Worker> {
  const child = spawn(process.execPath, ['-e', SCRIPT, JSON.stringify({ port: 0, ...options })], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const w = { child, ...(JSON.parse(line) as { port: number; url: string }) };
      workers.push(w);
      resolve(w);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
}
function kill9(w: Worker): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => (w.child.once('exit', () => done()), w.child.kill('SIGKILL')));
}
afterAll(async () => {
  await Promise.all(workers.map(kill9));
});

const out = (): string => mkdtempSync(join(tmpdir(), 'rewardlab-remote-'));

/**
 * Checks every step the trainer receives: a row that is not masked (`info.autoreset` 0) must be a real
 * CartPole transition (observation finite and inside the space's position/angle limits, reward 1); a
 * masked row must carry reward 0. A transition built from a half-received frame would break this.
 */
class CheckedVecEnv implements VecEnvLike {
  readonly problems: string[] = [];
  steps = 0;
  maskedEnvSteps = 0;
  constructor(
    readonly inner: MultiVecEnv,
    private readonly onStep?: (t: number) => void,
  ) {}
  get envId() { return this.inner.envId; }
  get numEnvs() { return this.inner.numEnvs; }
  get numAgents() { return this.inner.numAgents; }
  get numSlots() { return this.inner.numSlots; }
  get obsSize() { return this.inner.obsSize; }
  get actionSize() { return this.inner.actionSize; }
  get singleObservationSpace() { return this.inner.singleObservationSpace; }
  get singleActionSpace() { return this.inner.singleActionSpace; }
  get autoresetMode() { return this.inner.autoresetMode; }
  createActionBuffer() { return this.inner.createActionBuffer(); }
  reset(params?: { seed?: number }) { return this.inner.reset(params); }
  close() { return this.inner.close(); }
  async step(actions: ArrayLike<number>): Promise<VecStepResult> {
    const pending = this.inner.step(actions);
    this.onStep?.(this.steps); // e.g. kill -9 a worker while its step is in flight
    const r = await pending;
    this.steps += 1;
    for (let env = 0; env < this.numEnvs; env++) {
      const row = r.obs.subarray(env * 4, env * 4 + 4);
      if (!row.every(Number.isFinite)) this.problems.push(`step ${this.steps}, env ${env}: non-finite observation`);
      if (r.info.autoreset[env]) {
        this.maskedEnvSteps += 1;
        if (r.rewards[env] !== 0) this.problems.push(`step ${this.steps}, env ${env}: masked step with reward ${r.rewards[env]}`);
        continue;
      }
      if (r.rewards[env] !== 1) this.problems.push(`step ${this.steps}, env ${env}: reward ${r.rewards[env]}, CartPole pays 1`);
      const final = r.terminated[env] || r.truncated[env] ? r.info.finalObs.subarray(env * 4, env * 4 + 4) : row;
      if (Math.abs(final[0]!) > 4.8 + 0.5 || Math.abs(final[2]!) > 0.42 + 0.1) this.problems.push(`step ${this.steps}, env ${env}: observation ${Array.from(final)} is not a CartPole state`);
    }
    return r;
  }
}

describe('training over sim workers', () => {
  it('parses --workers lists', () => {
    expect(parseWorkerUrls(' ws://a:9100, wss://b:9100 ')).toEqual(['ws://a:9100', 'wss://b:9100']);
    expect(() => parseWorkerUrls('http://a:9100')).toThrow(/ws:\/\//);
    expect(() => parseWorkerUrls('')).toThrow(/at least one/);
  });

  it('refuses workers that host another env', async () => {
    const w = await startWorker({ envId: 'Pendulum-v1', numEnvs: 1 });
    await expect(makeRemoteVecEnvFactory([w.url])('CartPole-v1', 8)).rejects.toThrow(/Pendulum-v1/);
    await kill9(w);
  });

  it('PPO over two workers learns CartPole as the local run does', async () => {
    // The local reference, train({ env: 'CartPole-v1', steps: 25_000, seed: 1 }) with the preset's 8
    // envs, reaches a mean return of 500 (the maximum) at 24,832 steps on this machine; two workers of
    // 4 envs are seeded as those 8 envs (env i gets seed + i), so the run must clear the same bar.
    const [a, b] = await Promise.all([startWorker({ envId: 'CartPole-v1', numEnvs: 4 }), startWorker({ envId: 'CartPole-v1', numEnvs: 4 })]);
    const result = await train({ env: 'CartPole-v1', steps: 25_000, seed: 1, backend: 'wasm', out: out(), makeVecEnv: makeRemoteVecEnvFactory([a.url, b.url]) });
    expect(result.steps).toBeGreaterThanOrEqual(25_000);
    expect(result.finalMeanReturn).toBeGreaterThanOrEqual(450);
    await Promise.all([kill9(a), kill9(b)]);
  }, 150_000);

  it('kill -9 of a worker mid-rollout: training completes, no bad transition, and the worker rejoins on restart', async () => {
    let [a, b] = await Promise.all([startWorker({ envId: 'CartPole-v1', numEnvs: 4 }), startWorker({ envId: 'CartPole-v1', numEnvs: 4 })]);
    const port = a.port;
    let checked: CheckedVecEnv | null = null;
    let multi: MultiVecEnv | null = null;
    let restarted: Promise<Worker> | null = null;
    const killAt = 100; // in the fourth rollout (32 steps per rollout with the CartPole preset)
    const factory = makeRemoteVecEnvFactory([a.url, b.url], { reconnectDelayMs: 50, maxReconnectDelayMs: 500, onConnect: (m) => (multi = m) });
    const result = await train({
      env: 'CartPole-v1',
      steps: 12_000,
      seed: 2,
      backend: 'wasm',
      out: out(),
      makeVecEnv: async (envId, numEnvs) => {
        checked = new CheckedVecEnv((await factory(envId, numEnvs)) as MultiVecEnv, (t) => {
          if (t !== killAt) return;
          a.child.kill('SIGKILL');
          restarted = new Promise((r) => setTimeout(r, 300)).then(() => startWorker({ envId: 'CartPole-v1', numEnvs: 4, port }));
        });
        return checked;
      },
    });
    a = await restarted!;
    expect(result.steps).toBeGreaterThanOrEqual(12_000);
    expect(checked!.problems).toEqual([]);
    const stats = multi!.stats;
    expect(stats.losses).toBe(1);
    expect(stats.rejoins).toBe(1);
    // The lost worker's 4 envs were masked while it was away, and stepped again after rejoining.
    expect(checked!.maskedEnvSteps).toBeGreaterThanOrEqual(4);
    expect(checked!.maskedEnvSteps).toBeLessThan(4 * (checked!.steps - killAt));
    await Promise.all([kill9(a), kill9(b)]);
  }, 150_000);
});
