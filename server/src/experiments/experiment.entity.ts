import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A named group of runs (one question, several reward designs or seeds). */
@Entity('experiments')
export class Experiment {
  @PrimaryColumn('varchar', { length: 36 })
  id!: string;

  @Column('varchar', { length: 200 })
  name!: string;

  @Column('text', { default: '' })
  description!: string;

  @Column('varchar', { length: 32 })
  createdAt!: string;
}
