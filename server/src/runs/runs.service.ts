import { ConflictException, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown, Inject } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { In, type Repository } from 'typeorm';
import { Run, type RunStatus } from './run.entity';
import type { CreateAbDto, CreateRunDto, ListRunsQueryDto } from './runs.dto';
import { validateRunRequest } from './run-validation';
import { RunRecorder, type RunTrainer } from './run-trainer';
import { SERVER_CONFIG, type ServerConfig } from '../app/config';
import { badField, notFound } from '../app/errors';
import { Experiment } from '../experiments/experiment.entity';
import { MetricsService } from '../metrics/metrics.service';
import { CheckpointsService } from '../checkpoints/checkpoints.service';
import { RunEvents } from '../stream/run-events';
import { RunQueue } from '../queue/run-queue';

export type RunView = Omit<Run, 'runDir'>;

const rewardLabel = (reward: unknown): string => (typeof reward === 'string' ? reward : 'custom spec');

export function runView(run: Run): RunView {
  const { runDir: _dir, ...rest } = run;
  return rest;
}

/**
 * Runs and their trainer processes: creates runs (queued), starts trainers up to the concurrency
 * limit, stores what they report (RunRecorder), and settles each run as succeeded, failed or stopped.
 * Runs left running by a server that died are marked interrupted at start-up and can be resumed.
 * With `REDIS_URL` set the runs go to the run queue instead (RunQueue), and `rewardlab trainer-agent`s
 * own them from there: nothing is started, or marked interrupted, here.
 */
