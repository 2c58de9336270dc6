/**
 * `rewardlab bench api`: the API's ingest rate and list latency, over HTTP against a fresh database
 * holding 10,000 runs. A metric point is one number: a batch's scalar diagnostics plus each of its
 * reward components.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { emitResult } from './output';

export interface ApiBenchResult {
  database: string;
  runs: number;
  metricBatches: number;
  metricPoints: number;
  metricPointsPerSec: number;
  listRunsP50Ms: number;
  listRunsP99Ms: number;
}

const COMPONENTS = ['goal', 'concede', 'touch', 'velocityBallToGoal', 'velocityPlayerToBall', 'faceBall'];
/** step, meanReturn, meanLength, episodes, policyLoss, valueLoss, entropy, approxKl, clipFraction, explainedVariance, stepsPerSecond. */
const SCALARS_PER_BATCH = 11;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export async function benchApi(options: { db?: string; runs?: number; batches?: number; batchesPerRequest?: number; listRequests?: number } = {}): Promise<ApiBenchResult> {
  const { startServer } = require('../app/server') as typeof import('../app/server');
  const { Run } = require('../runs/run.entity') as typeof import('../runs/run.entity');
  const { DataSource } = require('typeorm') as typeof import('typeorm');
  const dir = mkdtempSync(join(tmpdir(), 'rewardlab-bench-api-'));
  const server = await startServer({ port: 0, host: '127.0.0.1', db: options.db ?? `sqlite:${join(dir, 'bench.sqlite')}`, dataDir: dir, token: '' });
  try {
    const runCount = options.runs ?? 10_000;
    const db = server.app.get(DataSource);
    const base = Date.parse('2026-01-01T00:00:00Z');
    const rows = Array.from({ length: runCount }, (_, i) => ({
      id: randomUUID(),
      experimentId: null,
      env: i % 2 ? 'CartPole-v1' : 'carball-2v2',
      reward: i % 2 ? 'native' : 'lucy',
      algo: 'ppo',
      hyperparameters: { learningRate: 3e-4 },
      steps: 1_000_000,
      seed: i,
      workers: 8,
      checkpointEvery: 10,
      replayEvery: 20,
      status: 'succeeded' as const,
      error: null,
      step: 1_000_000,
      meanReturn: i / 100,
      runDir: join(dir, 'runs', String(i)),
      createdAt: new Date(base + i * 1000).toISOString(),
      startedAt: null,
      finishedAt: null,
    }));
    await db.transaction(async (em) => {
      for (let i = 0; i < rows.length; i += 500) await em.createQueryBuilder().insert().into(Run).values(rows.slice(i, i + 500)).updateEntity(false).execute();
    });

    const runId = rows[0]!.id;
    const totalBatches = options.batches ?? 20_000;
    const perRequest = options.batchesPerRequest ?? 500;
    let step = 0;
    const started = performance.now();
    for (let sent = 0; sent < totalBatches; sent += perRequest) {
      const batches = Array.from({ length: Math.min(perRequest, totalBatches - sent) }, () => {
        step += 256;
        return {
          step,
          meanReturn: Math.sin(step),
          meanLength: 100,
          episodes: 4,
          rewardComponents: Object.fromEntries(COMPONENTS.map((c, k) => [c, Math.cos(step + k)])),
          policyLoss: -0.01,
          valueLoss: 0.5,
          entropy: 1.2,
          approxKl: 0.01,
          clipFraction: 0.1,
          explainedVariance: 0.8,
          stepsPerSecond: 20_000,
        };
      });
      const res = await fetch(`${server.url}/api/runs/${runId}/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ batches }) });
      if (res.status !== 201) throw new Error(`metric ingest answered ${res.status}: ${await res.text()}`);
    }
    const ingestSeconds = (performance.now() - started) / 1000;
    const points = totalBatches * (SCALARS_PER_BATCH + COMPONENTS.length);

    const latencies: number[] = [];
    const listRequests = options.listRequests ?? 300;
    for (let i = 0; i < listRequests + 20; i++) {
      const t0 = performance.now();
      const res = await fetch(`${server.url}/api/runs?limit=50&offset=${(i * 50) % 1000}`);
      const body = (await res.json()) as { runs: unknown[]; total: number };
      if (res.status !== 200 || body.runs.length !== 50 || body.total < runCount) throw new Error(`GET /api/runs answered ${res.status} with ${body.runs?.length} runs of ${body.total}`);
      if (i >= 20) latencies.push(performance.now() - t0); // the first requests warm up
    }
    latencies.sort((a, b) => a - b);
    return {
      database: server.config.database.type,
      runs: runCount,
      metricBatches: totalBatches,
      metricPoints: points,
      metricPointsPerSec: Math.round(points / ingestSeconds),
      listRunsP50Ms: Number(quantile(latencies, 0.5).toFixed(2)),
      listRunsP99Ms: Number(quantile(latencies, 0.99).toFixed(2)),
    };
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function registerApiBench(bench: Command): void {
  bench
    .command('api')
    .description('API throughput: metric points ingested per second, and GET /api/runs latency with 10,000 runs in the database')
    .option('--db <url>', 'postgres://…?schema=… or sqlite:PATH (default: a temporary SQLite file)')
    .option('--runs <n>', 'runs in the database', positiveInt, 10_000)
    .option('--batches <n>', 'metric batches to ingest', positiveInt, 20_000)
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (opts: { db?: string; runs: number; batches: number; json?: boolean }) => {
      const result = await benchApi({ ...(opts.db ? { db: opts.db } : {}), runs: opts.runs, batches: opts.batches });
      emitResult(result, opts, (r: ApiBenchResult) => `${r.database}: ${r.metricPointsPerSec} metric points/s ingested; GET /api/runs (of ${r.runs}) p50 ${r.listRunsP50Ms} ms, p99 ${r.listRunsP99Ms} ms`);
    });
}
