/**
 * The run queue against the real Redis: the API (started with REDIS_URL) queues runs, `rewardlab
 * trainer-agent` processes take them, and an agent killed mid-run or stopped with SIGTERM loses no
 * run. Each file run has a queue of its own, removed afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { connectRedisClient, pingRedis } from '../src/queue/redis-client';
import { queueConnection } from '../src/queue/run-queue';
import { api, BIN, openStream, processGone, startServer, waitFor, type ServerProcess } from './helpers';

const Database = require('better-sqlite3') as new (path: string) => { prepare(sql: string): { run(...args: unknown[]): unknown }; close(): void };

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The queue's keys start `rewardlab:<queue>:` (server/src/queue/run-queue.ts). */
const PREFIX = 'rewardlab';
const QUEUE = `rewardlab-test-${process.pid}-${Date.now()}`;
/** Short locks, so a killed agent's run is noticed in seconds rather than the default 30 s. */
const LOCK_MS = 3000;

/** numSteps × workers: the global steps of one PPO iteration. */
const NUM_STEPS = 64;
const WORKERS = 8;
const STEPS_PER_ITERATION = NUM_STEPS * WORKERS;

const run = (steps: number) => ({ env: 'CartPole-v1', reward: 'native', hyperparameters: { numSteps: NUM_STEPS }, steps, seed: 1, workers: WORKERS, checkpointEvery: 2, replayEvery: 5 });
const everyIteration = (total: number) => Array.from({ length: total / STEPS_PER_ITERATION }, (_, i) => (i + 1) * STEPS_PER_ITERATION);

