import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Runs on sim workers and on the run queue: the workers' URLs, their pool report, and the agent that took the run. */
export class RunQueue1764300000000 implements MigrationInterface {
  name = 'RunQueue1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('runs', [
      new TableColumn({ name: 'simWorkers', type: 'text', isNullable: true }),
      new TableColumn({ name: 'workerStats', type: 'text', isNullable: true }),
      new TableColumn({ name: 'agent', type: 'varchar', length: '200', isNullable: true }),
    ]);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const column of ['agent', 'workerStats', 'simWorkers']) await q.dropColumn('runs', column);
  }
}
