import { ConflictException, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown, Inject } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { In, type Repository } from 'typeorm';
import { FINISHED_STATUSES, Run, type RunStatus } from './run.entity';
import type { CreateRunDto, ListRunsQueryDto } from './runs.dto';
import { validateRunRequest } from './run-validation';
import { TrainerProcess, lastErrorLine } from './trainer-process';
import type { ChildMessage, TrainTask } from './trainer-protocol';
import { SERVER_CONFIG, type ServerConfig } from '../app/config';
import { badField, notFound } from '../app/errors';
import { Experiment } from '../experiments/experiment.entity';
import { MetricsService } from '../metrics/metrics.service';
import { CheckpointsService } from '../checkpoints/checkpoints.service';
import { ReplaysService } from '../replays/replays.service';
import { RunEvents } from '../stream/run-events';

export type RunView = Omit<Run, 'runDir'>;

export function runView(run: Run): RunView {
  const { runDir: _dir, ...rest } = run;
  return rest;
}

/**
 * Runs and their trainer processes: creates runs (queued), starts trainers up to the concurrency
 * limit, stores what they report, and settles each run as succeeded, failed or stopped. Runs left
 * running by a server that died are marked interrupted at start-up and can be resumed.
 */
@Injectable()
export class RunsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly trainers = new Map<string, TrainerProcess>();
  private readonly resumeFrom = new Map<string, string>();
  private readonly stopRequested = new Set<string>();
  private shuttingDown = false;

  constructor(
    @InjectRepository(Run) private readonly runs: Repository<Run>,
    @Inject(SERVER_CONFIG) private readonly config: ServerConfig,
    private readonly metrics: MetricsService,
    private readonly checkpoints: CheckpointsService,
    private readonly replays: ReplaysService,
    private readonly events: RunEvents,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.runs.update({ status: In(['running', 'queued']) }, { status: 'interrupted', finishedAt: new Date().toISOString() });
  }

  async onApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const [id, trainer] of this.trainers) {
      trainer.kill();
      await this.runs.update({ id }, { status: 'interrupted', finishedAt: new Date().toISOString() }).catch(() => undefined);
    }
  }

  async create(dto: CreateRunDto): Promise<RunView> {
    const { reward, numEnvsDefault } = await validateRunRequest(dto);
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
    void this.pump();
    return runView(run);
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
    if (run.status === 'queued') {
      await this.setStatus(run, 'stopped');
      return runView(run);
    }
    const trainer = this.trainers.get(id);
    if (run.status !== 'running' || !trainer) throw new ConflictException({ statusCode: 409, error: 'Conflict', message: `run ${id} is ${run.status}, not running` });
    this.stopRequested.add(id);
    trainer.stop();
    // A trainer that does not wind down (stuck in a long iteration) is killed.
    setTimeout(() => this.trainers.get(id) === trainer && trainer.kill(), 60_000).unref();
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
    void this.pump();
    return { ...runView(run), resumedFromCheckpoint: checkpoint.id } as RunView;
  }

  activeTrainers(): { runId: string; pid: number | undefined; startedAt: string; env: string }[] {
    return [...this.trainers].map(([runId, t]) => ({ runId, pid: t.pid, startedAt: t.startedAt, env: (t.task as TrainTask).env }));
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

  private async setStatus(run: Run, status: RunStatus, error: string | null = null): Promise<void> {
    run.status = status;
    run.error = error;
    if (status === 'running') run.startedAt = new Date().toISOString();
    if (FINISHED_STATUSES.includes(status)) run.finishedAt = new Date().toISOString();
    await this.runs.update({ id: run.id }, { status, error, startedAt: run.startedAt, finishedAt: run.finishedAt });
    this.events.publish({ type: 'status', runId: run.id, status, error });
  }

  private async start(run: Run): Promise<void> {
    const resume = this.resumeFrom.get(run.id);
    this.resumeFrom.delete(run.id);
    const task: TrainTask = {
      type: 'train',
      runId: run.id,
      env: run.env,
      reward: run.reward,
      algo: run.algo,
      hyperparameters: run.hyperparameters,
      steps: run.steps,
      seed: run.seed,
      numEnvs: run.workers,
      checkpointEvery: run.checkpointEvery,
      replayEvery: run.replayEvery,
      out: run.runDir,
      ...(resume ? { resume } : {}),
    };
    await this.setStatus(run, 'running');
    let settled = false;
    const trainer = new TrainerProcess(task, {
      onMessage: async (m: ChildMessage) => {
        switch (m.type) {
          case 'metrics': {
            const x = m.metrics;
            await this.metrics.append(run.id, [{ ...x, rewardComponents: x.rewardComponents }]);
            await this.runs.update({ id: run.id }, { step: x.step, ...(x.meanReturn !== null && Number.isFinite(x.meanReturn) ? { meanReturn: x.meanReturn } : {}) });
            break;
          }
          case 'checkpoint':
            await this.checkpoints.record(run.id, m.dir, m.step, m.kind);
            break;
          case 'replay':
            await this.replays.record(run.id, { path: m.path, kind: m.kind, episode: m.episode, step: m.step, frames: m.frames, bytes: m.bytes, episodeReturn: m.episodeReturn });
            break;
          case 'episode':
            this.events.publish({ type: 'episode', runId: run.id, episode: m.episode, step: m.step, return: m.return, length: m.length });
            break;
          case 'done':
            settled = true;
            await this.setStatus(run, m.result.stopped ? 'stopped' : 'succeeded');
            break;
          case 'error':
            settled = true;
            await this.setStatus(run, this.stopRequested.has(run.id) ? 'stopped' : 'failed', `${m.name}: ${m.message}`);
            break;
          case 'started':
            break;
        }
      },
      onExit: async (code, signal, stderr) => {
        this.trainers.delete(run.id);
        const stopRequested = this.stopRequested.delete(run.id);
        if (!settled && !this.shuttingDown) {
          if (stopRequested) await this.setStatus(run, 'stopped');
          else await this.setStatus(run, 'failed', `the trainer process exited (${signal ?? `code ${code}`}) without finishing${lastErrorLine(stderr) ? `: ${lastErrorLine(stderr)}` : ''}`);
        }
        void this.pump();
      },
    });
    this.trainers.set(run.id, trainer);
  }
}
