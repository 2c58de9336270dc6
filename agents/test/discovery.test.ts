/**
 * Worker discovery (`--workers dns://HOST:PORT`): every address of a name is a worker, and the name is
 * resolved again before each rollout. A Compose service with replicas or a Kubernetes headless Service
 * answers a DNS query with one A record per container or ready pod; here a small DNS server on loopback
 * (real UDP, real DNS messages encoded with dns-packet) answers for `workers.test` with a list the test
 * changes while a run trains, and the workers are real processes on 127.0.0.2, .3, … all on one port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { WebSocketServer } from 'ws';
import { CloseCode, ErrorCode } from '@rewardlab/sim';
import { makeRemoteVecEnvFactory, resolveWorkerUrls, train, WorkerDiscoveryError, type IterationMetrics } from '../src';
import { kill9, killAll, startWorker } from './workers';

const NAME = 'workers.test';

/** An authoritative DNS server for one name; `addresses` is what it answers now (NXDOMAIN elsewhere). */
class TestDns {
  addresses: string[] = [];
  queries = 0;
  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {}

  static async start(): Promise<TestDns> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const dns = new TestDns(socket, socket.address().port);
    socket.on('message', (msg, rinfo) => {
      const query = dnsPacket.decode(msg);
      const q = query.questions?.[0];
      if (!q) return;
      dns.queries += 1;
      const ours = q.name.toLowerCase() === NAME;
      const answers = ours && q.type === 'A' ? dns.addresses.map((data) => ({ type: 'A' as const, name: q.name, ttl: 0, data })) : [];
      const NXDOMAIN = 3;
      const reply = dnsPacket.encode({ id: query.id, type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER | (ours ? 0 : NXDOMAIN), questions: query.questions, answers });
      socket.send(reply, rinfo.port, rinfo.address);
    });
    return dns;
  }

  get server(): string {
    return `127.0.0.1:${this.port}`;
  }

  close(): void {
    this.socket.close();
  }
}

let dns: TestDns;
beforeAll(async () => {
  dns = await TestDns.start();
});
afterAll(async () => {
  dns.close();
  await killAll();
});

const out = (): string => mkdtempSync(join(tmpdir(), 'rewardlab-discovery-'));

describe('resolving dns:// workers', () => {
  it('turns every address of a name into a ws:// URL, through the system resolver and through a given server', async () => {
    const port = 9123;
    const system = await resolveWorkerUrls([`dns://localhost:${port}`, 'ws://10.0.0.9:9100']);
    expect(system.failures).toEqual([]);
    expect(system.urls).toContain(`ws://127.0.0.1:${port}`);
    expect(system.urls).toContain('ws://10.0.0.9:9100');
    dns.addresses = ['127.0.0.3', '127.0.0.2'];
    const viaServer = await resolveWorkerUrls([`dns://${NAME}:${port}`], { dnsServer: dns.server });
    expect(viaServer).toEqual({ urls: [`ws://127.0.0.2:${port}`, `ws://127.0.0.3:${port}`], failures: [] });
  });

  it('an unresolvable name is a clear error once the discovery timeout has passed', async () => {
    const unknown = await resolveWorkerUrls(['dns://no-such-worker.test:9100'], { dnsServer: dns.server });
    expect(unknown.urls).toEqual([]);
    expect(unknown.failures).toEqual(['dns://no-such-worker.test:9100: cannot resolve "no-such-worker.test": no such name (ENOTFOUND)']);
    const factory = makeRemoteVecEnvFactory(['dns://no-such-worker.test:9100'], { dnsServer: dns.server, discoveryTimeoutMs: 1500, log: () => {} });
    const started = Date.now();
    const err = await factory('CartPole-v1', 8).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerDiscoveryError);
    expect((err as Error).message).toMatch(/no usable sim worker: .*cannot resolve "no-such-worker\.test": no such name \(ENOTFOUND\)/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000); // it waited for workers to appear
  });

  it('refuses at once when every worker behind the name hosts another env, or speaks another protocol version', async () => {
    const pendulum = await startWorker({ envId: 'Pendulum-v1', numEnvs: 1, host: '127.0.0.2' });
    dns.addresses = ['127.0.0.2'];
    const started = Date.now();
    await expect(makeRemoteVecEnvFactory([`dns://${NAME}:${pendulum.port}`], { dnsServer: dns.server, log: () => {} })('CartPole-v1', 8)).rejects.toThrow(/hosts Pendulum-v1, but the run trains CartPole-v1/);
    expect(Date.now() - started).toBeLessThan(10_000); // not the 60 s discovery timeout
    await kill9(pendulum);

    // A worker of a later protocol: it answers the hello with the refusal a SimWorkerServer sends.
    const future = new WebSocketServer({ host: '127.0.0.2', port: 0 });
    await new Promise((r) => future.once('listening', r));
    future.on('connection', (ws) =>
      ws.once('message', () => {
        ws.send(JSON.stringify({ type: 'error', code: ErrorCode.BadVersion, message: 'this worker speaks protocol 2, the client 1' }));
        ws.close(CloseCode.BadVersion, 'protocol');
      }),
    );
    const port = (future.address() as { port: number }).port;
    await expect(makeRemoteVecEnvFactory([`dns://${NAME}:${port}`], { dnsServer: dns.server, log: () => {} })('CartPole-v1', 8)).rejects.toThrow(/protocol 2/);
    await new Promise((r) => future.close(r));
  });
});

