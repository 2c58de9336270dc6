import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { WorkerStats } from '@rewardlab/agents';

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'stopped', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FINISHED_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'stopped', 'interrupted'];

/** One training run: what was asked for, where it stands, and where its files live. */
@Entity('runs')
@Index('idx_runs_created', ['createdAt'])
export class Run {
  @PrimaryColumn('varchar', { length: 36 })
  id!: string;

  @Column('varchar', { length: 36, nullable: true })
  experimentId!: string | null;

  @Column('varchar', { length: 120 })
  env!: string;

  /** The reward as given: a preset name or a spec object. */
  @Column('simple-json')
  reward!: unknown;

  @Column('varchar', { length: 32 })
  algo!: string;

  @Column('simple-json')
  hyperparameters!: Record<string, unknown>;

  @Column('integer')
  steps!: number;

  @Column('integer')
  seed!: number;

  /** Env instances the trainer steps in parallel. */
  @Column('integer')
  workers!: number;

  @Column('integer')
  checkpointEvery!: number;

  /** Record every Nth training episode of env 0 (0: none). */
  @Column('integer')
  replayEvery!: number;

  @Column('varchar', { length: 16 })
  status!: RunStatus;

  @Column('text', { nullable: true })
  error!: string | null;

  /** Latest reported global step. */
  @Column('integer', { default: 0 })
  step!: number;

  @Column('double precision', { nullable: true })
  meanReturn!: number | null;

  /** Sim worker URLs (comma-separated `ws://host:port` / `dns://host:port`) the trainer steps instead of local envs. */
  @Column('text', { nullable: true })
  simWorkers!: string | null;

  /** The sim-worker pool's latest report (`{ parts, live, losses, rejoins, joined, left }`), for runs on sim workers. */
  @Column('simple-json', { nullable: true })
  workerStats!: WorkerStats | null;

  /** The `rewardlab trainer-agent` that took the run last (queue mode). */
  @Column('varchar', { length: 200, nullable: true })
  agent!: string | null;

  /** Run directory on the server (never exposed). */
  @Column('text')
  runDir!: string;

  @Column('varchar', { length: 32 })
  createdAt!: string;

  @Column('varchar', { length: 32, nullable: true })
  startedAt!: string | null;

  @Column('varchar', { length: 32, nullable: true })
  finishedAt!: string | null;
}