interface AgentProcess {
  name: string;
  child: ChildProcess;
  /** The JSON event lines it wrote on stderr so far. */
  events: Record<string, any>[];
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function spawnAgent(name: string, db: string, dataDir: string, redis = REDIS_URL, extra: string[] = []): AgentProcess {
  const child = spawn(process.execPath, [BIN, 'trainer-agent', '--redis', redis, '--db', db, '--data-dir', dataDir, '--queue', QUEUE, '--name', name, '--lock-ms', String(LOCK_MS), '--json', ...extra], {
    env: { ...process.env, REDIS_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const events: Record<string, any>[] = [];
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
    events.length = 0;
    for (const line of stderr.split('\n')) {
      try {
        events.push(JSON.parse(line));
      } catch {
        // not an event line
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, events, stdout: () => stdout, stderr: () => stderr, exited };
}

async function startAgent(name: string, db: string, dataDir: string, extra: string[] = []): Promise<AgentProcess> {
  const agent = spawnAgent(name, db, dataDir, REDIS_URL, extra);
  await waitFor(`agent ${name} to take jobs`, async () => agent.stdout().includes(`"agent":"${name}"`) || (agent.child.exitCode !== null && Promise.reject(new Error(`agent ${name} exited: ${agent.stderr()}`))), 60_000, 100);
  return agent;
}

async function redisReachable(): Promise<string | null> {
  try {
    await pingRedis(REDIS_URL);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('run queue on Redis', () => {
  let skip = '';
  let dir = '';
  let db = '';
  let server: ServerProcess | null = null;
  const agents = new Map<string, AgentProcess>();
  let queue: Queue | null = null;

  const getRun = async (id: string) => (await api(server!.url, 'GET', `/api/runs/${id}`)).body;
  const settled = (id: string, timeoutMs = 120_000) =>
    waitFor(`run ${id} to finish`, async () => {
      const r = await getRun(id);
      return ['succeeded', 'failed', 'stopped'].includes(r.status) && r;
    }, timeoutMs);

  beforeAll(async () => {
    const unreachable = await redisReachable();
    if (unreachable) {
      if (process.env.REQUIRE_SERVICES === '1') throw new Error(`Redis is required (REQUIRE_SERVICES=1) but not reachable at ${REDIS_URL}: ${unreachable}`);
      skip = `no Redis reachable at ${REDIS_URL} (${unreachable})`;
      console.warn(`run queue: skipped: ${skip}`);
      return;
    }
    dir = mkdtempSync(join(tmpdir(), 'rewardlab-queue-'));
    db = `sqlite:${join(dir, 'rewardlab.sqlite')}`;
    server = await startServer(db, dir, { REDIS_URL, REWARDLAB_QUEUE: QUEUE });
    for (const name of ['agent-a', 'agent-b']) agents.set(name, await startAgent(name, db, dir));
    queue = new Queue(QUEUE, { connection: queueConnection(REDIS_URL), prefix: PREFIX });
  }, 120_000);

  afterAll(async () => {
    for (const agent of agents.values()) if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    await Promise.all([...agents.values()].map((a) => a.exited));
    await server?.stop();
    if (queue) {
      await queue.obliterate({ force: true });
      await queue.close();
      const redis = await connectRedisClient(REDIS_URL);
      const left = await (redis as unknown as { keys(p: string): Promise<string[]> }).keys(`${PREFIX}:${QUEUE}:*`);
      if (left.length) await redis.del(...left);
      await redis.quit();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('two agents take four queued runs and finish them all, each taking at least one', async (ctx) => {
    if (skip) return ctx.skip();
    const ids: string[] = [];
    const stream = await openStream(server!.url);
    for (let i = 0; i < 4; i++) {
      const created = await api(server!.url, 'POST', '/api/runs', { ...run(2048), seed: i });
      expect(created.status).toBe(201);
      expect(created.body.status).toBe('queued');
      ids.push(created.body.id);
    }
    const runs = await Promise.all(ids.map((id) => settled(id)));
    for (const r of runs) {
      expect(r.error).toBeNull();
      expect(r.status).toBe('succeeded');
      expect(r.step).toBe(2048);
      const metrics = (await api(server!.url, 'GET', `/api/runs/${r.id}/metrics`)).body.metrics;
      expect(metrics.map((m: { step: number }) => m.step)).toEqual(everyIteration(2048));
      expect(typeof metrics[metrics.length - 1].meanReturn).toBe('number');
      const checkpoints = (await api(server!.url, 'GET', `/api/runs/${r.id}/checkpoints`)).body.checkpoints;
      expect(checkpoints.find((c: { kind: string }) => c.kind === 'final')?.step).toBe(2048);
    }
    expect(new Set(runs.map((r) => r.agent))).toEqual(new Set(['agent-a', 'agent-b']));
    // The agents' reports reached the API's WebSocket stream through Redis, in the order they were
    // committed: every iteration's metrics, then the final status.
    for (const id of ids) {
      const seen = stream!.messages.filter((m) => m.runId === id);
      expect(seen.filter((m) => m.type === 'metrics').map((m) => m.batch.step)).toEqual(everyIteration(2048));
      expect(seen.filter((m) => m.type === 'status').map((m) => m.status)).toEqual(['queued', 'running', 'succeeded']);
      expect(seen.some((m) => m.type === 'checkpoint')).toBe(true);
    }
    stream!.close();
    // Each agent logged the runs it took.
    for (const r of runs) expect(agents.get(r.agent)!.events.some((e) => e.event === 'started' && e.runId === r.id)).toBe(true);
  }, 180_000);

  it('fails a job without a run id, with an unknown run id, or with a spec that does not validate, with the reason, and keeps going', async (ctx) => {
    if (skip) return ctx.skip();
    // A run row that the API would have refused (an unknown env), as an older or foreign writer might leave.
    const badId = randomUUID();
    const sqlite = new Database(db.slice('sqlite:'.length));
    sqlite
      .prepare(
        `INSERT INTO runs (id, experimentId, env, reward, algo, hyperparameters, steps, seed, workers, checkpointEvery, replayEvery, status, error, step, meanReturn, runDir, createdAt, startedAt, finishedAt, simWorkers, workerStats, agent)
         VALUES (?, NULL, 'Nope-v0', '"native"', 'ppo', '{}', 1000, 0, 8, 10, 20, 'queued', NULL, 0, NULL, ?, ?, NULL, NULL, NULL, NULL, NULL)`,
      )
      .run(badId, join(dir, 'runs', badId), new Date().toISOString());
    sqlite.close();
    await queue!.add('train', {}, { jobId: 'job-without-run-id' });
    await queue!.add('train', { runId: 'no-such-run' }, { jobId: 'job-of-no-run' });
    await queue!.add('train', { runId: badId }, { jobId: badId });

    const bad = await settled(badId, 60_000);
    expect(bad.status).toBe('failed');
    expect(bad.error).toMatch(/^invalid run spec: env: unknown env "Nope-v0"/);
    const failedReason = async (jobId: string) => waitFor(`job ${jobId} to fail`, async () => (await queue!.getJob(jobId))?.failedReason, 30_000, 100);
    expect(await failedReason('job-without-run-id')).toBe('invalid job job-without-run-id: its data has no runId');
    expect(await failedReason('job-of-no-run')).toBe('invalid job job-of-no-run: no run with id "no-such-run" in the database');
    for (const agent of agents.values()) expect(agent.child.exitCode).toBeNull();
  }, 90_000);

  it('stops a waiting run at once (its job removed) and running runs through their agents, at a checkpoint', async (ctx) => {
    if (skip) return ctx.skip();
    const base = server!.url;
    const running = [(await api(base, 'POST', '/api/runs', run(1_000_000))).body.id, (await api(base, 'POST', '/api/runs', run(1_000_000))).body.id];
    await waitFor('both agents to be training', async () => (await Promise.all(running.map(getRun))).every((r) => r.status === 'running' && r.step > 0), 60_000, 200);
    const waiting: string = (await api(base, 'POST', '/api/runs', run(1_000_000))).body.id;
    expect((await getRun(waiting)).status).toBe('queued');
    const stopWaiting = await api(base, 'POST', `/api/runs/${waiting}/stop`);
    expect(stopWaiting.status).toBe(202);
    expect((await getRun(waiting)).status).toBe('stopped');
    expect(await queue!.getJob(waiting)).toBeUndefined();

    for (const id of running) expect((await api(base, 'POST', `/api/runs/${id}/stop`)).status).toBe(202);
    for (const id of running) {
      const r = await settled(id, 60_000);
      expect(r.status).toBe('stopped');
      expect(r.step).toBeLessThan(1_000_000);
      const checkpoints = (await api(base, 'GET', `/api/runs/${id}/checkpoints`)).body.checkpoints;
      expect(checkpoints.some((c: { kind: string; step: number }) => c.kind === 'checkpoint' && c.step === r.step)).toBe(true);
    }
    expect((await getRun(waiting)).agent).toBeNull();
  }, 120_000);

  it('kill -9 of an agent mid-run: its trainer exits, and the other agent resumes the run from its last checkpoint to success', async (ctx) => {
    if (skip) return ctx.skip();
    const total = STEPS_PER_ITERATION * 24;
    const id: string = (await api(server!.url, 'POST', '/api/runs', run(total))).body.id;
    const first = await waitFor('a checkpoint and some metrics', async () => {
      const r = await getRun(id);
      if (r.status !== 'running' || r.step < 3 * STEPS_PER_ITERATION) return false;
      const checkpoints = (await api(server!.url, 'GET', `/api/runs/${id}/checkpoints`)).body.checkpoints;
      return checkpoints.length > 0 && r;
    }, 60_000, 50);
    const victim = agents.get(first.agent)!;
    const survivor = [...agents.values()].find((a) => a !== victim)!;
    const trainerPid: number = victim.events.find((e) => e.event === 'started' && e.runId === id)!.pid;
    victim.child.kill('SIGKILL');
    await victim.exited;
    // The orphaned trainer notices its agent is gone (the IPC channel closes) and exits.
    await waitFor('the orphaned trainer to exit', async () => processGone(trainerPid), 30_000);

    const done = await settled(id, 150_000);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.agent).toBe(survivor.name);
    expect(done.step).toBe(total);
    const resumed = survivor.events.find((e) => e.event === 'started' && e.runId === id)!;
    expect(resumed.resumedFrom).toBeGreaterThanOrEqual(2 * STEPS_PER_ITERATION);
    expect(survivor.events.some((e) => e.event === 'stalled' && e.jobId === id)).toBe(true);
    // One metric batch per iteration, none lost or repeated across the two agents.
    const steps = (await api(server!.url, 'GET', `/api/runs/${id}/metrics`)).body.metrics.map((m: { step: number }) => m.step);
    expect(steps).toEqual(everyIteration(total));
    agents.delete(victim.name);
  }, 240_000);

  it('SIGTERM: the agent stops its trainer at a checkpoint and hands the run back; another agent finishes it', async (ctx) => {
    if (skip) return ctx.skip();
    agents.set('agent-c', await startAgent('agent-c', db, dir));
    const total = STEPS_PER_ITERATION * 24;
    const id: string = (await api(server!.url, 'POST', '/api/runs', run(total))).body.id;
    const first = await waitFor('some metrics', async () => {
      const r = await getRun(id);
      return r.status === 'running' && r.step >= 2 * STEPS_PER_ITERATION && r;
    }, 60_000, 50);
    const leaving = agents.get(first.agent)!;
    leaving.child.kill('SIGTERM');
    expect(await leaving.exited).toBe(0);
    const result = JSON.parse(leaving.stdout().trim().split('\n').pop()!);
    expect(result).toMatchObject({ agent: leaving.name, signal: 'SIGTERM' });
    expect(result.released).toContain(id);
    agents.delete(leaving.name);

    const done = await settled(id, 150_000);
    expect(done.status).toBe('succeeded');
    expect(done.agent).not.toBe(leaving.name);
    const steps = (await api(server!.url, 'GET', `/api/runs/${id}/metrics`)).body.metrics.map((m: { step: number }) => m.step);
    expect(steps).toEqual(everyIteration(total));
  }, 240_000);

  it('a run whose agents die more often than --max-stalled allows fails with BullMQ\'s reason, never left running', async (ctx) => {
    if (skip) return ctx.skip();
    for (const agent of agents.values()) agent.child.kill('SIGTERM');
    await Promise.all([...agents.values()].map((a) => a.exited));
    agents.clear();
    for (const name of ['agent-d', 'agent-e']) agents.set(name, await startAgent(name, db, dir, ['--max-stalled', '0']));
    const id: string = (await api(server!.url, 'POST', '/api/runs', run(1_000_000))).body.id;
    const first = await waitFor('the run to be training', async () => {
      const r = await getRun(id);
      return r.status === 'running' && r.step > 0 && r;
    }, 60_000, 50);
    const victim = agents.get(first.agent)!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    agents.delete(victim.name);
    const done = await settled(id, 60_000);
    expect(done.status).toBe('failed');
    expect(done.error).toBe('job stalled more than allowable limit');
    expect(done.agent).toBe(victim.name);
  }, 150_000);

  it('an agent whose Redis is unreachable says so, naming REDIS_URL, keeps retrying, and exits cleanly on SIGTERM', async (ctx) => {
    if (skip) return ctx.skip();
    const agent = spawnAgent('agent-no-redis', db, dir, 'redis://127.0.0.1:1');
    const event = await waitFor('the unreachable-Redis line', async () => agent.events.find((e) => e.event === 'redis'), 15_000, 100);
    expect(event.message).toMatch(/^the run queue's Redis \(REDIS_URL=redis:\/\/127\.0\.0\.1:1\) is unreachable: .*ECONNREFUSED.*; retrying every 2 s$/);
    await new Promise((r) => setTimeout(r, 2500));
    expect(agent.child.exitCode).toBeNull();
    expect(agent.events.filter((e) => e.event === 'redis')).toHaveLength(1);
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
  }, 60_000);

  it('an API whose Redis is unreachable answers 503 naming Redis, and the run it could not queue is failed with that reason', async (ctx) => {
    if (skip) return ctx.skip();
    const other = mkdtempSync(join(tmpdir(), 'rewardlab-queue-down-'));
    const down = await startServer(`sqlite:${join(other, 'rewardlab.sqlite')}`, other, { REDIS_URL: 'redis://127.0.0.1:1', REWARDLAB_QUEUE: QUEUE });
    try {
      await waitFor('the unreachable-Redis line', async () => /the run queue's Redis \(REDIS_URL=redis:\/\/127\.0\.0\.1:1\) is unreachable/.test(down.stderr()), 10_000, 100);
      const created = await api(down.url, 'POST', '/api/runs', run(2048));
      expect(created.status).toBe(503);
      expect(created.body.message).toMatch(/^the run queue's Redis \(REDIS_URL=redis:\/\/127\.0\.0\.1:1\) is unreachable: .*ECONNREFUSED/);
      const listed = (await api(down.url, 'GET', '/api/runs')).body.runs;
      expect(listed).toHaveLength(1);
      expect(listed[0].status).toBe('failed');
      expect(listed[0].error).toBe(`not queued: ${created.body.message}`);
      // Bad input is still a 400, Redis or not.
      expect((await api(down.url, 'POST', '/api/runs', { ...run(2048), env: 'Nope-v0' })).status).toBe(400);
      const simWorkers = await api(down.url, 'POST', '/api/runs', { ...run(2048), simWorkers: 'http://sim-a:9100' });
      expect(simWorkers.status).toBe(400);
      expect(simWorkers.body.field).toBe('simWorkers');
    } finally {
      await down.stop();
      rmSync(other, { recursive: true, force: true });
    }
  }, 60_000);
});

/** A Redis of the test's own (the machine's redis-server binary) on a free port, to take away mid-run. */
async function startPrivateRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor('the private Redis', async () => pingRedis(`redis://127.0.0.1:${port}`).then(() => true, () => false), 20_000, 100);
  return child;
}

describe('run queue when Redis goes away mid-run', () => {
  it('the running run trains on and is recorded; the agent and the API say Redis is gone, and carry on once it is back', async (ctx) => {
    const unreachable = await redisReachable();
    if (unreachable) return ctx.skip(); // the suite above already failed or skipped for want of Redis
    const port = 20_000 + (process.pid % 20_000);
    const url = `redis://127.0.0.1:${port}`;
    const dir = mkdtempSync(join(tmpdir(), 'rewardlab-queue-loss-'));
    const db = `sqlite:${join(dir, 'rewardlab.sqlite')}`;
    let redis = await startPrivateRedis(port);
    const server = await startServer(db, dir, { REDIS_URL: url, REWARDLAB_QUEUE: QUEUE });
    const agent = spawnAgent('agent-loss', db, dir, url);
    try {
      await waitFor('the agent to take jobs', async () => agent.stdout().includes('"agent":"agent-loss"'), 60_000, 100);
      const steps = 40 * STEPS_PER_ITERATION;
      const created = await api(server.url, 'POST', '/api/runs', run(steps));
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      await waitFor('the run to be under way', async () => (await api(server.url, 'GET', `/api/runs/${id}`)).body.step >= 2 * STEPS_PER_ITERATION, 60_000, 100);
      redis.kill('SIGKILL');
      // Both sides name the queue's Redis; the API refuses new runs with a 503 rather than losing them.
      await waitFor('the agent to say Redis is gone', async () => agent.events.some((e) => e.event === 'redis' && String(e.message).includes(`REDIS_URL=${url}`)), 30_000, 100);
      const refused = await api(server.url, 'POST', '/api/runs', run(STEPS_PER_ITERATION));
      expect(refused.status).toBe(503);
      expect(refused.body.message).toMatch(/run queue's Redis \(REDIS_URL=redis:\/\/127\.0\.0\.1:\d+\) is unreachable/);
      // The trainer does not need Redis: the run finishes, every iteration recorded.
      const done = await waitFor('the run to finish without Redis', async () => {
        const r = (await api(server.url, 'GET', `/api/runs/${id}`)).body;
        return ['succeeded', 'failed', 'stopped'].includes(r.status) && r;
      }, 120_000);
      expect(done.status).toBe('succeeded');
      expect(done.step).toBe(steps);
      const metrics = (await api(server.url, 'GET', `/api/runs/${id}/metrics?limit=1000`)).body.metrics;
      expect(metrics.map((m: { step: number }) => m.step)).toEqual(everyIteration(steps));
      // Redis back (empty: it keeps nothing on disk): the agent takes new runs again.
      redis = await startPrivateRedis(port);
      const again = await waitFor('the API to queue again', async () => {
        const r = await api(server.url, 'POST', '/api/runs', run(2 * STEPS_PER_ITERATION));
        return r.status === 201 && r;
      }, 60_000, 500);
      const second = await waitFor('the new run to finish', async () => {
        const r = (await api(server.url, 'GET', `/api/runs/${again.body.id}`)).body;
        return ['succeeded', 'failed', 'stopped'].includes(r.status) && r;
      }, 120_000);
      expect(second.status).toBe('succeeded');
      expect(agent.child.exitCode).toBeNull(); // never crashed
    } finally {
      agent.child.kill('SIGKILL');
      await agent.exited;
      await server.stop();
      redis.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 360_000);
});
