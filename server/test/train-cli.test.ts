import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REWARDLAB_BIN, rewardlab } from './cli-helpers';

const tmp = mkdtempSync(join(tmpdir(), 'rl-train-cli-'));


describe('rewardlab train / eval', () => {
  it('trains a user env module and prints the DESIGN result fields as JSON, then evaluates the policy', () => {
    const mod = join(tmp, 'corridor.mjs');
    writeFileSync(
      mod,
      `export const envId = 'Corridor-v0';
       export default function createEnv() {
         let x = 0, t = 0, seed = 1;
         const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
         return {
           id: 'Corridor-v0',
           observationSpace: { kind: 'box', shape: [1], low: 0, high: 10 },
           actionSpace: { kind: 'discrete', n: 2 },
           reset(p = {}) { if (p.seed !== undefined) seed = p.seed + 1; x = Math.floor(rand() * 3); t = 0; return { obs: Float32Array.of(x), info: {} }; },
           step(a) {
             if (a !== 0 && a !== 1) throw new Error('Corridor-v0: invalid action ' + a);
             x = Math.max(0, Math.min(10, x + (a ? 1 : -1))); t += 1;
             return { obs: Float32Array.of(x), reward: x === 10 ? 1 : -0.01, terminated: x === 10, truncated: t >= 50, info: { isSuccess: x === 10 } };
           },
           close() {},
         };
       }`,
    );
    const out = join(tmp, 'run');
    const r = rewardlab('train', '--env-module', mod, '--steps', '2048', '--num-envs', '4', '--set', 'numSteps=64', '--set', 'minibatchSize=64', '--seed', '2', '--out', out, '--json');
    expect(r.code).toBe(0);
    const res = r.last as { steps: number; finalMeanReturn: number; finalSuccessRate: number; curve: [number, number][]; wallSeconds: number; backend: string; policyDir: string };
    expect(res.steps).toBe(2048);
    expect(res.backend).toBe('wasm');
    expect(typeof res.finalMeanReturn).toBe('number');
    expect(res.finalSuccessRate).toBeGreaterThanOrEqual(0);
    expect(res.finalSuccessRate).toBeLessThanOrEqual(1);
    expect(res.curve.length).toBeGreaterThan(0);
    expect(res.wallSeconds).toBeGreaterThan(0);
    expect(existsSync(join(res.policyDir, 'model.json'))).toBe(true);
    expect(r.stderr).toContain('rewardlab: training Corridor-v0 for 2048 steps on wasm');
    const ev = rewardlab('eval', '--policy', res.policyDir, '--env-module', mod, '--episodes', '3', '--json');
    expect(ev.code).toBe(0);
    expect(ev.last).toMatchObject({ env: 'Corridor-v0', episodes: 3 });
    expect((ev.last as { returns: number[] }).returns).toHaveLength(3);
  }, 300_000);

  it('--env-option sets carball options over the preset; the policy keeps them and eval observes through them', () => {
    const out = join(tmp, 'carball');
    const r = rewardlab('train', '--env', 'carball-1v1', '--opponent', 'random', '--steps', '64', '--num-envs', '1', '--set', 'numSteps=64', '--set', 'minibatchSize=64', '--set', 'epochs=1', '--hidden', '8', '--env-option', 'obsBuilder=advanced-local', '--env-option', 'noTouchTimeoutSeconds=2', '--out', out, '--json');
    expect(r.code).toBe(0);
    const policyDir = (r.last as { policyDir: string }).policyDir;
    // given options are merged over the preset's: its 10 s no-touch timeout is replaced
    const meta = JSON.parse(readFileSync(join(policyDir, 'policy.json'), 'utf8')) as { obsSize: number; envOptions: Record<string, unknown> };
    expect(meta.obsSize).toBe(113);
    expect(meta.envOptions).toMatchObject({ obsBuilder: 'advanced-local', noTouchTimeoutSeconds: 2 });
    const ev = rewardlab('eval', '--policy', policyDir, '--opponent', 'random', '--episodes', '1', '--json');
    expect(ev.code).toBe(0);
    expect(ev.last).toMatchObject({ env: 'carball-1v1', policy: { episodes: 1 }, random: { episodes: 1 } });
  }, 300_000);

  it('evaluates a policy and refuses bad hyperparameters and backends with one-line errors', () => {
    const bad = rewardlab('train', '--env', 'CartPole-v1', '--set', 'learningRate=-1', '--json');
    expect(bad.code).toBe(1);
    expect((bad.last as { error: { message: string } }).error.message).toMatch(/invalid PPO hyperparameters: learningRate/);
    const backend = rewardlab('train', '--env', 'CartPole-v1', '--backend', 'tpu', '--json');
    expect(backend.code).toBe(1);
    expect(backend.stderr).toContain('expected auto, tensorflow, webgpu, wasm, cpu; got "tpu"');
    const option = rewardlab('train', '--env', 'carball-1v1', '--env-option', 'noTouchTimeout=3', '--json');
    expect(option.code).toBe(1);
    expect((option.last as { error: { message: string } }).error.message).toMatch(/noTouchTimeout/);
    const missing = rewardlab('eval', '--policy', join(tmp, 'nothing'), '--json');
    expect(missing.code).toBe(1);
    expect((missing.last as { error: { message: string } }).error.message).toMatch(/policy\.json is missing/);
  }, 120_000);

  it('SIGTERM: finishes the iteration, writes a checkpoint, reports the run stopped with exit code 143, and --resume / --resume-latest continue it', async () => {
    const out = join(tmp, 'sigterm');
    const child = spawn(process.execPath, [REWARDLAB_BIN, 'train', '--env', 'CartPole-v1', '--steps', '1000000', '--backend', 'wasm', '--out', out, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Wait for two iterations in metrics.jsonl, then stop it as `docker stop` or an eviction would.
    const metrics = join(out, 'metrics.jsonl');
    for (let i = 0; i < 600 && !(existsSync(metrics) && readFileSync(metrics, 'utf8').trim().split('\n').length >= 2); i++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    expect(await exit).toBe(143); // 128 + SIGTERM: an orchestrator sees an interrupted run (and retries it)
    expect(stderr).toMatch(/SIGTERM: stopping after this iteration and writing a checkpoint/);
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { stopped: boolean; steps: number; iterations: number };
    expect(result.stopped).toBe(true);
    expect(result.steps).toBeLessThan(1_000_000);
    const iterations = readFileSync(metrics, 'utf8').trim().split('\n').length;
    expect(result.iterations).toBe(iterations);
    const latest = readFileSync(join(out, 'latest'), 'utf8').trim();
    expect(latest).toBe(join(out, 'checkpoints', `step-${result.steps}`));
    const resumed = rewardlab('train', '--env', 'CartPole-v1', '--steps', String(result.steps + 256), '--backend', 'wasm', '--resume', latest, '--out', out, '--json');
    expect(resumed.code).toBe(0);
    expect(resumed.last).toMatchObject({ stopped: false, resumedFrom: latest, iterations: result.iterations + 1 });
    // --resume-latest follows the run directory's `latest` (what a retried Job runs), and starts fresh without one.
    const again = rewardlab('train', '--env', 'CartPole-v1', '--steps', String(result.steps + 512), '--backend', 'wasm', '--resume-latest', '--out', out, '--json');
    expect(again.code).toBe(0);
    expect(again.last).toMatchObject({ stopped: false, resumedFrom: join(out, 'checkpoints', `step-${result.steps + 256}`), iterations: result.iterations + 2 });
    const fresh = rewardlab('train', '--env', 'CartPole-v1', '--steps', '256', '--backend', 'wasm', '--resume-latest', '--out', join(tmp, 'fresh'), '--json');
    expect(fresh.code).toBe(0);
    expect(fresh.last).toMatchObject({ iterations: 1 });
    expect((fresh.last as Record<string, unknown>).resumedFrom).toBeUndefined();
  }, 180_000);
});