@Injectable()
export class RunsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly trainers = new Map<string, RunTrainer>();
  private readonly resumeFrom = new Map<string, string>();
  private shuttingDown = false;

  constructor(
    @InjectRepository(Run) private readonly runs: Repository<Run>,
    @Inject(SERVER_CONFIG) private readonly config: ServerConfig,
    private readonly metrics: MetricsService,
    private readonly checkpoints: CheckpointsService,
    private readonly events: RunEvents,
    private readonly recorder: RunRecorder,
    private readonly queue: RunQueue,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.queue.enabled) return;
    await this.runs.update({ status: In(['running', 'queued']) }, { status: 'interrupted', finishedAt: new Date().toISOString() });
  }

  async onApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const [id, trainer] of this.trainers) {
      trainer.release();
      trainer.kill();
      await this.runs.update({ id }, { status: 'interrupted', finishedAt: new Date().toISOString() }).catch(() => undefined);
    }
  }

  async create(dto: CreateRunDto): Promise<RunView> {
    const { reward, numEnvsDefault, simWorkers } = await validateRunRequest(dto);
    if (dto.experimentId && !(await this.runs.manager.getRepository(Experiment).existsBy({ id: dto.experimentId }))) {
      throw badField('experimentId', `no experiment with id ${JSON.stringify(dto.experimentId)}`);
    }
    const id = randomUUID();
    const run = this.runs.create({
      id,
      experimentId: dto.experimentId ?? null,
      env: dto.env,
      reward,
      algo: dto.algo ?? 'ppo',
      hyperparameters: dto.hyperparameters ?? {},
      steps: dto.steps,
      seed: dto.seed ?? 0,
      workers: dto.workers ?? numEnvsDefault,
      checkpointEvery: dto.checkpointEvery ?? 10,
      replayEvery: dto.replayEvery ?? 20,
      simWorkers: simWorkers ? simWorkers.join(',') : null,
      workerStats: null,
      agent: null,
      status: 'queued',
      error: null,
      step: 0,
      meanReturn: null,
      runDir: join(this.config.dataDir, 'runs', id),
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
    });
    await this.runs.save(run);
    this.events.publish({ type: 'status', runId: id, status: 'queued' });
    await this.dispatch(run);
    return runView(run);
  }

  /**
   * Two runs that differ only in their reward. Both specs are checked against the env before either run is
   * made, so a spec that does not fit leaves nothing behind; the runs share an experiment (a new one named
   * after the pair unless `experimentId` is given).
   */
  async createAb(dto: CreateAbDto): Promise<{ experimentId: string; runs: RunView[] }> {
    const { rewards, name, ...common } = dto;
    for (const [i, reward] of rewards.entries()) {
      try {
        await validateRunRequest({ ...common, reward });
      } catch (err) {
        const body = (err as { getResponse?: () => { field?: string; message?: string } }).getResponse?.();
        if (body?.field === 'reward') throw badField(`rewards.${i}`, body.message!.replace(/^reward: /, ''));
        throw err;
      }
    }
    const experimentId = common.experimentId ?? (await this.newExperiment(name ?? `A/B on ${common.env}: ${rewardLabel(rewards[0])} vs ${rewardLabel(rewards[1])}`));
    const runs = [];
    for (const reward of rewards) runs.push(await this.create({ ...common, reward, experimentId }));
    return { experimentId, runs };
  }

  /** A run like `id` in every setting but the reward, in `id`'s experiment (one made for the pair when it has none). */
  async createAbAgainst(id: string, reward: string | Record<string, unknown>): Promise<RunView> {
    const a = await this.get(id);
    let experimentId = a.experimentId;
    const dto: CreateRunDto = { env: a.env, steps: a.steps, seed: a.seed, workers: a.workers, algo: a.algo, hyperparameters: a.hyperparameters, checkpointEvery: a.checkpointEvery, replayEvery: a.replayEvery, ...(a.simWorkers ? { simWorkers: a.simWorkers } : {}), reward };
    await validateRunRequest(dto);
    if (!experimentId) {
      experimentId = await this.newExperiment(`A/B on ${a.env}: ${rewardLabel(a.reward)} vs ${rewardLabel(reward)}`);
      await this.runs.update({ id }, { experimentId });
    }
    return this.create({ ...dto, experimentId });
  }

  private async newExperiment(name: string): Promise<string> {
    const repo = this.runs.manager.getRepository(Experiment);
    const experiment = repo.create({ id: randomUUID(), name: name.slice(0, 200), description: 'two runs that differ only in their reward', createdAt: new Date().toISOString() });
    await repo.save(experiment);
    return experiment.id;
  }

  /** Hands a queued run to the run queue (queue mode) or to this process's trainers. */
  private async dispatch(run: Run): Promise<void> {
    if (!this.queue.enabled) return void this.pump();
    try {
      await this.queue.enqueue(run.id);
    } catch (err) {
      // Not left queued with no job behind it: the run records why it never started.
      await this.recorder.setStatus(run, 'failed', `not queued: ${(err as { message?: string }).message}`);
      throw err;
    }
  }

  async list(query: ListRunsQueryDto): Promise<{ runs: RunView[]; total: number }> {
    const where = { ...(query.status ? { status: query.status as RunStatus } : {}), ...(query.experimentId ? { experimentId: query.experimentId } : {}) };
    const [rows, total] = await this.runs.findAndCount({ where, order: { createdAt: 'DESC', id: 'DESC' }, take: query.limit ?? 50, skip: query.offset ?? 0 });
    return { runs: rows.map(runView), total };
  }

  async count(): Promise<number> {
    return this.runs.count();
  }

  async get(id: string): Promise<Run> {
    const run = await this.runs.findOneBy({ id });
    if (!run) throw notFound('run', id);
    return run;
  }

  async stop(id: string): Promise<RunView> {
    const run = await this.get(id);
    if (run.status === 'queued' && (!this.queue.enabled || (await this.queue.cancelWaiting(id)))) {
      await this.recorder.setStatus(run, 'stopped');
      return runView(run);
    }
    if (this.queue.enabled && ['queued', 'running'].includes(run.status)) {
      // An agent has the run (or is taking it): it polls the flag and stops the trainer.
      await this.queue.requestStop(id);
      return runView(run);
    }
    const trainer = this.trainers.get(id);
    if (run.status !== 'running' || !trainer) throw new ConflictException({ statusCode: 409, error: 'Conflict', message: `run ${id} is ${run.status}, not running` });
    trainer.stop();
    return runView(run);
  }

  /** Continues an interrupted, stopped or failed run from its last checkpoint. */
  async resume(id: string): Promise<RunView> {
    const run = await this.get(id);
    if (!['interrupted', 'stopped', 'failed'].includes(run.status)) throw new ConflictException({ statusCode: 409, error: 'Conflict', message: `run ${id} is ${run.status}; only interrupted, stopped or failed runs resume` });
    const checkpoint = await this.checkpoints.latest(id, run.runDir, await this.metrics.lastStep(id));
    if (!checkpoint) throw new ConflictException({ statusCode: 409, error: 'Conflict', message: `run ${id} has no checkpoint to resume from` });
    // The resumed trainer reports the steps after the checkpoint again (exactly, for envs with snapshots).
    await this.metrics.truncateAfter(id, checkpoint.step);
    this.resumeFrom.set(id, checkpoint.dir);
    run.status = 'queued';
    run.error = null;
    run.finishedAt = null;
    run.step = checkpoint.step;
    await this.runs.save(run);
    this.events.publish({ type: 'status', runId: id, status: 'queued' });
    // A queued run's agent finds the same checkpoint itself (the newest at or before the last metric batch).
    await this.dispatch(run);
    return { ...runView(run), resumedFromCheckpoint: checkpoint.id } as RunView;
  }

  activeTrainers(): { runId: string; pid: number | undefined; startedAt: string; env: string }[] {
    return [...this.trainers].map(([runId, t]) => ({ runId, pid: t.process.pid, startedAt: t.process.startedAt, env: t.run.env }));
  }

  private pumping = false;
  /** Starts queued runs (oldest first) while there is room. */
  private async pump(): Promise<void> {
    if (this.pumping || this.shuttingDown) return;
    this.pumping = true;
    try {
      while (this.trainers.size < this.config.maxConcurrentRuns) {
        const next = await this.runs.findOne({ where: { status: 'queued' }, order: { createdAt: 'ASC' } });
        if (!next) break;
        await this.start(next);
      }
    } finally {
      this.pumping = false;
    }
  }

  private async start(run: Run): Promise<void> {
    const resume = this.resumeFrom.get(run.id);
    this.resumeFrom.delete(run.id);
    const trainer = await this.recorder.start(run, {
      ...(resume ? { resume } : {}),
      onExit: () => this.trainers.delete(run.id),
    });
    this.trainers.set(run.id, trainer);
    void trainer.finished.then(() => this.pump());
  }
}
