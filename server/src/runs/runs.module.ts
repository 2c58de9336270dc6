import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Run } from './run.entity';
import { RunsController } from './runs.controller';
import { RunsService } from './runs.service';
import { MetricsModule } from '../metrics/metrics.module';
import { CheckpointsModule } from '../checkpoints/checkpoints.module';
import { ReplaysModule } from '../replays/replays.module';

@Module({
  imports: [TypeOrmModule.forFeature([Run]), MetricsModule, CheckpointsModule, ReplaysModule],
  controllers: [RunsController],
  providers: [RunsService],
  exports: [RunsService],
})
export class RunsModule {}
