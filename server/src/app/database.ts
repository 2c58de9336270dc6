/**
 * The TypeORM data source: SQLite (better-sqlite3, WAL) or PostgreSQL (optionally in its own schema).
 * The schema comes from migrations, run on start-up; `synchronize` is never used.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from './config';
import { Experiment } from '../experiments/experiment.entity';
import { Run } from '../runs/run.entity';
import { MetricBatch } from '../metrics/metric-batch.entity';
import { Checkpoint } from '../checkpoints/checkpoint.entity';
import { ReplayFile } from '../replays/replay-file.entity';
import { InitialSchema1764100000000 } from './migrations/1764100000000-initial-schema';
import { RunQueue1764300000000 } from './migrations/1764300000000-run-queue';
import { TaskMetrics1764900000000 } from './migrations/1764900000000-task-metrics';

export const ENTITIES = [Experiment, Run, MetricBatch, Checkpoint, ReplayFile];
export const MIGRATIONS = [InitialSchema1764100000000, RunQueue1764300000000, TaskMetrics1764900000000];

export function dataSourceOptions(db: DatabaseConfig): DataSourceOptions {
  const common = { entities: ENTITIES, migrations: MIGRATIONS, migrationsRun: false, synchronize: false, logging: false } as const;
  if (db.type === 'sqlite') {
    mkdirSync(dirname(db.path), { recursive: true });
    return {
      ...common,
      type: 'better-sqlite3',
      database: db.path,
      enableWAL: true,
      // WAL + NORMAL: a committed transaction survives the process being killed (not a power cut).
      prepareDatabase: (sqlite: { pragma(s: string): unknown }) => {
        sqlite.pragma('synchronous = NORMAL');
        sqlite.pragma('busy_timeout = 5000');
      },
    };
  }
  return { ...common, type: 'postgres', url: db.url, ...(db.schema ? { schema: db.schema } : {}), extra: { max: 10 } };
}

/** Connects and brings the schema up to date. */
export async function openDatabase(db: DatabaseConfig): Promise<DataSource> {
  const ds = new DataSource(dataSourceOptions(db));
  await ds.initialize();
  if (db.type === 'postgres' && db.schema) await ds.query(`CREATE SCHEMA IF NOT EXISTS "${db.schema}"`);
  await ds.runMigrations({ transaction: 'each' });
  return ds;
}
