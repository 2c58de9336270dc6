/**
 * The API's integration suite, run over real HTTP against a server process on one database (a SQLite
 * file, or a PostgreSQL schema of its own): the run lifecycle, bad input, auth, and a kill -9 of the
 * server in the middle of a run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeReplay } from '@rewardlab/sim';
import { api, openStream, processGone, startServer, waitFor, type ServerProcess } from './helpers';

export interface Database {
  /** `--db` value for a fresh, empty database. */
  url: string;
  cleanup(): Promise<void>;
}

/** numSteps × workers: the global steps of one PPO iteration. */
const NUM_STEPS = 32;
const WORKERS = 8;
const STEPS_PER_ITERATION = NUM_STEPS * WORKERS;

const shortRun = (steps: number) => ({
  env: 'CartPole-v1',
  reward: 'native',
  algo: 'ppo',
  hyperparameters: { numSteps: NUM_STEPS, minibatchSize: 128, epochs: 2 },
  steps,
  seed: 3,
  workers: WORKERS,
  checkpointEvery: 2,
  replayEvery: 5,
});

export function defineApiSuite(name: string, open: () => Promise<Database | { skip: string }>): void {
  describe(name, () => {
    let db: Database | null = null;
    let skip = '';
    let dataDir = '';
    let server: ServerProcess | null = null;

    beforeAll(async () => {
      const opened = await open();
      if ('skip' in opened) {
        skip = opened.skip;
        console.warn(`${name}: skipped: ${skip}`);
        return;
      }
      db = opened;
      dataDir = mkdtempSync(join(tmpdir(), 'rewardlab-api-'));
      server = await startServer(db.url, dataDir);
    }, 90_000);

    afterAll(async () => {
      await server?.stop();
      await db?.cleanup();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }, 60_000);

    it('runs a short CartPole run from queued to succeeded with metrics, checkpoints and a replay', async (ctx) => {
      if (skip) return ctx.skip();
      const base = server!.url;
      const stream = await openStream(base);
      const created = await api(base, 'POST', '/api/runs', shortRun(2048));
      expect(created.status).toBe(201);
      expect(created.body.status).toBe('queued');
      expect(created.body).not.toHaveProperty('runDir');
      const id: string = created.body.id;

      const run = await waitFor('the run to finish', async () => {
        const r = await api(base, 'GET', `/api/runs/${id}`);
        return ['succeeded', 'failed'].includes(r.body.status) && r.body;
      });
      expect(run.error).toBeNull();
      expect(run.status).toBe('succeeded');
      expect(run.step).toBe(2048);

      const metrics = (await api(base, 'GET', `/api/runs/${id}/metrics`)).body.metrics;
      expect(metrics.map((m: { step: number }) => m.step)).toEqual(Array.from({ length: 2048 / STEPS_PER_ITERATION }, (_, i) => (i + 1) * STEPS_PER_ITERATION));
      for (const key of ['meanReturn', 'policyLoss', 'valueLoss', 'entropy', 'stepsPerSecond']) expect(typeof metrics[metrics.length - 1][key]).toBe('number');
      expect(metrics[0].rewardComponents).toHaveProperty('native');
      // Task metrics are stored beside the reward: CartPole's is the episode length, and with the native
      // spec the one component's per-episode sum is the spec's return, which is that length.
      const withEpisodes = metrics.filter((m: { iterationEpisodes: number | null }) => (m.iterationEpisodes ?? 0) > 0);
      expect(withEpisodes.length).toBeGreaterThan(0);
      for (const m of withEpisodes) {
        expect(m.episodeComponents.native).toBeCloseTo(m.specReturn, 6);
        expect(m.taskMetrics.length).toBeCloseTo(m.specReturn, 6);
      }
      const after = (await api(base, 'GET', `/api/runs/${id}/metrics?after=1024`)).body.metrics;
      expect(after[0].step).toBe(1024 + STEPS_PER_ITERATION);

      const checkpoints = (await api(base, 'GET', `/api/runs/${id}/checkpoints`)).body.checkpoints;
      expect(checkpoints.some((c: { kind: string }) => c.kind === 'checkpoint')).toBe(true);
      const final = checkpoints.find((c: { kind: string }) => c.kind === 'final');
      expect(final.step).toBe(2048);
      expect(final).not.toHaveProperty('dir');
      const tar = await api<Buffer>(base, 'GET', `/api/checkpoints/${final.id}/download`);
      expect(tar.status).toBe(200);
      expect(tar.body.subarray(257, 262).toString()).toBe('ustar');
      const evaluation = await api(base, 'POST', `/api/checkpoints/${final.id}/evaluate`, { episodes: 2, seed: 1 });
      expect(evaluation.status).toBe(201);
      expect(evaluation.body.episodes).toBe(2);
      expect(typeof evaluation.body.meanReturn).toBe('number');

      const replays = (await api(base, 'GET', `/api/runs/${id}/replays`)).body.replays;
      expect(replays.length).toBeGreaterThan(0);
      const file = await api<Buffer>(base, 'GET', `/api/replays/${replays[0].id}/download`);
      expect(file.status).toBe(200);
      const replay = decodeReplay(new Uint8Array(file.body));
      expect(replay.meta.envId).toBe('CartPole-v1');
      expect(replay.frameCount).toBe(replays[0].frames);
      expect(replay.componentNames).toEqual(['native']);

      // The stream saw the lifecycle and every metric batch.
      const mine = stream.messages.filter((m) => m.runId === id);
      stream.close();
      expect(mine.filter((m) => m.type === 'status').map((m) => m.status)).toEqual(['queued', 'running', 'succeeded']);
      expect(mine.filter((m) => m.type === 'metrics')).toHaveLength(metrics.length);
      expect(mine.some((m) => m.type === 'episode')).toBe(true);
      expect(mine.some((m) => m.type === 'checkpoint')).toBe(true);
      expect(mine.some((m) => m.type === 'replay')).toBe(true);

      const listed = (await api(base, 'GET', '/api/runs?limit=5')).body;
      expect(listed.runs.map((r: { id: string }) => r.id)).toContain(id);
    }, 120_000);

    it('the reward debugger: the alarm flags a farmed run and not an honest one, an A/B compares them, bad input is refused', async (ctx) => {
      if (skip) return ctx.skip();
      const base = server!.url;
      // −1 a step plus 2·(pole angular velocity)²: swinging pays more than the step costs and ends the
      // episode sooner, so the spec's return rises while CartPole's task metric (length) falls.
      const farmed = { components: { cost: { term: 'constant', value: -1 }, swing: { term: 'observation', index: 3, power: 2, scale: 2 } } };
      const carballOnly = { components: { touch: { term: 'touchBall' } } };
      const runsBefore = (await api(base, 'GET', '/api/runs?limit=500')).body.total;
      const badAb = await api(base, 'POST', '/api/runs/ab', { env: 'CartPole-v1', steps: 8192, rewards: [farmed, carballOnly] });
      expect(badAb.status).toBe(400);
      expect(badAb.body.field).toBe('rewards.1');
      expect(badAb.body.message).toMatch(/^rewards\.1: does not fit CartPole-v1/);
      expect((await api(base, 'POST', '/api/runs/ab', { env: 'CartPole-v1', steps: 8192, rewards: ['native'] })).body.field).toBe('rewards');
      expect((await api(base, 'GET', '/api/runs?limit=500')).body.total).toBe(runsBefore);

      const ab = await api(base, 'POST', '/api/runs/ab', { env: 'CartPole-v1', steps: 8192, seed: 0, replayEvery: 0, hyperparameters: { learningRate: 5e-4 }, rewards: [farmed, 'native'] });
      expect(ab.status).toBe(201);
      const [a, b] = ab.body.runs as { id: string; experimentId: string; seed: number; steps: number; reward: unknown }[];
      expect(a!.experimentId).toBe(ab.body.experimentId);
      expect(b!.experimentId).toBe(ab.body.experimentId);
      expect([a!.seed, a!.steps, b!.seed, b!.steps]).toEqual([0, 8192, 0, 8192]);
      expect(b!.reward).toBe('native');
      const experiment = (await api(base, 'GET', `/api/experiments/${ab.body.experimentId}`)).body;
      expect(experiment.name).toBe('A/B on CartPole-v1: custom spec vs native');

      // With both A/B runs taking the two trainer slots, a third run waits queued, without metrics.
      const waiting = (await api(base, 'POST', '/api/runs', { env: 'Pendulum-v1', steps: 100_000 })).body.id as string;
      const noMetrics = await api(base, 'GET', `/api/runs/${waiting}/diagnostics`);
      expect(noMetrics.status).toBe(409);
      expect(noMetrics.body.message).toMatch(/has no training metrics yet/);
      const otherEnv = await api(base, 'GET', `/api/runs/${a!.id}/compare/${waiting}`);
      expect(otherEnv.status).toBe(400);
      expect(otherEnv.body.message).toMatch(/one env: run .* trains CartPole-v1, run .* trains Pendulum-v1/);
      expect((await api(base, 'POST', `/api/runs/${waiting}/stop`)).status).toBe(202);
      expect((await api(base, 'GET', '/api/runs/00000000-0000-4000-8000-000000000000/diagnostics')).status).toBe(404);
      expect((await api(base, 'GET', `/api/runs/${a!.id}/compare/00000000-0000-4000-8000-000000000000`)).status).toBe(404);

      for (const id of [a!.id, b!.id]) {
        const run = await waitFor(`A/B run ${id}`, async () => {
          const r = await api(base, 'GET', `/api/runs/${id}`);
          return ['succeeded', 'failed'].includes(r.body.status) && r.body;
        });
        expect(run.status).toBe('succeeded');
      }
      const flagged = (await api(base, 'GET', `/api/runs/${a!.id}/diagnostics`)).body;
      expect(flagged.status).toBe('flagged');
      expect(flagged.env).toBe('CartPole-v1');
      expect(flagged.taskMetrics.map((m: { name: string }) => m.name)).toEqual(['length']);
      expect(flagged.metrics[0]).toMatchObject({ name: 'length', verdict: 'falling' });
      expect(flagged.growingComponents[0].name).toBe('swing');
      expect(flagged.specReturn.t).toBeGreaterThanOrEqual(flagged.thresholds.t);
      const honest = (await api(base, 'GET', `/api/runs/${b!.id}/diagnostics?metrics=length`)).body;
      expect(honest.status).toBe('ok');
      expect(honest.metrics[0]).toMatchObject({ name: 'length', verdict: 'improving' });
      const unknown = await api(base, 'GET', `/api/runs/${b!.id}/diagnostics?metrics=length,touches`);
      expect(unknown.status).toBe(400);
      expect(unknown.body.field).toBe('metrics');
      expect(unknown.body.message).toBe('metrics: unknown task metric "touches"; this env reports length');

      const compared = (await api(base, 'GET', `/api/runs/${a!.id}/compare/${b!.id}`)).body;
      expect(compared.env).toBe('CartPole-v1');
      expect(compared.runs.map((r: { id: string }) => r.id)).toEqual([a!.id, b!.id]);
      expect(compared.runs.map((r: { diagnostics: { status: string } }) => r.diagnostics.status)).toEqual(['flagged', 'ok']);
      expect(compared.differences).toEqual([]);
      // The farmed run ends with short episodes, the honest one with long ones; the late means are those of the metric batches.
      const metricsB = (await api(base, 'GET', `/api/runs/${b!.id}/metrics`)).body.metrics.filter((m: { iterationEpisodes: number }) => m.iterationEpisodes > 0);
      const lateB = metricsB.slice(metricsB.length - Math.floor(metricsB.length / 3));
      expect(compared.runs[1].taskMetrics.length).toBeCloseTo(lateB.reduce((s: number, m: { taskMetrics: { length: number } }) => s + m.taskMetrics.length, 0) / lateB.length, 9);
      expect(compared.runs[0].taskMetrics.length).toBeLessThan(compared.runs[1].taskMetrics.length);
      expect(Object.keys(compared.runs[0].episodeComponents).sort()).toEqual(['cost', 'swing']);
      // The env's own reward is unknown on recombined transitions, so there is no distance to the native spec.
      expect(compared.distances).toBeNull();
      expect(compared.distanceError).toMatch(/native/);

      // The B side of an A/B against an existing run copies everything but the reward.
      const against = await api(base, 'POST', `/api/runs/${a!.id}/ab`, { reward: { components: { cost: { term: 'constant', value: -1 } } } });
      expect(against.status).toBe(201);
      expect(against.body).toMatchObject({ env: 'CartPole-v1', steps: 8192, seed: 0, experimentId: ab.body.experimentId, hyperparameters: { learningRate: 5e-4 } });
      expect((await api(base, 'POST', `/api/runs/${against.body.id}/stop`)).status).toBe(202);
      const distance = (await api(base, 'GET', `/api/runs/${a!.id}/compare/${against.body.id}`)).body;
      expect(distance.distances.epic).toBeGreaterThan(0);
      expect(distance.distances.epic).toBeLessThanOrEqual(1);
      // A constant reward canonicalises to 0: C(R) = −1 + E[γ·(−1) − (−1) − γ·(−1)] = 0.
      expect(distance.distances.constant).toEqual([false, true]);
      expect(distance.distances.epic).toBeCloseTo(Math.SQRT1_2, 12);
      expect((await api(base, 'POST', `/api/runs/${a!.id}/ab`, { reward: 'nope' })).body.field).toBe('reward');
    }, 180_000);

    it('groups runs under experiments', async (ctx) => {
      if (skip) return ctx.skip();
      const base = server!.url;
      const experiment = await api(base, 'POST', '/api/experiments', { name: 'native vs native', description: 'two seeds' });
      expect(experiment.status).toBe(201);
      const run = await api(base, 'POST', '/api/runs', { ...shortRun(256), experimentId: experiment.body.id });
      expect(run.status).toBe(201);
      const listed = (await api(base, 'GET', `/api/runs?experimentId=${experiment.body.id}`)).body;
      expect(listed.total).toBe(1);
      expect(listed.runs[0].id).toBe(run.body.id);
      expect((await api(base, 'GET', `/api/experiments/${experiment.body.id}`)).body.name).toBe('native vs native');
      await waitFor('the run to finish', async () => (await api(base, 'GET', `/api/runs/${run.body.id}`)).body.status === 'succeeded', 60_000);
    }, 90_000);

    it('describes every resource in the OpenAPI document at /api/docs', async (ctx) => {
      if (skip) return ctx.skip();
      const doc = (await api(server!.url, 'GET', '/api/docs/json')).body;
      for (const path of ['/api/runs', '/api/runs/{id}/metrics', '/api/runs/{id}/resume', '/api/checkpoints/{id}/download', '/api/replays/{id}/download', '/api/experiments', '/api/health', '/api/workers']) {
        expect(doc.paths, path).toHaveProperty([path]);
      }
      expect(doc.components.schemas.CreateRunDto.required).toEqual(expect.arrayContaining(['env', 'steps']));
      expect((await api(server!.url, 'GET', '/api/docs')).status).toBe(200);
    }, 30_000);

    it('answers bad input with 400 naming the field, unknown ids with 404, oversized bodies with 413', async (ctx) => {
      if (skip) return ctx.skip();
      const base = server!.url;
      const malformed = await api(base, 'POST', '/api/runs', '{"env": "CartPole-v1", ');
      expect(malformed.status).toBe(400);
      expect(malformed.body.message).toMatch(/malformed JSON/);
      const unknownEnv = await api(base, 'POST', '/api/runs', { ...shortRun(100), env: 'Nope-v0' });
      expect(unknownEnv.status).toBe(400);
      expect(unknownEnv.body.field).toBe('env');
      expect(unknownEnv.body.message).toMatch(/unknown env "Nope-v0"/);
      const unknownReward = await api(base, 'POST', '/api/runs', { ...shortRun(100), reward: 'bogus' });
      expect(unknownReward.status).toBe(400);
      expect(unknownReward.body.field).toBe('reward');
      const lr = await api(base, 'POST', '/api/runs', { ...shortRun(100), hyperparameters: { learningRate: 5 } });
      expect(lr.status).toBe(400);
      expect(lr.body.field).toBe('hyperparameters.learningRate');
      const steps = await api(base, 'POST', '/api/runs', { ...shortRun(100), steps: 0 });
      expect(steps.status).toBe(400);
      expect(steps.body.field).toBe('steps');
      const orphan = await api(base, 'POST', '/api/runs', { ...shortRun(100), experimentId: '00000000-0000-4000-8000-000000000000' });
      expect(orphan.status).toBe(400);
      expect(orphan.body.field).toBe('experimentId');
      const extra = await api(base, 'POST', '/api/runs', { ...shortRun(100), colour: 'red' });
      expect(extra.status).toBe(400);
      expect(extra.body.field).toBe('colour');

      for (const path of ['/api/runs/no-such-run', '/api/runs/no-such-run/metrics', '/api/checkpoints/nope/download', '/api/replays/nope/download', '/api/experiments/nope']) {
        const r = await api(base, 'GET', path);
        expect(r.status, path).toBe(404);
      }
      expect((await api(base, 'POST', '/api/runs/no-such-run/stop')).status).toBe(404);

      const big = await api(base, 'POST', '/api/runs', { ...shortRun(100), env: 'x'.repeat(2 * 1024 * 1024) });
      expect(big.status).toBe(413);
      const list = await api(base, 'GET', '/api/runs?limit=100000');
      expect(list.status).toBe(400);
      expect(list.body.field).toBe('limit');
    }, 60_000);

    it('stops a running run at the next iteration, keeping a checkpoint to resume from', async (ctx) => {
      if (skip) return ctx.skip();
      const base = server!.url;
      const id: string = (await api(base, 'POST', '/api/runs', shortRun(1_000_000))).body.id;
      await waitFor('a first metric batch', async () => (await api(base, 'GET', `/api/runs/${id}/metrics`)).body.metrics.length > 0, 60_000, 100);
      const stopping = await api(base, 'POST', `/api/runs/${id}/stop`);
      expect(stopping.status).toBe(202);
      const run = await waitFor('the run to stop', async () => {
        const r = await api(base, 'GET', `/api/runs/${id}`);
        return r.body.status !== 'running' && r.body;
      }, 60_000);
      expect(run.status).toBe('stopped');
      expect(run.step).toBeLessThan(1_000_000);
      const checkpoints = (await api(base, 'GET', `/api/runs/${id}/checkpoints`)).body.checkpoints;
      expect(checkpoints.some((c: { kind: string; step: number }) => c.kind === 'checkpoint' && c.step === run.step)).toBe(true);
      expect((await api(base, 'POST', `/api/runs/${id}/stop`)).status).toBe(409);
    }, 90_000);

    it('marks a run failed, with the reason, when its trainer process crashes', async (ctx) => {
      if (skip) return ctx.skip();
      const base = server!.url;
      const id: string = (await api(base, 'POST', '/api/runs', shortRun(1_000_000))).body.id;
      const pid: number = await waitFor('the trainer to start', async () => (await api(base, 'GET', '/api/workers')).body.workers.find((w: { runId: string }) => w.runId === id)?.pid);
      process.kill(pid, 'SIGKILL');
      const run = await waitFor('the run to fail', async () => {
        const r = await api(base, 'GET', `/api/runs/${id}`);
        return r.body.status === 'failed' && r.body;
      }, 30_000);
      expect(run.error).toMatch(/the trainer process exited \(SIGKILL\) without finishing/);
      expect((await api(base, 'GET', '/api/workers')).body.workers).toEqual([]);
    }, 60_000);

    it('requires the bearer token on every route and the WebSocket when REWARDLAB_TOKEN is set', async (ctx) => {
      if (skip) return ctx.skip();
      const authed = await startServer(db!.url, dataDir, { REWARDLAB_TOKEN: 's3cret', REWARDLAB_CORS: 'http://viewer.test' });
      try {
        const base = authed.url;
        for (const path of ['/api/health', '/api/runs', '/api/docs', '/']) expect((await api(base, 'GET', path)).status, path).toBe(401);
        expect((await api(base, 'POST', '/api/runs', shortRun(100))).status).toBe(401);
        expect((await api(base, 'GET', '/api/runs', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
        expect((await api(base, 'GET', '/api/health', undefined, { authorization: 'Bearer s3cret' })).status).toBe(200);
        await expect(openStream(base)).rejects.toThrow(/401/);
        const stream = await openStream(base, '', { authorization: 'Bearer s3cret' });
        stream.close();
        // CORS preflights (which carry no credentials) pass, for the configured origins only.
        const preflight = await fetch(`${base}/api/runs`, { method: 'OPTIONS', headers: { origin: 'http://viewer.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
        expect(preflight.headers.get('access-control-allow-origin')).toBe('http://viewer.test');
        const other = await fetch(`${base}/api/health`, { headers: { origin: 'http://elsewhere.test', authorization: 'Bearer s3cret' } });
        expect(other.headers.get('access-control-allow-origin')).toBeNull();
      } finally {
        await authed.stop();
      }
    }, 90_000);

    it('survives kill -9 mid-run: the run is interrupted, acknowledged metrics remain, resume continues from the last checkpoint', async (ctx) => {
      if (skip) return ctx.skip();
      let base = server!.url;
      const total = 16 * STEPS_PER_ITERATION * 3;
      const created = await api(base, 'POST', '/api/runs', shortRun(total));
      const id: string = created.body.id;
      const stream = await openStream(base, `?runId=${id}`);
      // Every metrics message on the stream was committed before it was sent.
      await waitFor('two checkpoints and some metrics', async () => {
        const checkpoints = stream.messages.filter((m) => m.type === 'checkpoint').length;
        const metrics = stream.messages.filter((m) => m.type === 'metrics').length;
        return checkpoints >= 2 && metrics >= 5;
      }, 90_000, 20);
      const trainers = (await api(base, 'GET', '/api/workers')).body.workers;
      const trainerPid: number = trainers.find((w: { runId: string }) => w.runId === id).pid;
      await server!.kill9();
      const acknowledged: number[] = stream.messages.filter((m) => m.type === 'metrics').map((m) => m.batch.step);
      stream.close();
      // The trainer notices its server is gone and exits.
      await waitFor('the orphaned trainer to exit', async () => processGone(trainerPid), 30_000);

      server = await startServer(db!.url, dataDir);
      base = server.url;
      const interrupted = (await api(base, 'GET', `/api/runs/${id}`)).body;
      expect(interrupted.status).toBe('interrupted');
      expect(interrupted.step).toBeLessThan(total);
      const stored: number[] = (await api(base, 'GET', `/api/runs/${id}/metrics`)).body.metrics.map((m: { step: number }) => m.step);
      for (const step of acknowledged) expect(stored).toContain(step);

      const checkpoints = (await api(base, 'GET', `/api/runs/${id}/checkpoints`)).body.checkpoints.filter((c: { kind: string }) => c.kind === 'checkpoint');
      const last = Math.max(...checkpoints.map((c: { step: number }) => c.step));
      const resumed = await api(base, 'POST', `/api/runs/${id}/resume`);
      expect(resumed.status).toBe(202);
      expect(resumed.body.status).toBe('queued');
      const done = await waitFor('the resumed run to finish', async () => {
        const r = await api(base, 'GET', `/api/runs/${id}`);
        return ['succeeded', 'failed'].includes(r.body.status) && r.body;
      });
      expect(done.error).toBeNull();
      expect(done.status).toBe('succeeded');
      expect(done.step).toBe(total);
      const steps: number[] = (await api(base, 'GET', `/api/runs/${id}/metrics`)).body.metrics.map((m: { step: number }) => m.step);
      // One batch per iteration from the start to the end, none repeated: the resumed trainer's first
      // batch is the iteration after the checkpoint.
      expect(steps).toEqual(Array.from({ length: total / STEPS_PER_ITERATION }, (_, i) => (i + 1) * STEPS_PER_ITERATION));
      expect(steps).toContain(last + STEPS_PER_ITERATION);
      expect((await api(base, 'POST', `/api/runs/${id}/resume`)).status).toBe(409);
    }, 180_000);
  });
}
