import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A saved policy + trainer state; the files live in `dir` on the server (never exposed). */
@Entity('checkpoints')
@Index('idx_checkpoints_run', ['runId'])
export class Checkpoint {
  @PrimaryColumn('varchar', { length: 36 })
  id!: string;

  @Column('varchar', { length: 36 })
  runId!: string;

  @Column('integer')
  step!: number;

  @Column('text')
  dir!: string;

  /** `final` for the end-of-run policy, else `checkpoint`. */
  @Column('varchar', { length: 16 })
  kind!: string;

  @Column('varchar', { length: 32 })
  createdAt!: string;
}
