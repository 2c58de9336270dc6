import { Table, TableIndex, type MigrationInterface, type QueryRunner, type TableColumnOptions } from 'typeorm';

const id = (name = 'id'): TableColumnOptions => ({ name, type: 'varchar', length: '36', isPrimary: true });
const str = (name: string, length: number, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: String(length), isNullable: nullable });
const text = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable });
const int = (name: string, dflt?: number): TableColumnOptions => ({ name, type: 'integer', ...(dflt === undefined ? {} : { default: dflt }) });
const dbl = (name: string): TableColumnOptions => ({ name, type: 'double precision', isNullable: true });

/** Experiments, runs, metric batches, checkpoints and replays (portable across SQLite and PostgreSQL). */
export class InitialSchema1764100000000 implements MigrationInterface {
  name = 'InitialSchema1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({ name: 'experiments', columns: [id(), str('name', 200), { name: 'description', type: 'text', default: "''" }, str('createdAt', 32)] }));
    await q.createTable(
      new Table({
        name: 'runs',
        columns: [
          id(),
          str('experimentId', 36, true),
          str('env', 120),
          text('reward'),
          str('algo', 32),
          text('hyperparameters'),
          int('steps'),
          int('seed'),
          int('workers'),
          int('checkpointEvery'),
          int('replayEvery'),
          str('status', 16),
          text('error', true),
          int('step', 0),
          dbl('meanReturn'),
          text('runDir'),
          str('createdAt', 32),
          str('startedAt', 32, true),
          str('finishedAt', 32, true),
        ],
        indices: [new TableIndex({ name: 'idx_runs_created', columnNames: ['createdAt'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'metric_batches',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          str('runId', 36),
          int('step'),
          dbl('meanReturn'),
          dbl('meanLength'),
          int('episodes', 0),
          text('rewardComponents'),
          dbl('policyLoss'),
          dbl('valueLoss'),
          dbl('entropy'),
          dbl('approxKl'),
          dbl('clipFraction'),
          dbl('explainedVariance'),
          dbl('stepsPerSecond'),
          str('createdAt', 32),
        ],
        indices: [new TableIndex({ name: 'idx_metrics_run_step', columnNames: ['runId', 'step'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'checkpoints',
        columns: [id(), str('runId', 36), int('step'), text('dir'), str('kind', 16), str('createdAt', 32)],
        indices: [new TableIndex({ name: 'idx_checkpoints_run', columnNames: ['runId'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'replays',
        columns: [id(), str('runId', 36), str('kind', 16), int('episode'), int('step'), int('frames'), dbl('episodeReturn'), int('bytes'), text('path'), str('createdAt', 32)],
        indices: [new TableIndex({ name: 'idx_replays_run', columnNames: ['runId'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['replays', 'checkpoints', 'metric_batches', 'runs', 'experiments']) await q.dropTable(table);
  }
}
