/**
 * `rewardlab trainer-agent`'s work: a BullMQ Worker on the run queue that, for each job, loads the run
 * from the API's database, trains it in a trainer process (RunRecorder, as the API does in-process)
 * and stores what the trainer reports there.
 *
 * Failure handling:
 * - an agent killed mid-run stops renewing its job's lock; another agent's stalled-job check puts the
 *   job back, and whoever takes it resumes the run from its newest checkpoint (or starts it over);
 *   a job stalled more often than `maxStalledCount` fails with BullMQ's reason, recorded on the run;
 * - SIGTERM/SIGINT (`close()`): no new jobs; running trainers stop at their next iteration (writing a
 *   checkpoint), their runs go back to `queued` and their jobs back to the queue, for any agent;
 * - a job without a run, or a run whose spec no longer validates, fails at once with the reason.
 */
import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DataSource, Repository } from 'typeorm';
import { SERVER_CONFIG, type ServerConfig } from '../app/config';
import { FINISHED_STATUSES, Run } from '../runs/run.entity';
import { RunRecorder, type RunTrainer } from '../runs/run-trainer';
import { validateRunRequest } from '../runs/run-validation';
import { MetricsModule } from '../metrics/metrics.module';
import { CheckpointsModule } from '../checkpoints/checkpoints.module';
import { ReplaysModule } from '../replays/replays.module';
import { StreamModule } from '../stream/stream.module';
import { QUEUE_PREFIX, queueConnection, redisUnreachable, stopFlagKey, waitForRedis, type RunJobData } from './run-queue';
import { connectRedisClient } from './redis-client';

/** The database side of an agent: the runs' services without the HTTP API. */
@Module({})
export class TrainerAgentModule {
  static forRoot(config: ServerConfig, dataSource: DataSource): DynamicModule {
    return {
      module: TrainerAgentModule,
      global: true,
      imports: [
        TypeOrmModule.forRootAsync({ useFactory: () => dataSource.options, dataSourceFactory: async () => dataSource }),
        TypeOrmModule.forFeature([Run]),
        StreamModule,
        MetricsModule,
        CheckpointsModule,
        ReplaysModule,
      ],
      providers: [{ provide: SERVER_CONFIG, useValue: config }, RunRecorder],
      exports: [SERVER_CONFIG, RunRecorder],
    };
  }
}

export interface TrainerAgentOptions {
  redisUrl: string;
  queueName: string;
  /** Recorded on every run this agent takes. */
  name: string;
  concurrency: number;
  /** A job's lock lasts this long and is renewed every half of it; an agent silent this long has stalled. */
  lockMs: number;
  /** Jobs of a dead agent go back to the queue this many times before they fail. */
  maxStalledCount: number;
  /** One log event (a line on stderr). */
  log(event: string, fields?: Record<string, unknown>): void;
}

export type RunJobResult = { runId: string; status: string; step: number } | { runId: string; skipped: string };

/** Lets go of a run unsettled: its trainer stops at its next iteration (a checkpoint) and the run goes back to the queue. */
function release(trainer: RunTrainer): void {
  trainer.release();
  trainer.stop(30_000);
}

export class TrainerAgent {
  private worker: Worker<RunJobData, RunJobResult> | null = null;
  private flags: Redis | null = null;
  private readonly active = new Map<string, RunTrainer>();
  private closing = false;
  readonly taken: string[] = [];
  readonly released: string[] = [];

  constructor(
    private readonly recorder: RunRecorder,
    private readonly options: TrainerAgentOptions,
  ) {}

  private get runs(): Repository<Run> {
    return this.recorder.runs;
  }

  /** Waits for Redis (logging once while it is unreachable), then takes jobs. False when closed first. */
  async start(): Promise<boolean> {
    const { redisUrl, queueName } = this.options;
    const reachable = await waitForRedis(redisUrl, (line) => this.options.log('redis', { message: line }), () => this.closing);
    if (!reachable) return false;
    this.flags = await connectRedisClient(redisUrl);
    const worker = new Worker<RunJobData, RunJobResult>(queueName, (job, token) => this.process(job, token), {
      connection: queueConnection(redisUrl),
      prefix: QUEUE_PREFIX,
      concurrency: this.options.concurrency,
      lockDuration: this.options.lockMs,
      stalledInterval: this.options.lockMs,
      maxStalledCount: this.options.maxStalledCount,
      name: this.options.name,
    });
    let failing = false;
    worker.on('error', (err) => {
      if (!failing) this.options.log('redis', { message: `${redisUnreachable(redisUrl, err.message)}; reconnecting` });
      failing = true;
    });
    worker.on('ready', () => (failing = false));
    worker.on('stalled', (jobId) => this.options.log('stalled', { jobId, message: `job ${jobId}'s agent went silent; it goes back to the queue` }));
    // Failures the processor did not record itself: a stalled job past its limit, an error thrown
    // before the run was loaded, a lost database connection.
    worker.on('failed', (job, err) => {
      const runId = job?.data?.runId;
      const final = err.name === 'UnrecoverableError' || !job || job.attemptsMade >= (job.opts.attempts ?? 1);
      this.options.log('failed', { jobId: job?.id, runId, final, message: err.message });
      if (final && typeof runId === 'string') void this.failIfUnsettled(runId, err.message);
    });
    this.worker = worker;
    await worker.waitUntilReady();
    return true;
  }

