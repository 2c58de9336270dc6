import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Per iteration: the env's task metrics, each reward component's per-episode sum, and the spec's own return. */
export class TaskMetrics1764900000000 implements MigrationInterface {
  name = 'TaskMetrics1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('metric_batches', [
      new TableColumn({ name: 'taskMetrics', type: 'text', isNullable: true }),
      new TableColumn({ name: 'episodeComponents', type: 'text', isNullable: true }),
      new TableColumn({ name: 'specReturn', type: 'double precision', isNullable: true }),
      new TableColumn({ name: 'iterationEpisodes', type: 'integer', isNullable: true }),
    ]);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const column of ['iterationEpisodes', 'specReturn', 'episodeComponents', 'taskMetrics']) await q.dropColumn('metric_batches', column);
  }
}
