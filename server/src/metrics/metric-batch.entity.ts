import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One training iteration's diagnostics, as the trainer reported it. */
@Entity('metric_batches')
@Index('idx_metrics_run_step', ['runId', 'step'])
export class MetricBatch {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column('varchar', { length: 36 })
  runId!: string;

  @Column('integer')
  step!: number;

  @Column('double precision', { nullable: true })
  meanReturn!: number | null;

  @Column('double precision', { nullable: true })
  meanLength!: number | null;

  @Column('integer', { default: 0 })
  episodes!: number;

  /** Mean per-step value of each reward component over the rollout. */
  @Column('simple-json')
  rewardComponents!: Record<string, number>;

  /** The env's task metrics (what the episodes achieved), averaged over the episodes that ended in the iteration. */
  @Column('simple-json', { nullable: true })
  taskMetrics!: Record<string, number> | null;

  /** Each reward component's sum over an episode, averaged over the same episodes. */
  @Column('simple-json', { nullable: true })
  episodeComponents!: Record<string, number> | null;

  /** The reward spec's own return (before return transforms), averaged over the same episodes. */
  @Column('double precision', { nullable: true })
  specReturn!: number | null;

  /** The episodes that ended in the iteration. */
  @Column('integer', { nullable: true })
  iterationEpisodes!: number | null;

  @Column('double precision', { nullable: true })
  policyLoss!: number | null;

  @Column('double precision', { nullable: true })
  valueLoss!: number | null;

  @Column('double precision', { nullable: true })
  entropy!: number | null;

  @Column('double precision', { nullable: true })
  approxKl!: number | null;

  @Column('double precision', { nullable: true })
  clipFraction!: number | null;

  @Column('double precision', { nullable: true })
  explainedVariance!: number | null;

  @Column('double precision', { nullable: true })
  stepsPerSecond!: number | null;

  @Column('varchar', { length: 32 })
  createdAt!: string;
}
