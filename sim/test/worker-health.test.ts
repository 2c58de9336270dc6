/**
 * What an orchestrator sees of a sim worker: the health endpoints on the worker's own port, and the
 * drain on close (Kubernetes' and Docker's SIGTERM): the frame being simulated is finished and answered,
 * no frame after it is taken, and every session is closed with code 4006.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CloseCode, PROTOCOL_VERSION, RemoteVecEnv, SimWorkerServer, WorkerLostError } from '../src';
import { killWorker, startWorker } from './worker-helpers';

const servers: SimWorkerServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function get(port: number, path: string, method = 'GET'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('sim worker health endpoints', () => {
  it('answers /healthz and /readyz on the WebSocket port, and 404/405 elsewhere', async () => {
    const server = await SimWorkerServer.start({ envId: 'CartPole-v1', numEnvs: 3, groups: 1, port: 0 });
    servers.push(server);
    const health = await get(server.port, '/healthz');
    expect(health).toEqual({ status: 200, body: { status: 'ok', env: 'CartPole-v1', numEnvs: 3, groups: 1, sessions: 0, steps: 0, protocol: PROTOCOL_VERSION } });
    expect((await get(server.port, '/readyz')).status).toBe(200);
    const remote = await RemoteVecEnv.connect(server.url, { autoreset: 'same-step' });
    await remote.reset({ seed: 1 });
    await remote.step(new Int32Array([0, 1, 0]));
    expect((await get(server.port, '/healthz?verbose=1')).body).toMatchObject({ sessions: 1, steps: 1 });
    const missing = await get(server.port, '/metrics');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatch(/no \/metrics here.*\/healthz/);
    expect((await get(server.port, '/healthz', 'POST')).status).toBe(405);
    await remote.close();
  });
});

describe('sim worker drain', () => {
  it('finishes and answers the frame in flight, reports draining, then closes the session with 4006', async () => {
    const server = await SimWorkerServer.start({ envId: 'CartPole-v1', numEnvs: 2, port: 0, stepDelayMs: 400 });
    const remote = await RemoteVecEnv.connect(server.url, { autoreset: 'same-step' });
    const { obs } = await remote.reset({ seed: 3 });
    const before = Float32Array.from(obs);
    const inFlight = remote.step(new Int32Array([1, 1]));
    // Let the frame reach the worker, then drain while it is being answered (the 400 ms delay).
    await new Promise((r) => setTimeout(r, 100));
    const closing = server.close();
    const during = await get(server.port, '/readyz');
    expect(during.status).toBe(503);
    expect(during.body.status).toBe('draining');
    expect((await get(server.port, '/healthz')).status).toBe(200);
    // The step that was in flight comes back whole: a real CartPole transition from the reset state.
    const r = await inFlight;
    expect(Array.from(r.rewards)).toEqual([1, 1]);
    for (let e = 0; e < 2; e++) expect(r.obs[e * 4 + 1]).toBeGreaterThan(before[e * 4 + 1]!); // pushed right: the cart speeds up
    expect(await closing).toBe(1);
    expect(server.stats.steps).toBe(1);
    // Nothing is taken after the drain: the session is gone.
    await expect(remote.step(new Int32Array([0, 0]))).rejects.toBeInstanceOf(WorkerLostError);
    await remote.close();
  });

  it('refuses a connection that arrives while it drains, with 4006', async () => {
    const server = await SimWorkerServer.start({ envId: 'CartPole-v1', numEnvs: 1, port: 0, stepDelayMs: 500 });
    const remote = await RemoteVecEnv.connect(server.url);
    await remote.reset({ seed: 0 });
    const inFlight = remote.step(new Int32Array([0]));
    await new Promise((r) => setTimeout(r, 100));
    const closing = server.close();
    const ws = new WebSocket(server.url);
    const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    expect(code).toBe(CloseCode.ShuttingDown);
    await inFlight;
    await closing;
    await remote.close();
  });

  it('a worker process drains on SIGTERM and exits 0', async () => {
    const w = await startWorker({ envId: 'CartPole-v1', numEnvs: 2, stepDelayMs: 300 });
    const remote = await RemoteVecEnv.connect(w.url, { autoreset: 'same-step' });
    await remote.reset({ seed: 5 });
    const inFlight = remote.step(new Int32Array([0, 1]));
    await new Promise((r) => setTimeout(r, 80));
    const exited = new Promise<number | null>((resolve) => w.child.once('exit', (code) => resolve(code)));
    w.child.kill('SIGTERM');
    expect(Array.from((await inFlight).rewards)).toEqual([1, 1]);
    expect(await exited).toBe(0);
    await remote.close();
    await killWorker(w);
  });
});
