import { Injectable, ConflictException, UnprocessableEntityException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Repository } from 'typeorm';
import { Checkpoint } from './checkpoint.entity';
import { tarDirectory } from './tar';
import { notFound } from '../app/errors';
import { RunEvents } from '../stream/run-events';
import { runTrainerTask } from '../runs/trainer-process';

export type CheckpointView = Omit<Checkpoint, 'dir'>;

export function checkpointView(c: Checkpoint): CheckpointView {
  const { dir: _dir, ...rest } = c;
  return rest;
}

@Injectable()
export class CheckpointsService {
  constructor(
    @InjectRepository(Checkpoint) private readonly checkpoints: Repository<Checkpoint>,
    private readonly events: RunEvents,
  ) {}

  /** Records a checkpoint the trainer wrote, and forgets those whose files the trainer pruned. */
  async record(runId: string, dir: string, step: number, kind: 'checkpoint' | 'final' = 'checkpoint'): Promise<Checkpoint> {
    const checkpoint = await this.checkpoints.save(this.checkpoints.create({ id: randomUUID(), runId, dir, step, kind, createdAt: new Date().toISOString() }));
    const all = await this.checkpoints.findBy({ runId });
    const gone = all.filter((c) => !existsSync(c.dir)).map((c) => c.id);
    if (gone.length) await this.checkpoints.delete(gone);
    this.events.publish({ type: 'checkpoint', runId, checkpoint: checkpointView(checkpoint) });
    return checkpoint;
  }

  async list(runId: string): Promise<CheckpointView[]> {
    return (await this.checkpoints.find({ where: { runId }, order: { step: 'ASC', createdAt: 'ASC' } })).map(checkpointView);
  }

  /**
   * The checkpoint a run resumes from: the newest resumable one (not the final policy, which has no
   * trainer state) at or before `upToStep` (the last stored metric batch, so the metrics stay
   * gapless), else the newest there is. A trainer that outran the server before dying may have written
   * checkpoints the server never recorded, and pruned recorded ones: those on disk in
   * `runDir/checkpoints/step-N` count too, and are recorded when used.
   */
  async latest(runId: string, runDir: string, upToStep = Infinity): Promise<Checkpoint | null> {
    const recorded = (await this.checkpoints.find({ where: { runId, kind: 'checkpoint' }, order: { step: 'DESC' } })).filter((c) => existsSync(c.dir));
    const dir = join(runDir, 'checkpoints');
    const onDisk = (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : [])
      .filter((e) => e.isDirectory() && /^step-\d+$/.test(e.name) && existsSync(join(dir, e.name, 'trainer.json')))
      .map((e) => Number(e.name.slice(5)));
    const steps = [...new Set([...recorded.map((c) => c.step), ...onDisk])].sort((a, b) => b - a);
    const step = steps.find((s) => s <= upToStep) ?? steps[0];
    if (step === undefined) return null;
    return recorded.find((c) => c.step === step) ?? this.record(runId, join(dir, `step-${step}`), step);
  }

  async get(id: string): Promise<Checkpoint> {
    const checkpoint = await this.checkpoints.findOneBy({ id });
    if (!checkpoint) throw notFound('checkpoint', id);
    return checkpoint;
  }

  async archive(id: string): Promise<{ name: string; data: Buffer }> {
    const checkpoint = await this.get(id);
    if (!existsSync(checkpoint.dir)) throw new ConflictException({ statusCode: 409, error: 'Conflict', message: `checkpoint ${id}'s files were pruned by its trainer` });
    const name = `checkpoint-${checkpoint.step}`;
    return { name: `${name}.tar`, data: tarDirectory(checkpoint.dir, name) };
  }

  /** Evaluates the checkpoint's policy in a child process (greedy actions by default). */
  async evaluate(id: string, options: { episodes?: number; seed?: number; deterministic?: boolean }): Promise<Record<string, unknown>> {
    const checkpoint = await this.get(id);
    if (!existsSync(checkpoint.dir)) throw new ConflictException({ statusCode: 409, error: 'Conflict', message: `checkpoint ${id}'s files were pruned by its trainer` });
    try {
      const result = await runTrainerTask({ type: 'evaluate', policy: checkpoint.dir, episodes: options.episodes ?? 5, seed: options.seed ?? 0, deterministic: options.deterministic ?? true });
      return { checkpointId: id, step: checkpoint.step, ...result };
    } catch (err) {
      throw new UnprocessableEntityException({ statusCode: 422, error: 'Unprocessable Entity', message: (err as Error).message });
    }
  }
}
