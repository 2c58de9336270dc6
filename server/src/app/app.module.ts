import { type DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { SERVER_CONFIG, type ServerConfig } from './config';
import { StatusPageController } from './status-page.controller';
import { ExperimentsModule } from '../experiments/experiments.module';
import { RunsModule } from '../runs/runs.module';
import { MetricsModule } from '../metrics/metrics.module';
import { CheckpointsModule } from '../checkpoints/checkpoints.module';
import { ReplaysModule } from '../replays/replays.module';
import { HealthModule } from '../health/health.module';
import { WorkersModule } from '../workers/workers.module';
import { EnvsModule } from '../envs/envs.module';
import { StreamModule } from '../stream/stream.module';
import { DiagnosticsModule } from '../diagnostics/diagnostics.module';

@Module({})
export class AppModule {
  /** The app over an initialised, migrated data source. */
  static forRoot(config: ServerConfig, dataSource: DataSource): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        TypeOrmModule.forRootAsync({ useFactory: () => dataSource.options, dataSourceFactory: async () => dataSource }),
        StreamModule,
        ExperimentsModule,
        RunsModule,
        MetricsModule,
        CheckpointsModule,
        ReplaysModule,
        HealthModule,
        WorkersModule,
        EnvsModule,
        DiagnosticsModule,
      ],
      controllers: [StatusPageController],
      providers: [{ provide: SERVER_CONFIG, useValue: config }],
      exports: [SERVER_CONFIG],
    };
  }
}