describe('training over a dns:// name whose workers change', () => {
  it('picks up a worker that joins at the next rollout, drops one that leaves, refuses one of another env, and trains throughout', async () => {
    const a = await startWorker({ envId: 'CartPole-v1', numEnvs: 2, host: '127.0.0.2' });
    const port = a.port;
    const b = await startWorker({ envId: 'CartPole-v1', numEnvs: 2, host: '127.0.0.3', port });
    dns.addresses = ['127.0.0.2', '127.0.0.3'];
    const logs: string[] = [];
    const seen: IterationMetrics[] = [];
    const factory = makeRemoteVecEnvFactory([`dns://${NAME}:${port}`], { dnsServer: dns.server, log: (l) => logs.push(l) });
    let c: Awaited<ReturnType<typeof startWorker>> | null = null;
    const result = await train({
      env: 'CartPole-v1',
      steps: 10 * 32 * 4, // the CartPole preset: 32 steps per rollout
      seed: 3,
      backend: 'wasm',
      out: out(),
      ppo: { minibatchSize: 32 },
      makeVecEnv: factory,
      onIteration: async (m) => {
        seen.push(m);
        // After iteration 2 a third worker appears; after iteration 4 one of another env too (refused);
        // after iteration 6 the second worker leaves the name and stops.
        if (m.iteration === 2) {
          c = await startWorker({ envId: 'CartPole-v1', numEnvs: 2, host: '127.0.0.4', port });
          dns.addresses = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
        } else if (m.iteration === 4) {
          await startWorker({ envId: 'Pendulum-v1', numEnvs: 1, host: '127.0.0.5', port });
          dns.addresses = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
        } else if (m.iteration === 6) {
          dns.addresses = ['127.0.0.2', '127.0.0.4', '127.0.0.5'];
          await kill9(b, 'SIGTERM');
        }
      },
    });
    const w = (i: number) => seen[i - 1]!.workers!;
    expect(w(1)).toEqual({ parts: 2, live: 2, losses: 0, rejoins: 0, joined: 0, left: 0 });
    expect(w(2)).toMatchObject({ parts: 2, joined: 0 });
    expect(w(3)).toEqual({ parts: 3, live: 3, losses: 0, rejoins: 0, joined: 1, left: 0 }); // c joined at the next rollout
    expect(w(5)).toMatchObject({ parts: 3, joined: 1 }); // the Pendulum worker is left out
    expect(logs.some((l) => /hosts Pendulum-v1, but the run trains CartPole-v1/.test(l))).toBe(true);
    expect(logs.filter((l) => /Pendulum-v1/.test(l))).toHaveLength(1); // said once, not at every rollout
    expect(w(7)).toEqual({ parts: 2, live: 2, losses: 0, rejoins: 0, joined: 1, left: 1 });
    expect(logs.some((l) => l.includes('127.0.0.3') && /left .*dropped from the rollout/.test(l))).toBe(true);
    // Every rollout trained on every worker present: 32 steps × envs (2, then 3, then 2 workers of 2 envs).
    const perIteration = seen.map((m, i) => m.step - (i ? seen[i - 1]!.step : 0));
    expect(perIteration.slice(0, 2)).toEqual([128, 128]);
    expect(perIteration.slice(2, 6)).toEqual([192, 192, 192, 192]);
    expect(perIteration.slice(6)).toEqual(perIteration.slice(6).map(() => 128));
    expect(result.workers).toEqual({ parts: 2, live: 2, losses: 0, rejoins: 0, joined: 1, left: 1 });
    expect(seen.every((m) => Number.isFinite(m.policyLoss) && Number.isFinite(m.valueLoss))).toBe(true);
    expect(c).not.toBeNull();
  }, 180_000);

  it('a worker killed mid-rollout is masked until its address leaves the name, then dropped', async () => {
    const a = await startWorker({ envId: 'CartPole-v1', numEnvs: 2, host: '127.0.0.6' });
    const port = a.port;
    const b = await startWorker({ envId: 'CartPole-v1', numEnvs: 2, host: '127.0.0.7', port });
    dns.addresses = ['127.0.0.6', '127.0.0.7'];
    const seen: IterationMetrics[] = [];
    const result = await train({
      env: 'CartPole-v1',
      steps: 6 * 32 * 4,
      seed: 4,
      backend: 'wasm',
      out: out(),
      ppo: { minibatchSize: 32 },
      makeVecEnv: makeRemoteVecEnvFactory([`dns://${NAME}:${port}`], { dnsServer: dns.server, reconnectDelayMs: 50, log: () => {} }),
      onIteration: async (m) => {
        seen.push(m);
        // Killed after rollout 2: rollout 3 finds it gone (masked, reconnected in the background); then
        // its address leaves the name (Docker's DNS and a headless Service stop listing it).
        if (m.iteration === 2) await kill9(b);
        if (m.iteration === 3) dns.addresses = ['127.0.0.6'];
      },
    });
    expect(result.steps).toBeGreaterThanOrEqual(6 * 32 * 4);
    // Lost during rollout 3, dropped before rollout 4.
    expect(seen[2]!.workers).toEqual({ parts: 2, live: 1, losses: 1, rejoins: 0, joined: 0, left: 0 });
    expect(seen[3]!.workers).toEqual({ parts: 1, live: 1, losses: 1, rejoins: 0, joined: 0, left: 1 });
    expect(result.finalMeanReturn).not.toBeNull();
  }, 180_000);
});
