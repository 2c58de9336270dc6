/**
 * One trainer process for one run, and everything it reports stored: metric batches (and the run's
 * step, mean return and sim-worker report), checkpoints, replays, episodes, and how the run ended.
 * The API's in-process runs and `rewardlab trainer-agent`'s queued runs both go through here.
 */
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import type { IterationMetrics } from '@rewardlab/agents';
import { FINISHED_STATUSES, Run, type RunStatus } from './run.entity';
import { TrainerProcess, lastErrorLine } from './trainer-process';
import type { ChildMessage, TrainTask } from './trainer-protocol';
import { MetricsService } from '../metrics/metrics.service';
import { CheckpointsService } from '../checkpoints/checkpoints.service';
import { ReplaysService } from '../replays/replays.service';
import { RunEvents } from '../stream/run-events';

/** How a trainer ended: the run's final status, or `released` when its owner let go of it unsettled. */
export type RunOutcome = { status: 'succeeded' | 'stopped' | 'failed'; error: string | null } | { status: 'released' };

export interface RunTrainerOptions {
  /** Continue from this checkpoint directory. */
  resume?: string;
  /** After each metric batch is committed. */
  onMetrics?: (metrics: IterationMetrics) => void;
  /** When the process has exited, before the run is settled. */
  onExit?: () => void;
}

export function trainTaskFor(run: Run, resume?: string): TrainTask {
  return {
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
    ...(run.simWorkers ? { simWorkers: run.simWorkers.split(',').map((u) => u.trim()).filter(Boolean) } : {}),
  };
}

/** A running trainer: `finished` settles once the run's outcome is stored. */
export class RunTrainer {
  readonly process: TrainerProcess;
  readonly finished: Promise<RunOutcome>;
  private stopRequested = false;
  private released = false;

  constructor(
    readonly run: Run,
    recorder: RunRecorder,
    options: RunTrainerOptions = {},
  ) {
    let settled = false;
    let outcome: RunOutcome | null = null;
    let finish: (outcome: RunOutcome) => void = () => undefined;
    this.finished = new Promise((resolve) => (finish = resolve));
    const settle = async (status: 'succeeded' | 'stopped' | 'failed', error: string | null = null) => {
      settled = true;
      if (this.released) return;
      outcome = { status, error };
      await recorder.setStatus(run, status, error);
    };
    this.process = new TrainerProcess(trainTaskFor(run, options.resume), {
      onMessage: async (m: ChildMessage) => {
        switch (m.type) {
          case 'metrics': {
            const x = m.metrics;
            await recorder.metrics.append(run.id, [{ ...x, rewardComponents: x.rewardComponents }]);
            await recorder.runs.update({ id: run.id }, { step: x.step, ...(x.meanReturn !== null && Number.isFinite(x.meanReturn) ? { meanReturn: x.meanReturn } : {}), ...(x.workers ? { workerStats: x.workers } : {}) });
            options.onMetrics?.(x);
            break;
          }
          case 'checkpoint':
            await recorder.checkpoints.record(run.id, m.dir, m.step, m.kind);
            break;
          case 'replay':
            await recorder.replays.record(run.id, { path: m.path, kind: m.kind, episode: m.episode, step: m.step, frames: m.frames, bytes: m.bytes, episodeReturn: m.episodeReturn });
            break;
          case 'episode':
            recorder.events.publish({ type: 'episode', runId: run.id, episode: m.episode, step: m.step, return: m.return, length: m.length });
            break;
          case 'done':
            await settle(m.result.stopped ? 'stopped' : 'succeeded');
            break;
          case 'error':
            await settle(this.stopRequested ? 'stopped' : 'failed', `${m.name}: ${m.message}`);
            break;
          case 'started':
            break;
        }
      },
      onExit: async (code, signal, stderr) => {
        options.onExit?.();
        if (!settled && !this.released) {
          if (this.stopRequested) await settle('stopped');
          else await settle('failed', `the trainer process exited (${signal ?? `code ${code}`}) without finishing${lastErrorLine(stderr) ? `: ${lastErrorLine(stderr)}` : ''}`);
        }
        finish(outcome ?? { status: 'released' });
      },
    });
  }

  /** Asks the trainer to stop at the next iteration (it checkpoints); kills it if it does not within `killAfterMs`. */
  stop(killAfterMs = 60_000): void {
    this.stopRequested = true;
    this.process.stop();
    const trainer = this.process;
    setTimeout(() => trainer.child.exitCode === null && trainer.kill(), killAfterMs).unref();
  }

  /** From now on nothing the trainer reports settles the run: its owner is going away and settles it otherwise. */
  release(): void {
    this.released = true;
  }

  kill(): void {
    this.process.kill();
  }
}

/** Stores a run's status changes and starts its trainers. */
@Injectable()
export class RunRecorder {
  constructor(
    @InjectRepository(Run) readonly runs: Repository<Run>,
    readonly metrics: MetricsService,
    readonly checkpoints: CheckpointsService,
    readonly replays: ReplaysService,
    readonly events: RunEvents,
  ) {}

  async setStatus(run: Run, status: RunStatus, error: string | null = null): Promise<void> {
    run.status = status;
    run.error = error;
    if (status === 'running') {
      run.startedAt = new Date().toISOString();
      run.finishedAt = null;
    }
    if (FINISHED_STATUSES.includes(status)) run.finishedAt = new Date().toISOString();
    await this.runs.update({ id: run.id }, { status, error, startedAt: run.startedAt, finishedAt: run.finishedAt });
    this.events.publish({ type: 'status', runId: run.id, status, error });
  }

  /** Marks the run running and forks its trainer. */
  async start(run: Run, options: RunTrainerOptions = {}): Promise<RunTrainer> {
    await this.setStatus(run, 'running');
    return new RunTrainer(run, this, options);
  }
}
