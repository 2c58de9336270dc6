import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A recorded episode in the `@rewardlab/sim` replay format; the file lives at `path` (never exposed). */
@Entity('replays')
@Index('idx_replays_run', ['runId'])
export class ReplayFile {
  @PrimaryColumn('varchar', { length: 36 })
  id!: string;

  @Column('varchar', { length: 36 })
  runId!: string;

  /** `train` (every Nth training episode) or `eval`. */
  @Column('varchar', { length: 16 })
  kind!: string;

  @Column('integer')
  episode!: number;

  @Column('integer')
  step!: number;

  @Column('integer')
  frames!: number;

  @Column('double precision', { nullable: true })
  episodeReturn!: number | null;

  @Column('integer')
  bytes!: number;

  @Column('text')
  path!: string;

  @Column('varchar', { length: 32 })
  createdAt!: string;
}