  /** Stops taking jobs, hands running ones back to the queue (their trainers checkpoint first), and disconnects. */
  async close(): Promise<void> {
    this.closing = true;
    const worker = this.worker;
    // No new jobs from here on; the running ones finish (released) below.
    const closed = worker?.close();
    for (const [runId, trainer] of this.active) {
      release(trainer);
      this.options.log('releasing', { runId, message: `stopping run ${runId}'s trainer and handing the run back to the queue` });
    }
    await closed;
    await this.flags?.quit().catch(() => undefined);
  }

  private async process(job: Job<RunJobData, RunJobResult>, token?: string): Promise<RunJobResult> {
    const runId = job.data?.runId;
    if (typeof runId !== 'string' || !runId) throw new UnrecoverableError(`invalid job ${job.id}: its data has no runId`);
    const run = await this.runs.findOneBy({ id: runId });
    if (!run) throw new UnrecoverableError(`invalid job ${job.id}: no run with id ${JSON.stringify(runId)} in the database`);
    if (FINISHED_STATUSES.includes(run.status)) return { runId, skipped: `the run is already ${run.status}` };
    try {
      await validateRunRequest({ env: run.env, reward: run.reward, hyperparameters: run.hyperparameters, workers: run.workers, simWorkers: run.simWorkers });
    } catch (err) {
      const reason = `invalid run spec: ${(err as Error).message}`;
      await this.recorder.setStatus(run, 'failed', reason);
      throw new UnrecoverableError(reason);
    }
    const stopKey = stopFlagKey(this.options.queueName, runId);
    if (await this.flags?.get(stopKey).catch(() => null)) {
      await this.recorder.setStatus(run, 'stopped');
      await this.flags?.del(stopKey).catch(() => undefined);
      return { runId, status: 'stopped', step: run.step };
    }

    // A run that ran before (an agent died, or it was stopped and resumed) continues from its newest
    // checkpoint at or before its last stored metric batch, so the metrics stay gapless.
    const checkpoint = await this.recorder.checkpoints.latest(runId, run.runDir, await this.recorder.metrics.lastStep(runId));
    await this.recorder.metrics.truncateAfter(runId, checkpoint?.step ?? -1);
    run.step = checkpoint?.step ?? 0;
    run.agent = this.options.name;
    await this.runs.update({ id: runId }, { step: run.step, agent: run.agent });

    const trainer = await this.recorder.start(run, {
      ...(checkpoint ? { resume: checkpoint.dir } : {}),
      onMetrics: (m) => void job.updateProgress({ step: m.step, meanReturn: m.meanReturn }).catch(() => undefined),
    });
    this.active.set(runId, trainer);
    this.taken.push(runId);
    this.options.log('started', { runId, jobId: job.id, attempt: job.attemptsStarted, pid: trainer.process.pid, resumedFrom: checkpoint?.step ?? null, message: `took run ${runId} (${run.env}, ${run.steps} steps${checkpoint ? `, resuming from step ${checkpoint.step}` : ''})` });
    if (this.closing) release(trainer);
    const poll = setInterval(() => {
      void this.flags
        ?.get(stopKey)
        .then((flag) => flag && trainer.stop())
        .catch(() => undefined);
    }, 1000);
    let outcome;
    try {
      outcome = await trainer.finished;
    } finally {
      clearInterval(poll);
      this.active.delete(runId);
    }
    await this.flags?.del(stopKey).catch(() => undefined);

    if (outcome.status === 'released') {
      // Back to the queue: the next agent to take it resumes from the checkpoint the trainer just wrote.
      await this.recorder.setStatus(run, 'queued');
      this.released.push(runId);
      this.options.log('released', { runId, message: `run ${runId} is back in the queue` });
      await job.moveToWait(token);
      throw new WaitingError();
    }
    this.options.log('finished', { runId, status: outcome.status, error: outcome.error, message: `run ${runId} ${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}` });
    // The run is settled already; the job fails too (without a retry) so the queue shows it.
    if (outcome.status === 'failed') throw new UnrecoverableError(outcome.error ?? 'the run failed');
    const settled = await this.runs.findOneBy({ id: runId });
    return { runId, status: outcome.status, step: settled?.step ?? run.step };
  }

  private async failIfUnsettled(runId: string, reason: string): Promise<void> {
    try {
      const run = await this.runs.findOneBy({ id: runId });
      if (run && (run.status === 'running' || run.status === 'queued')) await this.recorder.setStatus(run, 'failed', reason);
    } catch (err) {
      this.options.log('error', { runId, message: `could not mark run ${runId} failed: ${(err as Error).message}` });
    }
  }
}
