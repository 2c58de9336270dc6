/**
 * A run created through the API with `simWorkers` trains on sim worker processes (here found through
 * `dns://localhost:PORT`, the system resolver), steps one env in the trainer that it records as replays
 * for the viewer, and keeps the workers' stats on the run record.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { api, BIN, startServer, waitFor } from './helpers';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function simWorker(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [BIN, 'sim-worker', ...args, '--json', '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, port: (JSON.parse(line) as { port: number }).port }));
    child.once('exit', (code) => reject(new Error(`sim-worker exited with ${code}`)));
  });
}

describe('API runs on sim workers', () => {
  it('trains over dns:// workers, records replays of its local env, and shows the workers on the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rl-run-workers-'));
    const worker = await simWorker(['--env', 'CartPole-v1', '--num-envs', '4', '--reward', 'native', '--port', '0']);
    const server = await startServer(`sqlite:${join(dir, 'db.sqlite')}`, dir);
    try {
      const created = await api(server.url, 'POST', '/api/runs', { env: 'CartPole-v1', reward: 'native', steps: 2048, seed: 1, replayEvery: 1, hyperparameters: { numSteps: 64, minibatchSize: 64 }, simWorkers: `dns://localhost:${worker.port}` });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      const run = await waitFor('the run to finish', async () => {
        const r = await api(server.url, 'GET', `/api/runs/${id}`);
        return ['succeeded', 'failed'].includes(r.body.status) ? r.body : null;
      }, 120_000);
      expect(run.error).toBeNull();
      expect(run.status).toBe('succeeded');
      expect(run.simWorkers).toBe(`dns://localhost:${worker.port}`);
      // localhost may resolve to 127.0.0.1 and ::1: the worker listens on 127.0.0.1 only, so one of them answers.
      expect(run.workerStats).toMatchObject({ parts: 1, live: 1, losses: 0 });
      // 4 envs on the worker + 1 in the trainer, 64 steps each per iteration.
      expect(run.step % (5 * 64)).toBe(0);
      const replays = await api(server.url, 'GET', `/api/runs/${id}/replays`);
      expect(replays.status).toBe(200);
      expect(replays.body.replays.length).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
  }, 180_000);

  it('refuses a run whose simWorkers is not a worker URL, naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rl-run-workers-'));
    const server = await startServer(`sqlite:${join(dir, 'db.sqlite')}`, dir);
    try {
      const bad = await api(server.url, 'POST', '/api/runs', { env: 'CartPole-v1', steps: 2048, simWorkers: 'http://worker:9100' });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.body)).toMatch(/simWorkers.*ws:\/\/, wss:\/\/ or dns:\/\//);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
