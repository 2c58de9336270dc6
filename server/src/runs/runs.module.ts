import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Run } from './run.entity';
import { RunsController } from './runs.controller';
import { RunsService } from './runs.service';
import { RunRecorder } from './run-trainer';
import { MetricsModule } from '../metrics/metrics.module';
import { CheckpointsModule } from '../checkpoints/checkpoints.module';
import { ReplaysModule } from '../replays/replays.module';
import { RunQueue } from '../queue/run-queue';

@Module({
  imports: [TypeOrmModule.forFeature([Run]), MetricsModule, CheckpointsModule, ReplaysModule],
  controllers: [RunsController],
  providers: [RunsService, RunRecorder, RunQueue],
  exports: [RunsService],
})
export class RunsModule {}
